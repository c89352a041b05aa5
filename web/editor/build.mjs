// Builds the room's code editor: src/editor.js and the exact packages package-lock.json pins,
// bundled by the pinned esbuild into one minified ES module, web/static/editor.js, and the
// licences of every package in it, web/static/editor.LICENSES.txt.
//
//   node build.mjs            writes both into ../static
//   node build.mjs OUTDIR     writes them into OUTDIR (the test that the committed bundle is
//                             what this build makes)
//
// Reproducible: the same lock gives the same bytes on any machine and in any directory (no
// source map, no absolute path, no timestamp; packages listed in sorted order).
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] || join(here, "..", "static"));
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: ["src/editor.js"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "none", // the licences go in editor.LICENSES.txt, whole
  charset: "utf8",
  metafile: true,
  write: false,
  logLevel: "warning",
});
const [bundle] = result.outputFiles;

// The packages whose files went into the bundle, by their package.json.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!match) continue;
  const root = join(here, "node_modules", match[1]);
  if (packages.has(match[1])) continue;
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const licenceFile = readdirSync(root).find((name) => /^licen[cs]e/i.test(name));
  const text = licenceFile ? readFileSync(join(root, licenceFile), "utf8").trim() : `License: ${meta.license}`;
  packages.set(match[1], { version: meta.version, license: meta.license, text });
}
const names = [...packages.keys()].sort();
const licences = [
  "Third-party software in editor.js (built by web/editor/build.mjs from web/editor/package-lock.json)",
  "",
  ...names.flatMap((name) => {
    const { version, license, text } = packages.get(name);
    return [`== ${name} ${version} (${license}) ==`, "", text, ""];
  }),
].join("\n");

const header = `/* The interview room's code editor: CodeMirror 6 and its languages (${names.length} packages, ` +
  `licences in editor.LICENSES.txt). Built by web/editor/build.mjs; do not edit. */\n`;
writeFileSync(join(outdir, "editor.js"), header + bundle.text);
writeFileSync(join(outdir, "editor.LICENSES.txt"), licences);
console.log(`editor.js: ${(bundle.contents.length / 1024).toFixed(0)} KiB, ${names.length} packages -> ${outdir}`);
