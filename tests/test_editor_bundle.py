"""The room's code editor bundle (web/static/editor.js) is what its pinned build makes.

The bundle is committed, so a clone without npm still has a working room; `make setup` runs
`npm ci` (web/editor/package-lock.json, exact versions and integrity hashes) and the build.
This test builds again into a temporary directory and compares the bytes with the bundle git
holds (the index: what is committed, or about to be): a change to the entry file or the lock
without a rebuild fails here, and so would a build that is not reproducible.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

EDITOR = ROOT / "web" / "editor"
OUTPUTS = ("editor.js", "editor.LICENSES.txt")


def _committed(name: str) -> bytes:
    return subprocess.run(
        ["git", "show", f":web/static/{name}"], cwd=ROOT, check=True, capture_output=True
    ).stdout


def test_committed_bundle_is_what_the_pinned_build_makes(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (EDITOR / "node_modules" / "esbuild").is_dir():
        pytest.fail("the editor's build tools are missing: `make setup` runs npm ci in web/editor")
    built = subprocess.run(
        ["node", "build.mjs", str(tmp_path)], cwd=EDITOR, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    for name in OUTPUTS:
        fresh = (tmp_path / name).read_bytes()
        assert fresh == _committed(name), (
            f"web/static/{name} is not what web/editor/build.mjs makes: "
            "run `make editor` and commit the result"
        )
        # And what the room serves in this work tree is that same build.
        assert fresh == (ROOT / "web" / "static" / name).read_bytes()


def test_every_dependency_is_pinned_exactly() -> None:
    manifest = json.loads((EDITOR / "package.json").read_text())
    lock = json.loads((EDITOR / "package-lock.json").read_text())
    declared = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    assert declared, "package.json declares nothing"
    for name, version in declared.items():
        assert version[0].isdigit(), f"{name} {version}: not an exact version"
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == version, name
    for path, entry in lock["packages"].items():
        if path:  # every installed package carries its integrity hash
            assert entry.get("integrity", "").startswith("sha512-"), path


def test_the_bundle_holds_codemirror_and_no_address_or_eval() -> None:
    text = (ROOT / "web" / "static" / "editor.js").read_text()
    assert "export{" in text.replace(" ", "")  # an ES module the room imports
    assert "cm-editor" in text and "cm-content" in text  # CodeMirror's view
    # The only addresses in it are XML namespaces (SVG): nothing is fetched at run time.
    assert set(re.findall(r"https?://[^\"'`\s]*", text)) <= {"http://www.w3.org/2000/svg"}
    for forbidden in ("fetch(", "XMLHttpRequest", "new Function(", "eval("):
        assert forbidden not in text, forbidden
