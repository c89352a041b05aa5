"""A static reading of a candidate's Python code: an estimated time complexity ("O(n^2)") and
the reason ("two nested loops: for i in range(n), in it for j in range(n)"), for the
interviewer's follow-up on complexity and the report. Deterministic, with the standard `ast`
module only: the code is parsed, never run (it runs only in the sandbox).

What it counts, n being the size of the input (every input dimension counted as n: a grid is
n x n), as an interviewer would:
- a loop (`for`, `while`, a comprehension) is a factor n, unless it walks something of fixed
  size (a literal such as `((0, 1), (1, 0))`, a name bound to one and never changed,
  `range(4)`, `string.ascii_lowercase`, `xs[:2]`); nested loops multiply;
- a `while` loop that halves a range (`mid = (lo + hi) // 2` and `lo = mid + 1`, or `n //= 2`)
  is log n;
- an inner `while` that only moves a pointer forward, or only pops from a collection, that the
  enclosing loop never resets (a sliding window, a monotonic stack) runs n times in all, not n
  times per outer step: it adds to the outer loop instead of multiplying it;
- a search that marks what it has seen (a `while` over a stack or queue whose pushes are guarded
  by a visited set or grid, or a recursive function that returns on a visited cell and marks it)
  visits each element once: n, or n^2 when it marks grid cells (`seen[r][c]`, `(r, c)`), in all;
- a sort (`sorted`, `.sort()`) is n log n; a binary search or a heap operation (`bisect.*`,
  `heapq.*`) is log n;
- a linear scan hidden in one call or expression is a factor n: `x in xs` where `xs` was
  bound to a list or a string, `.index()`, `.count()`, `.find()`, `.replace()`, `re.sub`,
  `min`/`max`/`sum`/`any`/`all` of one collection, a slice copy;
- a call to a function of the program costs what its body costs, where it is called;
- recursion: a function calling itself once per call is a factor n; on half its range (a
  binary search) log n; on both halves (merge sort) log n times its own work, or n when that
  work is constant; more than once per call otherwise, without `functools.cache`/`lru_cache`,
  O(2^n); memoised, once per distinct argument: n per argument that changes;
- reading the input is not counted (a comprehension or slice over what `input()` or
  `sys.stdin` gave), as an interviewer would not count it;
- `in` on a name bound to a dict or a set is O(1), and said so.

It is an estimate: it does not know the limits a problem states (words of at most 10 letters),
nor that a pruned recursion (a segment tree's query) visits only log n of its nodes. How well it
agrees with a human's reading is measured on a labelled gold set (tests/complexity_gold/, in
`make bench`'s coding section). Other languages are not read: the estimate is None.
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
SCAN_METHODS = frozenset({"index", "count", "find", "rfind", "replace", "sub", "subn"})
SHRINK_METHODS = frozenset({"pop", "popleft", "remove", "discard", "popitem"})
GROW_METHODS = frozenset({"append", "appendleft", "add", "extend", "insert"})
MUTATING_METHODS = SHRINK_METHODS | GROW_METHODS | {"update", "setdefault", "clear", "sort"}
FIXED_NAMES = frozenset(  # the `string` module's alphabets
    {"ascii_lowercase", "ascii_uppercase", "ascii_letters", "digits", "hexdigits", "punctuation"}
)
# Calls that only turn the input's text into values: a comprehension made of them is reading.
PARSE_CALLS = frozenset(
    {"int", "float", "str", "list", "tuple", "map", "input", "split", "strip", "rstrip"}
    | {"lstrip", "readline", "ord", "chr", "len"}
)
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
    "visit": "a search that visits each element once",
    "divide": "a divide-and-conquer recursion",
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
        cost = dominant([cost, *reader.totals])  # searches counted once for the whole run
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


def _is_constant(node: ast.AST) -> bool:
    """A constant, or a literal collection (possibly nested) of constants."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_constant(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _is_constant(node.operand)
    return False


def _is_literal(node: ast.AST) -> bool:
    """A constant, or a collection written out item by item (`((y + 1, x), (y - 1, x))`):
    its size is fixed by the code, whatever its items."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return not any(isinstance(e, ast.Starred) for e in node.elts)
    return _is_constant(node)


def _is_small_slice(node: ast.Slice) -> bool:
    """`xs[:2]`, `xs[-3:]`, `xs[1:4]`: a slice of at most a constant number of items."""
    lower, upper = node.lower, node.upper
    if lower is not None and not _is_constant(lower):
        return False
    if upper is not None and not _is_constant(upper):
        return False
    if upper is None:  # xs[-3:] is small, xs[1:] is not
        return isinstance(lower, ast.UnaryOp) and isinstance(lower.op, ast.USub)
    return True


def _is_collection(node: ast.expr) -> bool:
    """An argument a scan walks that is not counted already: not a literal, and not a
    comprehension (whose own loop is the factor)."""
    comprehension = (ast.GeneratorExp, ast.ListComp, ast.SetComp)
    return not _is_literal(node) and not isinstance(node, comprehension)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _receiver(node: ast.Call) -> str | None:
    """`q` of `q.pop()`, or of `heappop(q)`: the collection a call works on."""
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    if _call_name(node) in LOG_CALLS and node.args and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return None


def _is_memoised(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in MEMO_DECORATORS:
            return True
    return False


def _kind_of_value(value: ast.expr) -> str | None:
    """'hash' for a dict or set, 'list' for a list or a string, else None."""
    if isinstance(value, (ast.Dict, ast.Set, ast.DictComp, ast.SetComp)):
        return "hash"
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, ast.Call):
        name = _call_name(value)
        if name in {"dict", "set", "defaultdict", "Counter", "OrderedDict", "frozenset"}:
            return "hash"
        if name in {"list", "input", "readline", "strip", "rstrip", "lstrip", "lower", "upper"}:
            return "list"  # `in` walks a string as it walks a list
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _halves(node: ast.AST) -> bool:
    """Holds `// 2` (or by more), or `>> 1`: a range cut in half."""
    for n in ast.walk(node):
        if isinstance(n, (ast.BinOp, ast.AugAssign)):
            right = n.right if isinstance(n, ast.BinOp) else n.value
            if not (isinstance(right, ast.Constant) and isinstance(right.value, int)):
                continue
            if isinstance(n.op, ast.FloorDiv) and right.value >= 2:
                return True
            if isinstance(n.op, ast.RShift) and right.value >= 1:
                return True
    return False


def _assigned(node: ast.AST) -> dict[str, list[ast.expr]]:
    """Each name assigned in `node` (plainly, or as a tuple's element), with the values."""
    found: dict[str, list[ast.expr]] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Assign):
            for target in n.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                values = (
                    n.value.elts
                    if isinstance(target, ast.Tuple)
                    and isinstance(n.value, ast.Tuple)
                    and len(n.value.elts) == len(elts)
                    else [n.value] * len(elts)
                )
                for t, v in zip(elts, values, strict=True):
                    if isinstance(t, ast.Name):
                        found.setdefault(t.id, []).append(v)
        elif (
            isinstance(n, (ast.AnnAssign, ast.NamedExpr))
            and isinstance(n.target, ast.Name)
            and n.value is not None
        ):
            found.setdefault(n.target.id, []).append(n.value)
    return found


def _halving_names(node: ast.AST) -> set[str]:
    """Names assigned from a halving expression in `node` (`mid = (lo + hi) // 2`)."""
    return {name for name, values in _assigned(node).items() if any(_halves(v) for v in values)}


def _marks(node: ast.AST) -> dict[str, int]:
    """Structures marked in `node` as seen, with how many coordinates name an element:
    `seen.add((r, c))` and `grid[r][c] = "0"` are 2, `seen.add(v)` and `dist[v] = d` are 1."""
    found: dict[str, int] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and _call_name(n) == "add" and n.args:
            target = _receiver(n)
            arg = n.args[0]
            if target is not None:
                found[target] = len(arg.elts) if isinstance(arg, ast.Tuple) else 1
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                depth = 0
                while isinstance(t, ast.Subscript):
                    index = t.slice
                    depth += len(index.elts) if isinstance(index, ast.Tuple) else 1
                    t = t.value
                if depth and isinstance(t, ast.Name):
                    found[t.id] = max(found.get(t.id, 0), depth)
    return found


def _guarded(node: ast.AST, inner: ast.AST, seen: str) -> bool:
    """`inner` sits under an `if` of `node` whose test reads `seen`."""
    for n in ast.walk(node):
        inside = isinstance(n, ast.If) and any(m is inner for b in n.body for m in ast.walk(b))
        if inside and seen in _names(n.test):  # type: ignore[attr-defined]
            return True
    return False


def _ends(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))


def _self_calls(node: ast.AST, name: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
    ]


def _calls_on_a_path(body: list[ast.stmt], name: str) -> int:
    """The most calls of `name` one run of `body` can make: branches of an `if` are one or the
    other; a call in a loop counts as many (two)."""

    def count(node: ast.AST) -> int:
        if isinstance(node, ast.IfExp):
            return count(node.test) + max(count(node.body), count(node.orelse))
        own = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        here = 1 if own and node.func.id == name else 0  # type: ignore[attr-defined]
        return here + sum(count(c) for c in ast.iter_child_nodes(node))

    def path(stmts: list[ast.stmt]) -> int:
        if not stmts:
            return 0
        first, rest = stmts[0], stmts[1:]
        if isinstance(first, ast.If):
            then = first.body if _ends(first.body) else first.body + rest
            other = first.orelse if _ends(first.orelse) else first.orelse + rest
            return count(first.test) + max(path(then), path(other))
        if isinstance(first, (ast.Return, ast.Raise)):
            return count(first)
        if isinstance(first, (ast.For, ast.AsyncFor, ast.While)):
            return 2 * count(first) + path(rest)
        return count(first) + path(rest)

    return path(body)


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
        assigned = _assigned(tree)
        changed = self._changed(tree)
        # Names bound once to a literal of constants and never changed: fixed size.
        self.fixed = {
            name
            for name, values in assigned.items()
            if len(values) == 1 and _is_literal(values[0]) and name not in changed
        } | FIXED_NAMES
        # Names bound to the input's raw text or tokens (`data = sys.stdin.read().split()`),
        # not to the values parsed from it (`nums = list(map(int, input().split()))`).
        self.raw = {name for name, values in assigned.items() if any(map(_is_raw_text, values))}
        self.costs: dict[str, Cost] = {}
        self.reading: set[str] = set()  # functions being costed (recursion)
        self.hash_lookups: set[str] = set()
        self.loops: list[ast.AST] = []  # the loops around the statement read, innermost last
        self.totals: list[Cost] = []  # searches bounded for the whole run, not per call
        self.loop_assigned: dict[ast.AST, set[str]] = {}

    @staticmethod
    def _changed(tree: ast.Module) -> set[str]:
        """Names whose value changes after it is bound: a method that mutates, `+=`, an item
        assigned."""
        changed = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and _call_name(n) in MUTATING_METHODS:
                receiver = _receiver(n)
                if receiver is not None:
                    changed.add(receiver)
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                changed.add(n.target.id)
            elif isinstance(n, (ast.Assign, ast.AugAssign)):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for t in targets:
                    if not isinstance(t, ast.Subscript):
                        continue  # rebinding a name is counted by `_assigned`
                    while isinstance(t, ast.Subscript):
                        t = t.value
                    if isinstance(t, ast.Name):
                        changed.add(t.id)
        return changed

    def is_fixed_size(self, node: ast.expr) -> bool:
        """Walking it does not grow with n: a literal, a fixed name, `range` of constants, a
        small slice."""
        if _is_literal(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.fixed
        if isinstance(node, ast.Attribute):
            return node.attr in FIXED_NAMES
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return _is_small_slice(node.slice)
        if isinstance(node, ast.Call) and _call_name(node) in {"range", "enumerate", "zip"}:
            return all(self.is_fixed_size(a) or _is_constant(a) for a in node.args)
        return False

    def is_reading(self, node: ast.AST) -> bool:
        """Reads the input: calls `input()`/`sys.stdin`, or uses the input's raw text."""
        return _reads(node) or bool(_names(node) & self.raw)

    def block(self, body: list[ast.stmt]) -> Cost:
        return dominant([self.statement(s) for s in body])

    def statement(self, node: ast.stmt) -> Cost:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return CONSTANT  # defining costs nothing; calling does
        if isinstance(node, (ast.For, ast.AsyncFor)):
            if all(self.is_reading(s) for s in node.body):
                return CONSTANT  # a loop reading the input's lines
            header = self.expr(node.iter)
            self.loops.append(node)
            body = self.block(node.body)
            self.loops.pop()
            if self.is_fixed_size(node.iter):
                looped = body
            else:
                shown = f"for {_shown(node.target)} in {_shown(node.iter)}"
                looped = Cost(1, path=(("loop", shown),)).times(body)
            return dominant([header, looped, self.block(node.orelse)])
        if isinstance(node, ast.While):
            return self.while_loop(node)
        return self.generic(node)

    def while_loop(self, node: ast.While) -> Cost:
        test = node.test
        if isinstance(test, ast.Constant) and not test.value:
            return self.block(node.orelse)
        self.loops.append(node)
        body = dominant([self.expr(test), self.block(node.body)])
        self.loops.pop()
        shown = f"while {_shown(test)}"
        after = self.block(node.orelse)
        if self._halving(node):
            loop = Cost(0, 1, path=(("log", f"{shown}, halving the range"),))
            return dominant([loop.times(body), after])
        search = self._search(node)
        if search is not None:
            seen, dim = search
            visits = Cost(dim, path=(("visit", f"{shown}, each element pushed once ({seen})"),))
            if self.loops and not self._reset_in(self.loops[-1], seen):
                self.totals.append(visits.times(body))  # over the whole run
                return dominant([body, after])
            return dominant([visits.times(body), after])
        if self.loops and self._advances(node, self.loops[-1]):
            return dominant([body, after])  # n steps in all, not per outer step
        loop = Cost(1, path=(("loop", shown),))
        return dominant([loop.times(body), after])

    def _halving(self, node: ast.While) -> bool:
        """A binary search: the test's names are set from a halved range (`lo = mid + 1`), or
        halved themselves (`n //= 2`)."""
        tested = _names(node.test)
        halved = _halving_names(node) | {
            n.target.id
            for n in ast.walk(node)
            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and _halves(n)
        }
        if tested & halved:
            return True
        for name, values in _assigned(node).items():
            if name in tested and any(_halves(v) or _names(v) & halved for v in values):
                return True
        return False

    def _search(self, node: ast.While) -> tuple[str, int] | None:
        """A `while` over a stack or queue (popped in the body) whose pushes are guarded by a
        structure the body marks as seen: (that structure, its coordinates)."""
        tested = _names(node.test)
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
        popped = {
            _receiver(c) for c in calls if _call_name(c) in {"pop", "popleft", "heappop"}
        } & tested
        for queue in popped:
            pushes = [
                c
                for c in calls
                if _receiver(c) == queue
                and _call_name(c) in {"append", "appendleft", "heappush", "add"}
            ]
            marks = {k: v for k, v in _marks(node).items() if k != queue}
            for seen, dim in marks.items():
                skips = any(
                    isinstance(n, ast.If) and seen in _names(n.test) and _ends(n.body)
                    for n in ast.walk(node)
                )
                if skips or all(_guarded(node, p, seen) for p in pushes):
                    return seen, dim
        return None

    def _assigned_in(self, loop: ast.AST) -> set[str]:
        """The names a loop assigns, read once per loop: many loops inside one must not each
        walk it again (a submission of 400 of them took seconds)."""
        found = self.loop_assigned.get(loop)
        if found is None:
            found = self.loop_assigned[loop] = set(_assigned(loop))
        return found

    def _reset_in(self, loop: ast.AST, name: str) -> bool:
        return name in self._assigned_in(loop)

    def _advances(self, node: ast.While, outer: ast.AST) -> bool:
        """An inner `while` that only moves on: it advances a pointer (`left += 1`) or pops from
        a collection its test reads, which the enclosing loop never resets."""
        tested = _names(node.test)
        reset = self._assigned_in(outer)
        stepped = {
            n.target.id
            for n in ast.walk(node)
            if isinstance(n, ast.AugAssign)
            and isinstance(n.target, ast.Name)
            and isinstance(n.op, (ast.Add, ast.Sub))
        }
        shrunk = {
            _receiver(n)
            for n in ast.walk(node)
            if isinstance(n, ast.Call)
            and (_call_name(n) in SHRINK_METHODS or _call_name(n) == "heappop")
        }
        moving = (stepped | {s for s in shrunk if s is not None}) & tested
        return bool(moving) and not moving & reset

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
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Slice)
            and not _is_small_slice(node.slice)
            and not self.is_reading(node.value)  # slicing the input's tokens is reading it
        ):
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
        if self._parses(node):
            return CONSTANT  # reading the input, not counted
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        cost = dominant([self.expr(p) for p in parts])
        for gen in reversed(node.generators):
            cost = dominant([cost, *(self.expr(i) for i in gen.ifs)])
            if not self.is_fixed_size(gen.iter):
                shown = f"for {_shown(gen.target)} in {_shown(gen.iter)}"
                cost = Cost(1, path=(("loop", shown),)).times(cost)
            cost = dominant([cost, self.expr(gen.iter)])
        return cost

    def _parses(self, node: ast.AST) -> bool:
        """A comprehension that turns the input's text into values: it reads the input, and
        calls nothing but conversions."""
        if not self.is_reading(node):
            return False
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
        return all(_call_name(c) in PARSE_CALLS for c in calls)

    def call(self, node: ast.Call) -> Cost:
        name = _call_name(node)
        if name == "sorted" or (name == "sort" and isinstance(node.func, ast.Attribute)):
            return Cost(1, 1, path=(("sort", _shown(node)),))
        if name in LOG_CALLS:
            return Cost(0, 1, path=(("log", _shown(node)),))
        if (
            name in SCANS
            and len(node.args) == 1
            and _is_collection(node.args[0])
            and not self.is_fixed_size(node.args[0])
        ):
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
            elif kind == "list" and right.id not in self.fixed:
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
        outer, self.loops = self.loops, []  # the function's loops are its own
        body = self.block(fn.body)
        self.loops = outer
        self.reading.discard(name)
        cost = self._recursion(fn, body)
        self.costs[name] = cost
        return cost

    def _recursion(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, body: Cost) -> Cost:
        name = fn.name
        calls = _self_calls(fn, name)
        if not calls:
            return body
        seen = self._visited(fn, calls)
        if seen is not None:
            structure, dim = seen
            said = f"{name} visits each element once (it marks {structure})"
            self.totals.append(Cost(dim, path=(("visit", said),)).times(body))
            return CONSTANT  # counted once for the whole run, above
        halved = _halving_names(fn)
        if all(_halves(c) or any(_names(a) & halved for a in c.args) for c in calls):
            if _calls_on_a_path(fn.body, name) <= 1:
                said = f"{name} recurses on half the range"
                return Cost(0, 1, path=(("log", said),)).times(body)
            if body.degree or body.exponential:
                said = f"{name} splits its input in halves, its own work on each level"
                return Cost(0, 1, path=(("divide", said),)).times(body)
            said = f"{name} splits its input in halves down to single elements"
            return Cost(1, path=(("divide", said),))
        if _is_memoised(fn):
            varying = self._varying(fn, calls)
            said = f"{name} calls itself, memoised: once per distinct argument"
            return Cost(varying, path=(("recursion", said),)).times(body)
        per_path = _calls_on_a_path(fn.body, name)
        if per_path >= 2:
            said = f"{name} calling itself {len(calls)} times per call, unmemoised"
            return Cost(exponential=True, path=(("exponential", said),))
        said = f"{name} calls itself once per call"
        return Cost(1, path=(("recursion", said),)).times(body)

    @staticmethod
    def _varying(fn: ast.FunctionDef | ast.AsyncFunctionDef, calls: list[ast.Call]) -> int:
        """How many of the function's arguments change from call to call (at least one)."""
        params = [a.arg for a in fn.args.args]
        varying = set()
        for call in calls:
            for i, arg in enumerate(call.args):
                if i >= len(params) or not (isinstance(arg, ast.Name) and arg.id == params[i]):
                    varying.add(i)
        return max(1, len(varying))

    @staticmethod
    def _visited(
        fn: ast.FunctionDef | ast.AsyncFunctionDef, calls: list[ast.Call]
    ) -> tuple[str, int] | None:
        """A search that marks what it visits: it marks a structure and returns on a marked
        element before recursing, or recurses only under a test of it."""
        for structure, dim in _marks(fn).items():
            returns = any(
                isinstance(n, ast.If) and structure in _names(n.test) and _ends(n.body)
                for n in fn.body
            )
            if returns or all(_guarded(fn, c, structure) for c in calls):
                return structure, dim
        return None


def _is_raw_text(value: ast.expr) -> bool:
    """The input as read: its text, lines or tokens, not yet values."""
    return (
        isinstance(value, ast.Call)
        and _call_name(value) in {"read", "readlines", "split", "splitlines"}
        and _reads(value)
    )


def _reads(node: ast.AST) -> bool:
    """Calls `input()` or reads `sys.stdin`."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "input":
            return True
        if isinstance(n, ast.Attribute) and n.attr == "stdin":
            return True
    return False
