"""Import boundaries, checked on the source's import graph.

The service layer (issue 23): the services (server/usecases/) know nothing of HTTP, and the
edges (the REST API, the compat adapters, the phone channel) build on them and on the HTTP kit
(server/http/), never on one another's routes; `FORBIDDEN` lists the edges that must not come
back, and the services must not load HTTP even when imported alone.

Demographic categories never reach the scoring code (issue 15):

The categories live in one module (server/review/demographics.py) and one Redis key
(`keys.demographics`). Checked on the source, with `ast`:
- no module under pipeline/ imports anything from server/ (scoring is a layer below the server),
  so in particular never server.review.demographics;
- only the audit modules import server.review.demographics, and only it and the erasure touch its key;
- the modules that score a session (all of pipeline/, and the server modules that call it) do
  not load server.review.demographics even transitively, parent packages' `__init__` included;
and at run time: importing them in a fresh interpreter leaves it out of `sys.modules`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("audio", "models", "pipeline", "server")
DEMOGRAPHICS = "server.review.demographics"
# Who may import the categories: the audit computation and its endpoints.
ALLOWED_IMPORTERS = {"server.review.bias_audits", "server.api.bias_audits"}
# Who may name their Redis key: the module that owns it, and the erasure that deletes it.
# server.storage.migrate renames the key to its hash-tagged name (`viva migrate-keys`), never
# reads it.
ALLOWED_KEY_USERS = {
    "server.review.demographics",
    "server.storage.erasure",
    "server.storage.keys",
    "server.storage.migrate",
}
# What scores a session: the report, the engines, ending a session (the report is built there),
# and picking the engine.
SCORING = ("server.lifecycle", "server.engines")
SERVICES = "server.usecases"
# What the services must not import, directly or not, when imported: the HTTP edges and the
# live channels (they are called by them).
EDGES = (
    "server.api",
    "server.http",
    "server.compat",
    "server.phone",
    "server.stream",
    "server.live",
)
# (importers, imported, why): no module under the first imports one under the second, even
# inside a function.
FORBIDDEN = (
    ("server.compat", "server.api", "compat builds on the services and the HTTP kit, not the API"),
    ("server.phone", "server.api", "the phone channel builds on the services and the HTTP kit"),
    ("server.lifecycle", "server.compat", "webhook shapes are registered by compat"),
    ("server.lifecycle", "server.api", "ending a session is below every edge"),
    *((SERVICES, edge, "the services know nothing of HTTP or of who calls them") for edge in EDGES),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if ".venv" not in path.parts
    }


MODULES = first_party()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    is_package = MODULES.get(module, Path()).name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


class _Imports(ast.NodeVisitor):
    """Import statements; with `eager`, only those run on import (not inside a function)."""

    def __init__(self, module: str, eager: bool) -> None:
        self.module, self.eager = module, eager
        self.found: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not self.eager:
            self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        if not self.eager:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = _resolve(self.module, node)
        self.found.add(source)
        self.found.update(f"{source}.{alias.name}" for alias in node.names)


@cache
def imports_of(module: str, eager: bool = False) -> frozenset[str]:
    """First-party modules `module` imports directly (a `from x import y` naming a submodule
    imports it), with the packages each one's import runs first. `eager`: only the imports
    that run when the module is imported, not those inside its functions."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    visitor = _Imports(module, eager)
    visitor.visit(tree)
    with_parents = {
        ".".join(name.split(".")[: i + 1])
        for name in visitor.found
        for i in range(name.count(".") + 1)
    }
    return frozenset(name for name in with_parents if name in MODULES and name != module)


def closure(roots: list[str], *, eager: bool) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(imports_of(module, eager) - seen)
    return seen


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def third_party_imports(module: str) -> set[str]:
    """Top-level names of what `module` imports that is not first-party (`starlette`...)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - set(PACKAGES)


def pipeline_modules() -> Iterator[str]:
    return (m for m in sorted(MODULES) if m == "pipeline" or m.startswith("pipeline."))


def test_the_graph_is_read() -> None:
    assert DEMOGRAPHICS in MODULES and "pipeline.interview.report" in MODULES
    assert DEMOGRAPHICS in imports_of("server.api.bias_audits")
    # `from server.api import bias_audits`
    assert "server.api.bias_audits" in imports_of("server.api")
    assert len(list(pipeline_modules())) > 20


def test_no_scoring_module_imports_the_server_or_the_categories() -> None:
    offenders = {
        module: sorted(n for n in imports_of(module) if n == "server" or n.startswith("server."))
        for module in pipeline_modules()
    }
    assert {m: found for m, found in offenders.items() if found} == {}


def test_only_the_audit_modules_import_the_categories() -> None:
    importers = {m for m in MODULES if DEMOGRAPHICS in imports_of(m)}
    assert importers <= ALLOWED_IMPORTERS, importers
    assert importers, "the audit modules import it"


def test_only_its_owner_and_the_erasure_name_the_categories_key() -> None:
    users = set()
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            named = (
                isinstance(node, ast.Attribute)
                and node.attr == "demographics"
                and isinstance(node.value, ast.Name)
                and node.value.id == "keys"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "server.storage.keys"
                and any(a.name == "demographics" for a in node.names)
            )
            if named:
                users.add(module)
        if "viva:demographics" in path.read_text() and module != "server.storage.keys":
            users.add(module)
    assert users <= ALLOWED_KEY_USERS, users
    assert {"server.review.demographics", "server.storage.erasure"} <= users


def test_the_scoring_code_does_not_reach_the_categories_even_transitively() -> None:
    """Everything pipeline/ can reach, at import or later, stays out of server/; the server's
    scoring modules do not load the categories when imported."""
    pipeline_reach = closure(list(pipeline_modules()), eager=False)
    assert not {m for m in pipeline_reach if m == "server" or m.startswith("server.")}
    reached = closure([*pipeline_modules(), *SCORING], eager=True)
    assert DEMOGRAPHICS not in reached
    assert "server.review.bias_audits" not in reached and "server.api" not in reached


def test_importing_the_scoring_code_does_not_load_the_categories() -> None:
    roots = ["pipeline.interview.report", "pipeline.interview.structured", *SCORING]
    script = (
        f"import sys\nfor m in {roots!r}: __import__(m)\n"
        f"print({DEMOGRAPHICS!r} in sys.modules, 'pipeline.interview.report' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_no_forbidden_edge() -> None:
    broken = sorted(
        f"{module} -> {imported} ({why})"
        for importers, target, why in FORBIDDEN
        for module in MODULES
        if under(module, importers)
        for imported in imports_of(module)
        if under(imported, target)
    )
    assert broken == []


def test_the_forbidden_edges_name_real_modules() -> None:
    """Each side of each forbidden edge is a package or module that exists (a rename would
    otherwise leave a check that can no longer fail)."""
    for importers, target, _why in FORBIDDEN:
        assert importers in MODULES and target in MODULES, (importers, target)
    assert {"server.usecases.chat", "server.usecases.opening"} <= set(MODULES)


def test_the_services_do_not_load_http_when_imported() -> None:
    """What importing any service runs reaches no edge module and no starlette."""
    services = [m for m in MODULES if under(m, SERVICES)]
    reached = closure(services, eager=True)
    assert "server.lifecycle" in reached  # the graph is followed through the services
    assert sorted(m for m in reached if any(under(m, edge) for edge in EDGES)) == []
    assert sorted(m for m in reached if "starlette" in third_party_imports(m)) == []
    script = (
        "import sys\n"
        f"for m in {services!r}: __import__(m)\n"
        f"edges = {EDGES!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'starlette'"
        " or m.startswith(edges)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
