// The interview room's code editor: CodeMirror 6 with a language per the session's languages.
// Bundled by build.mjs into web/static/editor.js (one ES module); the room imports it only when
// the interview has a coding problem. No DOM outside the element it is given, no network.
import { EditorView, basicSetup } from "codemirror";
import { Compartment, EditorState } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit, StreamLanguage } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { cpp } from "@codemirror/lang-cpp";
import { java } from "@codemirror/lang-java";
import { go } from "@codemirror/legacy-modes/mode/go";

// Language ids as the server lists them (GET /v1/code/languages), and a few aliases.
const LANGUAGES = {
  python: () => python(),
  python3: () => python(),
  javascript: () => javascript(),
  js: () => javascript(),
  node: () => javascript(),
  typescript: () => javascript({ typescript: true }),
  c: () => cpp(),
  cpp: () => cpp(),
  "c++": () => cpp(),
  java: () => java(),
  go: () => StreamLanguage.define(go),
};

// Four spaces for everything but Go (tabs, as gofmt writes it).
const INDENT = { go: "\t" };

function languageSupport(id) {
  const make = LANGUAGES[String(id || "").toLowerCase()];
  return make ? make() : [];
}

function indentFor(id) {
  const unit = INDENT[String(id || "").toLowerCase()] || "    ";
  return [indentUnit.of(unit), EditorState.tabSize.of(4)];
}

function contentAttributes(label) {
  return EditorView.contentAttributes.of({
    "aria-label": label,
    "aria-multiline": "true",
    autocapitalize: "off",
    autocorrect: "off",
    spellcheck: "false",
  });
}

function editable(on) {
  return [EditorView.editable.of(on), EditorState.readOnly.of(!on)];
}

export function supportsLanguage(id) {
  return Object.hasOwn(LANGUAGES, String(id || "").toLowerCase());
}

// The room's CSP allows no inline <style>: CodeMirror's styles (style-mod) go into a
// constructed stylesheet instead, which it uses only inside a shadow root. So the editor lives
// in a shadow root of `parent`, and the room's own CSS stops at its edge: the look is set here.
const look = EditorView.theme({
  "&": {
    height: "100%",
    fontSize: "15px",
    border: "1px solid #595959",
    borderRadius: "0.5rem",
    backgroundColor: "#ffffff",
    color: "#1a1a1a",
  },
  "&.cm-focused": { outline: "3px solid #0b57d0", outlineOffset: "2px" },
  ".cm-scroller": {
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    lineHeight: "1.45",
  },
  ".cm-gutters": { borderTopLeftRadius: "0.5rem", borderBottomLeftRadius: "0.5rem" },
});

// A code editor in `parent`. Options: doc (the starting text), language (an id above; another
// id edits as plain text), label (its accessible name), onChange(code) after each edit.
export function createEditor(parent, { doc = "", language = "", label = "Code editor", onChange } = {}) {
  const languageSlot = new Compartment();
  const indentSlot = new Compartment();
  const editableSlot = new Compartment();
  const labelSlot = new Compartment();
  const shadow = parent.shadowRoot || parent.attachShadow({ mode: "open" });
  const host = document.createElement("div");
  host.className = "viva-editor";
  host.style.height = "100%";
  shadow.replaceChildren(host);
  const view = new EditorView({
    parent: host,
    root: shadow,
    state: EditorState.create({
      doc,
      extensions: [
        basicSetup,
        look,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's keyboard trap escape).
        keymap.of([indentWithTab]),
        languageSlot.of(languageSupport(language)),
        indentSlot.of(indentFor(language)),
        editableSlot.of(editable(true)),
        labelSlot.of(contentAttributes(label)),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && onChange) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    setLanguage(id) {
      view.dispatch({
        effects: [languageSlot.reconfigure(languageSupport(id)), indentSlot.reconfigure(indentFor(id))],
      });
    },
    // The editor's accessible name (it says the language).
    setLabel(text) {
      view.dispatch({ effects: labelSlot.reconfigure(contentAttributes(text)) });
    },
    // Read-only while a submission is being judged, and after the interview.
    setReadOnly(readOnly) {
      view.dispatch({ effects: editableSlot.reconfigure(editable(!readOnly)) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
