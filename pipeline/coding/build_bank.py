"""Writes problems.json, the built-in problem bank: `python -m pipeline.coding.build_bank`.

Each problem's examples and small tests are written by hand; the large hidden tests are made
here from a fixed seed, their expected output computed by the Python reference solution (run
in-process: this is a build step on trusted code). tests/test_code_sandbox.py then runs every
reference solution, Python and JavaScript, in the sandbox against every test: the JavaScript
one, written separately, checks the Python one's answers on the generated tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

PY_TWO_SUM = """import sys


def solve(nums, target):
    seen = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            return seen[target - x], i
        seen[x] = i
    return -1, -1


def main():
    data = sys.stdin.read().split()
    n = int(data[0])
    nums = [int(x) for x in data[1 : 1 + n]]
    target = int(data[1 + n])
    i, j = solve(nums, target)
    print(i, j)


main()
"""
JS_TWO_SUM = """const data = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/).map(Number);
function solve(nums, target) {
  const seen = new Map();
  for (let i = 0; i < nums.length; i++) {
    if (seen.has(target - nums[i])) return [seen.get(target - nums[i]), i];
    seen.set(nums[i], i);
  }
  return [-1, -1];
}
const n = data[0];
const [i, j] = solve(data.slice(1, 1 + n), data[1 + n]);
console.log(i + " " + j);
"""
PY_PARENS = """import sys


def solve(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for c in s:
        if c in "([{":
            stack.append(c)
        elif not stack or stack.pop() != pairs[c]:
            return False
    return not stack


s = sys.stdin.readline().strip()
print("true" if solve(s) else "false")
"""
JS_PARENS = """const s = require("fs").readFileSync(0, "utf8").trim();
function solve(s) {
  const pairs = { ")": "(", "]": "[", "}": "{" };
  const stack = [];
  for (const c of s) {
    if ("([{".includes(c)) stack.push(c);
    else if (stack.length === 0 || stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}
console.log(solve(s) ? "true" : "false");
"""
PY_INTERVALS = """import sys


def solve(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


data = sys.stdin.read().split()
n = int(data[0])
pairs = [(int(data[1 + 2 * k]), int(data[2 + 2 * k])) for k in range(n)]
for start, end in solve(pairs):
    print(start, end)
"""
JS_INTERVALS = """const d = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/).map(Number);
const n = d[0];
const iv = [];
for (let k = 0; k < n; k++) iv.push([d[1 + 2 * k], d[2 + 2 * k]]);
iv.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
const out = [];
for (const [s, e] of iv) {
  if (out.length && s <= out[out.length - 1][1]) {
    out[out.length - 1][1] = Math.max(out[out.length - 1][1], e);
  } else out.push([s, e]);
}
console.log(out.map((p) => p.join(" ")).join("\\n"));
"""
PY_SUBSTRING = """import sys


def solve(s):
    last = {}
    best = start = 0
    for i, c in enumerate(s):
        if c in last and last[c] >= start:
            start = last[c] + 1
        last[c] = i
        best = max(best, i - start + 1)
    return best


print(solve(sys.stdin.readline().rstrip("\\n")))
"""
JS_SUBSTRING = """const lines = require("fs").readFileSync(0, "utf8").split("\\n");
const s = lines[0] || "";
const last = new Map();
let best = 0, start = 0;
for (let i = 0; i < s.length; i++) {
  if (last.has(s[i]) && last.get(s[i]) >= start) start = last.get(s[i]) + 1;
  last.set(s[i], i);
  best = Math.max(best, i - start + 1);
}
console.log(best);
"""
PY_ISLANDS = """import sys


def solve(grid):
    rows, cols = len(grid), len(grid[0]) if grid else 0
    seen = [[False] * cols for _ in range(rows)]
    count = 0
    for r in range(rows):
        for c in range(cols):
            if grid[r][c] == "1" and not seen[r][c]:
                count += 1
                stack = [(r, c)]
                seen[r][c] = True
                while stack:
                    y, x = stack.pop()
                    for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                        if 0 <= ny < rows and 0 <= nx < cols:
                            if grid[ny][nx] == "1" and not seen[ny][nx]:
                                seen[ny][nx] = True
                                stack.append((ny, nx))
    return count


lines = sys.stdin.read().split()
r, c = int(lines[0]), int(lines[1])
print(solve(lines[2 : 2 + r]))
"""
JS_ISLANDS = """const t = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/);
const R = Number(t[0]), C = Number(t[1]);
const g = t.slice(2, 2 + R);
const seen = Array.from({ length: R }, () => new Uint8Array(C));
let count = 0;
for (let r = 0; r < R; r++)
  for (let c = 0; c < C; c++) {
    if (g[r][c] !== "1" || seen[r][c]) continue;
    count++;
    const st = [[r, c]];
    seen[r][c] = 1;
    while (st.length) {
      const [y, x] = st.pop();
      for (const [ny, nx] of [[y + 1, x], [y - 1, x], [y, x + 1], [y, x - 1]]) {
        if (ny >= 0 && ny < R && nx >= 0 && nx < C && g[ny][nx] === "1" && !seen[ny][nx]) {
          seen[ny][nx] = 1;
          st.push([ny, nx]);
        }
      }
    }
  }
console.log(count);
"""
PY_COINS = """import sys


def solve(coins, amount):
    best = [0] + [amount + 1] * amount
    for value in range(1, amount + 1):
        for coin in coins:
            if coin <= value and best[value - coin] + 1 < best[value]:
                best[value] = best[value - coin] + 1
    return best[amount] if best[amount] <= amount else -1


data = sys.stdin.read().split()
n = int(data[0])
coins = [int(x) for x in data[1 : 1 + n]]
print(solve(coins, int(data[1 + n])))
"""
JS_COINS = """const d = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/).map(Number);
const n = d[0], coins = d.slice(1, 1 + n), amount = d[1 + n];
const best = new Array(amount + 1).fill(amount + 1);
best[0] = 0;
for (let v = 1; v <= amount; v++)
  for (const c of coins) if (c <= v && best[v - c] + 1 < best[v]) best[v] = best[v - c] + 1;
console.log(best[amount] <= amount ? best[amount] : -1);
"""
PY_LIS = """import bisect
import sys


def solve(nums):
    tails = []
    for x in nums:
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
        else:
            tails[k] = x
    return len(tails)


data = sys.stdin.read().split()
n = int(data[0])
print(solve([int(x) for x in data[1 : 1 + n]]))
"""
JS_LIS = """const d = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/).map(Number);
const n = d[0], tails = [];
for (let i = 1; i <= n; i++) {
  const x = d[i];
  let lo = 0, hi = tails.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tails[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  tails[lo] = x;
}
console.log(tails.length);
"""


def _run(code: str, stdin: str) -> str:
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<reference>", "exec"), {"__name__": "__main__"})
    finally:
        sys.stdin = old
    return out.getvalue().strip()


def problem(**fields: Any) -> dict[str, Any]:
    reference = fields["reference"]
    tests = []
    for n, (stdin, hidden) in enumerate(fields.pop("inputs")):
        name = f"{'hidden' if hidden else 'test'} {n + 1}"
        tests.append(
            {
                "name": name,
                "input": stdin,
                "output": _run(reference["python"], stdin),
                "hidden": hidden,
            }
        )
    fields["tests"] = tests
    for example in fields["examples"]:
        got = _run(reference["python"], example["input"])
        assert got == example["output"].strip(), (fields["id"], example, got)
    return fields


def build() -> list[dict[str, Any]]:
    rng = random.Random(25)
    big_nums = rng.sample(range(-(10**9), 10**9), 10000)
    i, j = sorted(rng.sample(range(10000), 2))
    two_sum_big = f"10000\n{' '.join(map(str, big_nums))}\n{big_nums[i] + big_nums[j]}\n"
    parens_big = "".join(rng.choice("([{") for _ in range(5000))
    closing = {"(": ")", "[": "]", "{": "}"}
    parens_big += "".join(closing[c] for c in reversed(parens_big))
    iv = [(s, s + rng.randint(0, 50)) for s in (rng.randint(0, 100000) for _ in range(5000))]
    iv_big = f"{len(iv)}\n" + "\n".join(f"{a} {b}" for a, b in iv) + "\n"
    sub_big = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(50000))
    grid = ["".join(rng.choice("0001") for _ in range(200)) for _ in range(200)]
    grid_big = "200 200\n" + "\n".join(grid) + "\n"
    lis = [rng.randint(-(10**6), 10**6) for _ in range(20000)]
    lis_big = f"{len(lis)}\n{' '.join(map(str, lis))}\n"
    return [
        problem(
            id="two-sum",
            title="Two sum",
            difficulty="easy",
            tags=["arrays", "hash map"],
            statement=(
                "Given an array of integers and a target, print the indices i < j (0-based) of "
                "the two numbers that add up to the target. Exactly one pair does."
            ),
            input_format="n, then n integers, then the target (whitespace-separated)",
            output_format="i and j on one line, separated by a space",
            examples=[
                {"input": "4\n2 7 11 15\n9\n", "output": "0 1", "explanation": "2 + 7 = 9"},
                {"input": "3\n3 2 4\n6\n", "output": "1 2", "explanation": "2 + 4 = 6"},
            ],
            inputs=[
                ("4\n2 7 11 15\n9\n", False),
                ("3\n3 2 4\n6\n", False),
                ("2\n3 3\n6\n", False),
                ("5\n-3 4 3 90 10\n0\n", True),
                ("6\n1 5 9 13 2 8\n21\n", True),
                (two_sum_big, True),
            ],
            limits={"time_ms": 2000, "memory_mb": 256},
            expected_complexity="O(n)",
            key_points=[
                "Store each number's index in a hash map as you scan",
                "For each number look up the complement target minus the number",
                "Linear time O(n) and O(n) extra space",
            ],
            follow_ups=[
                "What is the time and space complexity of your solution?",
                "How would you solve it with O(1) extra space if the array were sorted?",
            ],
            reference={"python": PY_TWO_SUM, "javascript": JS_TWO_SUM},
        ),
        problem(
            id="valid-parentheses",
            title="Valid parentheses",
            difficulty="easy",
            tags=["stack", "strings"],
            statement=(
                "A string holds only the characters ()[]{}. Print true if every bracket is "
                "closed by the same type of bracket in the right order, else false."
            ),
            input_format="the string on one line (it may be empty)",
            output_format="true or false",
            examples=[
                {"input": "()[]{}\n", "output": "true", "explanation": ""},
                {"input": "(]\n", "output": "false", "explanation": "( is closed by ]"},
            ],
            inputs=[
                ("()[]{}\n", False),
                ("(]\n", False),
                ("{[]}\n", False),
                ("([)]\n", True),
                ("\n", True),
                ("((((\n", True),
                ("]\n", True),
                (parens_big + "\n", True),
            ],
            limits={"time_ms": 2000, "memory_mb": 256},
            expected_complexity="O(n)",
            key_points=[
                "Push opening brackets on a stack",
                "A closing bracket must match the top of the stack",
                "The stack must be empty at the end",
                "Linear time O(n) and O(n) space",
            ],
            follow_ups=[
                "What is the time and space complexity?",
                "What if there were only one type of bracket: could you avoid the stack?",
            ],
            reference={"python": PY_PARENS, "javascript": JS_PARENS},
        ),
        problem(
            id="merge-intervals",
            title="Merge intervals",
            difficulty="medium",
            tags=["sorting", "intervals"],
            statement=(
                "Merge all overlapping intervals (touching ones, such as [1,4] and [4,5], "
                "overlap) and print the merged intervals sorted by start."
            ),
            input_format="n, then n lines 'start end' with start <= end",
            output_format="one merged interval per line: 'start end'",
            examples=[
                {
                    "input": "4\n1 3\n2 6\n8 10\n15 18\n",
                    "output": "1 6\n8 10\n15 18",
                    "explanation": "[1,3] and [2,6] overlap",
                },
            ],
            inputs=[
                ("4\n1 3\n2 6\n8 10\n15 18\n", False),
                ("2\n1 4\n4 5\n", False),
                ("1\n5 7\n", True),
                ("3\n6 8\n1 9\n2 4\n", True),
                ("4\n1 2\n3 4\n5 6\n0 0\n", True),
                (iv_big, True),
            ],
            limits={"time_ms": 2000, "memory_mb": 256},
            expected_complexity="O(n log n)",
            key_points=[
                "Sort the intervals by their start",
                "Extend the last merged interval when the next one starts before it ends",
                "Sorting makes it O(n log n) time",
            ],
            follow_ups=[
                "What is the time complexity, and where does it come from?",
                "How would you handle intervals arriving one at a time as a stream?",
            ],
            reference={"python": PY_INTERVALS, "javascript": JS_INTERVALS},
        ),
        problem(
            id="longest-unique-substring",
            title="Longest substring without repeating characters",
            difficulty="medium",
            tags=["sliding window", "hash map", "strings"],
            statement="Print the length of the longest substring with no repeated character.",
            input_format="the string on one line (letters, digits, no spaces; may be empty)",
            output_format="the length",
            examples=[
                {"input": "abcabcbb\n", "output": "3", "explanation": "abc"},
                {"input": "bbbbb\n", "output": "1", "explanation": "b"},
            ],
            inputs=[
                ("abcabcbb\n", False),
                ("bbbbb\n", False),
                ("pwwkew\n", False),
                ("\n", True),
                ("abba\n", True),
                ("dvdf\n", True),
                (sub_big + "\n", True),
            ],
            limits={"time_ms": 2000, "memory_mb": 256},
            expected_complexity="O(n)",
            key_points=[
                "Keep a sliding window of characters with no repeat",
                "Remember the last index of each character in a hash map",
                "Move the window start past the previous occurrence",
                "Linear time O(n)",
            ],
            follow_ups=[
                "What is the time and space complexity?",
                "Why does the window start never move backwards?",
            ],
            reference={"python": PY_SUBSTRING, "javascript": JS_SUBSTRING},
        ),
        problem(
            id="number-of-islands",
            title="Number of islands",
            difficulty="medium",
            tags=["graphs", "depth-first search"],
            statement=(
                "A grid of 1s (land) and 0s (water): print the number of islands, groups of "
                "land cells joined horizontally or vertically."
            ),
            input_format="rows and columns, then each row as a string of 0s and 1s",
            output_format="the number of islands",
            examples=[
                {"input": "3 4\n1100\n0100\n0011\n", "output": "2", "explanation": ""},
            ],
            inputs=[
                ("3 4\n1100\n0100\n0011\n", False),
                ("1 1\n0\n", False),
                ("3 3\n101\n010\n101\n", True),
                ("2 5\n11111\n11111\n", True),
                (grid_big, True),
            ],
            limits={"time_ms": 3000, "memory_mb": 256},
            expected_complexity="O(n^2)",  # rows x columns, both n
            key_points=[
                "Start a search from every unvisited land cell and count the searches",
                "Mark cells as visited so each is explored once",
                "Use an explicit stack or queue to avoid deep recursion",
                "Time O(rows times columns)",
            ],
            follow_ups=[
                "What is the time and space complexity?",
                "What happens to recursion depth on a grid that is all land?",
            ],
            reference={"python": PY_ISLANDS, "javascript": JS_ISLANDS},
        ),
        problem(
            id="coin-change",
            title="Coin change",
            difficulty="medium",
            tags=["dynamic programming"],
            statement=(
                "Given coin values (as many of each as you like) and an amount, print the "
                "fewest coins that make up the amount, or -1 if no combination does."
            ),
            input_format="n, then n coin values, then the amount (0 to 10000)",
            output_format="the fewest coins, or -1",
            examples=[
                {"input": "3\n1 2 5\n11\n", "output": "3", "explanation": "5 + 5 + 1"},
                {"input": "1\n2\n3\n", "output": "-1", "explanation": ""},
            ],
            inputs=[
                ("3\n1 2 5\n11\n", False),
                ("1\n2\n3\n", False),
                ("1\n1\n0\n", False),
                ("3\n2 5 10\n1\n", True),
                ("4\n186 419 83 408\n6249\n", True),
                ("3\n7 13 29\n9999\n", True),
            ],
            limits={"time_ms": 3000, "memory_mb": 256},
            expected_complexity="O(n^2)",  # amount x coins, both n
            key_points=[
                "Greedy by the largest coin does not always give the fewest coins",
                "Dynamic programming over amounts: the best for each value from smaller values",
                "Time O(amount times the number of coins)",
            ],
            follow_ups=[
                "What is the time and space complexity?",
                "Why does taking the largest coin first fail? Give an example.",
            ],
            reference={"python": PY_COINS, "javascript": JS_COINS},
        ),
        problem(
            id="longest-increasing-subsequence",
            title="Longest increasing subsequence",
            difficulty="hard",
            tags=["dynamic programming", "binary search"],
            statement=(
                "Print the length of the longest strictly increasing subsequence of the array "
                "(not necessarily contiguous). n is up to 20 000: quadratic time is too slow."
            ),
            input_format="n, then n integers",
            output_format="the length",
            examples=[
                {"input": "8\n10 9 2 5 3 7 101 18\n", "output": "4", "explanation": "2 3 7 18"},
            ],
            inputs=[
                ("8\n10 9 2 5 3 7 101 18\n", False),
                ("6\n0 1 0 3 2 3\n", False),
                ("7\n7 7 7 7 7 7 7\n", True),
                ("1\n5\n", True),
                (lis_big, True),
            ],
            limits={"time_ms": 2000, "memory_mb": 256},
            expected_complexity="O(n log n)",
            key_points=[
                "Keep the smallest tail of an increasing subsequence of each length",
                "Binary search the position of each number among the tails",
                "Time O(n log n), better than the O(n squared) dynamic programming",
            ],
            follow_ups=[
                "What is the time complexity, and why is the quadratic approach too slow here?",
                "How would you print the subsequence itself, not just its length?",
            ],
            reference={"python": PY_LIS, "javascript": JS_LIS},
        ),
    ]


def main() -> None:
    bank = build()
    (HERE / "problems.json").write_text(json.dumps({"problems": bank}, indent=1) + "\n")
    print(f"wrote {len(bank)} problems to {HERE / 'problems.json'}")


if __name__ == "__main__":
    main()
