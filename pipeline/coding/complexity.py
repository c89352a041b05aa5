"""A static reading of a candidate's Python code: an estimated time complexity ("O(n^2)") and
the reason ("two nested loops: for i in range(n), in it for j in range(n)"), for the
interviewer's follow-up on complexity and the report. Deterministic, with the standard `ast`
module only: the code is parsed, never run (it runs only in the sandbox).

What it counts, n being the size of the input:
- a loop (`for`, `while`, a comprehension) is a factor n, unless it walks a fixed-size literal
  (`for d in ((0, 1), (1, 0))`, `range(4)`); nested loops multiply;
- a sort (`sorted`, `.sort()`) is n log n; a binary search or a heap operation (`bisect.*`,
  `heapq.*`) is log n;
- a linear scan hidden in one call or expression is a factor n: `x in xs` where `xs` was
  bound to a list, `.index()`, `.count()`, `min`/`max`/`sum`/`any`/`all` of one collection,
  a slice copy;
- a call to a function of the program costs what its body costs, where it is called;
- recursion: a function calling itself once per call is a factor n; calling itself at two or
  more places, without `functools.cache`/`lru_cache`, is O(2^n);
- `in` on a name bound to a dict or a set is O(1), and said so.

It is an estimate: it counts loops, not what they iterate (a loop over a grid's rows and one over
its columns read as n^2, a visited set that bounds a recursion is not seen). Other languages are
not read: the estimate is None, "not estimated".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

LOG_CALLS = frozenset(
    {"bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right"}
    | {"heappush", "heappop", "heappushpop", "heapreplace"}
)
SCANS = frozenset({"min", "max", "sum", "any", "all"})  # over one collection: linear
SCAN_METHODS = frozenset({"index", "count"})
MEMO_DECORATORS = frozenset({"cache", "lru_cache"})
NUMBER_WORDS = {1: "one loop", 2: "two nested loops", 3: "three nested loops"}
# How the interviewer names each kind of step in a sentence.
SPOKEN = {
    "sort": "a sort",
    "log": "a binary search or heap step",
    "scan": "a linear scan",
    "recursion": "recursion",
    "slice": "a slice copy",
    "exponential": "a function that calls itself more than once per call",
}
MAX_SHOWN = 48  # characters of a loop header quoted in the reason


@dataclass(frozen=True)
class Cost:
    """n^degree · log^logs n (or 2^n), with the steps that give it, outermost first: (kind,
    text) pairs, kind "loop" or one of SPOKEN's."""

    degree: int = 0
    logs: int = 0
    exponential: bool = False
    path: tuple[tuple[str, str], ...] = ()

    def key(self) -> tuple[bool, int, int]:
        return (self.exponential, self.degree, self.logs)

    def times(self, inner: Cost) -> Cost:
        return Cost(
            self.degree + inner.degree,
            self.logs + inner.logs,
            self.exponential or inner.exponential,
            self.path + inner.path,
        )


CONSTANT = Cost()


def dominant(costs: list[Cost]) -> Cost:
    """The largest of costs in sequence (the first of equals: the reason names the earliest)."""
    best = CONSTANT
    for c in costs:
        if c.key() > best.key():
            best = c
    return best


@dataclass(frozen=True)
class Estimate:
    estimate: str | None  # "O(n log n)"; None when not estimated
    reason: str  # the steps, quoted from the code
    said: str = ""  # what the interviewer says of the code: "two nested loops"

    def as_dict(self, language: str) -> dict[str, Any]:
        return {
            "language": language,
            "estimate": self.estimate,
            "reason": self.reason,
            "said": self.said,
            "method": "static reading of the code (pipeline/coding/complexity.py)",
        }


def estimate(code: str, language: str) -> dict[str, Any]:
    """The estimate of a submission as stored with it and shown to the interviewer."""
    if language != "python":
        return Estimate(None, f"not estimated: only Python code is read, not {language}").as_dict(
            language
        )
    return estimate_python(code).as_dict(language)


def estimate_python(code: str) -> Estimate:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return Estimate(None, "not estimated: the code does not parse")
    try:
        reader = _Reader(tree)
        # The program as run, then each function as if called once: a solution's function is
        # read even when the code submitted never calls it.
        cost = dominant([reader.block(tree.body), *map(reader.function, reader.functions)])
    except RecursionError:  # absurdly deep nesting: say nothing rather than guess
        return Estimate(None, "not estimated: the code is nested too deeply to read")
    said = _said(cost)
    reason = f"{said}: " + ", in it ".join(text for _, text in cost.path) if cost.path else said
    if reader.hash_lookups and not cost.exponential:
        names = ", ".join(sorted(reader.hash_lookups)[:3])
        reason += f"; lookups with `in` on a dict or set ({names}) are O(1) each"
    return Estimate(big_o(cost), reason, said)


Growth = tuple[bool, int, int]  # (exponential, degree of n, powers of log n): compared as is

_GROWTH = re.compile(r"(?:n(?:\^(\d+))?)?(?:log(?:\^(\d+))?n)?")


def growth(text: str) -> Growth:
    """The growth a big-O text names, in one size variable n, comparable with `<`: "O(1)",
    "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^2 log n)", "O(2^n)" (the estimate's own
    notation; spaces, `*`, `log(n)` and "²"/"³" are tolerated). ValueError for anything else."""
    compact = text.strip().lower().replace(" ", "").replace("*", "")
    compact = compact.replace("²", "^2").replace("³", "^3")
    if not (compact.startswith("o(") and compact.endswith(")")):
        raise ValueError(f"not a big-O text: {text!r}")
    inner = compact[2:-1].replace("(n)", "n")
    if inner == "1":
        return (False, 0, 0)
    if inner == "2^n":
        return (True, 0, 0)
    match = _GROWTH.fullmatch(inner)
    if not inner or match is None:
        raise ValueError(f"not a big-O text in one variable n: {text!r}")
    has_n = inner.startswith("n")
    degree = int(match.group(1) or 1) if has_n else 0
    logs = int(match.group(2) or 1) if "log" in inner else 0
    return (False, degree, logs)


def big_o(cost: Cost) -> str:
    if cost.exponential:
        return "O(2^n)"
    parts = []
    if cost.degree:
        parts.append("n" if cost.degree == 1 else f"n^{cost.degree}")
    if cost.logs:
        parts.append("log n" if cost.logs == 1 else f"log^{cost.logs} n")
    return f"O({' '.join(parts) or '1'})"


def _said(cost: Cost) -> str:
    """The dominant steps in words: "two nested loops", "one loop around a sort"."""
    if not cost.path:
        return "no loop, recursion or sort over the input"
    loops = sum(kind == "loop" for kind, _ in cost.path)
    others = [SPOKEN[kind] for kind, _ in cost.path if kind != "loop"]
    if not loops:
        return " around ".join(others)
    words = NUMBER_WORDS.get(loops, f"{loops} nested loops")
    return f"{words} around {' and '.join(others)}" if others else words


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _is_fixed_size(node: ast.expr) -> bool:
    """A literal collection or `range` of constants: a loop over it does not grow with n."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return True
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        return all(isinstance(a, ast.Constant) for a in node.args)
    return False


def _is_collection(node: ast.expr) -> bool:
    """An argument a scan walks that is not counted already: not a literal, and not a
    comprehension (whose own loop is the factor)."""
    comprehension = (ast.GeneratorExp, ast.ListComp, ast.SetComp)
    return not _is_fixed_size(node) and not isinstance(node, comprehension)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_memoised(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in MEMO_DECORATORS:
            return True
    return False


def _kind_of_value(value: ast.expr) -> str | None:
    """'hash' for a dict or set, 'list' for a list, else None."""
    if isinstance(value, (ast.Dict, ast.Set, ast.DictComp, ast.SetComp)):
        return "hash"
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, ast.Call):
        name = _call_name(value)
        if name in {"dict", "set", "defaultdict", "Counter", "OrderedDict", "frozenset"}:
            return "hash"
        if name == "list":
            return "list"
    return None


class _Reader:
    """Costs of the program's statements; functions are costed where they are called."""

    def __init__(self, tree: ast.Module) -> None:
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.kinds: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                kind = _kind_of_value(node.value)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if kind and isinstance(t, ast.Name):
                        self.kinds.setdefault(t.id, kind)
        self.costs: dict[str, Cost] = {}
        self.reading: set[str] = set()  # functions being costed (recursion)
        self.hash_lookups: set[str] = set()

    def block(self, body: list[ast.stmt]) -> Cost:
        return dominant([self.statement(s) for s in body])

    def statement(self, node: ast.stmt) -> Cost:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return CONSTANT  # defining costs nothing; calling does
        if isinstance(node, (ast.For, ast.AsyncFor)):
            header = self.expr(node.iter)
            body = self.block(node.body)
            if _is_fixed_size(node.iter):
                looped = body
            else:
                shown = f"for {_shown(node.target)} in {_shown(node.iter)}"
                looped = Cost(1, path=(("loop", shown),)).times(body)
            return dominant([header, looped, self.block(node.orelse)])
        if isinstance(node, ast.While):
            body = dominant([self.expr(node.test), self.block(node.body)])
            test = node.test
            if isinstance(test, ast.Constant) and not test.value:
                return self.block(node.orelse)
            loop = Cost(1, path=(("loop", f"while {_shown(test)}"),))
            return dominant([loop.times(body), self.block(node.orelse)])
        return self.generic(node)

    def generic(self, node: ast.AST) -> Cost:
        """Any other statement, or a part of one (an `except`, a `with` item, a `case`): its
        expressions and blocks in sequence."""
        costs = []
        for _, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                costs.append(self.expr(value))
            elif isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                costs.append(self.block(value))
            elif isinstance(value, list):
                costs.extend(self.node(v) for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                costs.append(self.node(value))
        return dominant(costs)

    def node(self, node: ast.AST) -> Cost:
        return self.expr(node) if isinstance(node, ast.expr) else self.generic(node)

    def expr(self, node: ast.AST) -> Cost:
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self.comprehension(node)
        if isinstance(node, ast.Lambda):
            return CONSTANT
        own = CONSTANT
        if isinstance(node, ast.Call):
            own = self.call(node)
        elif isinstance(node, ast.Compare):
            own = self.membership(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            own = Cost(1, path=(("slice", _shown(node)),))
        inner = [
            self.expr(c.value if isinstance(c, ast.keyword) else c)
            for c in ast.iter_child_nodes(node)
            if isinstance(c, (ast.expr, ast.keyword))
        ]
        return dominant([own, *inner])

    def comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Cost:
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        cost = dominant([self.expr(p) for p in parts])
        for gen in reversed(node.generators):
            cost = dominant([cost, *(self.expr(i) for i in gen.ifs)])
            if not _is_fixed_size(gen.iter):
                shown = f"for {_shown(gen.target)} in {_shown(gen.iter)}"
                cost = Cost(1, path=(("loop", shown),)).times(cost)
            cost = dominant([cost, self.expr(gen.iter)])
        return cost

    def call(self, node: ast.Call) -> Cost:
        name = _call_name(node)
        if name == "sorted" or (name == "sort" and isinstance(node.func, ast.Attribute)):
            return Cost(1, 1, path=(("sort", _shown(node)),))
        if name in LOG_CALLS:
            return Cost(0, 1, path=(("log", _shown(node)),))
        if name in SCANS and len(node.args) == 1 and _is_collection(node.args[0]):
            return Cost(1, path=(("scan", _shown(node)),))
        if name in SCAN_METHODS and isinstance(node.func, ast.Attribute):
            return Cost(1, path=(("scan", _shown(node)),))
        if isinstance(node.func, ast.Name) and name in self.functions:
            return self.function(name)
        return CONSTANT

    def membership(self, node: ast.Compare) -> Cost:
        for op, right in zip(node.ops, node.comparators, strict=True):
            if not isinstance(op, (ast.In, ast.NotIn)) or not isinstance(right, ast.Name):
                continue
            kind = self.kinds.get(right.id)
            if kind == "hash":
                self.hash_lookups.add(right.id)
            elif kind == "list":
                return Cost(1, path=(("scan", _shown(node)),))
        return CONSTANT

    def function(self, name: str) -> Cost:
        """What a call of the program's function `name` costs."""
        if name in self.costs:
            return self.costs[name]
        if name in self.reading:
            return CONSTANT  # its own recursion is counted once, below
        fn = self.functions[name]
        self.reading.add(name)
        body = self.block(fn.body)
        self.reading.discard(name)
        calls = [
            n
            for n in ast.walk(fn)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
        ]
        if len(calls) >= 2 and not _is_memoised(fn):
            said = f"{name} calling itself {len(calls)} times per call, unmemoised"
            cost = Cost(exponential=True, path=(("exponential", said),))
        elif calls:
            said = (
                f"{name} calls itself once per call"
                if len(calls) == 1
                else f"{name} calls itself, memoised: once per distinct argument"
            )
            cost = Cost(1, path=(("recursion", said),)).times(body)
        else:
            cost = body
        self.costs[name] = cost
        return cost
