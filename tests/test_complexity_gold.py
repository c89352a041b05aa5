"""The complexity gold set's loader (tests/complexity_gold.py): both parts load and validate, a
malformed file is refused, every solution parses. No models, no sandbox, no estimator: no
agreement figure is asserted here, and no sealed item is printed (assertion messages name ids
and counts only)."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.complexity_gold import GOLD_DIR, LABELS, PARTS, GoldError, growth, load


def raw(part: str) -> dict[str, Any]:
    return json.loads((GOLD_DIR / f"{part}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("part", PARTS)
def test_part_loads_with_enough_solutions(part: str) -> None:
    gold = load(part)  # type: ignore[arg-type]
    bank = [s for s in gold.solutions if not s.on_tenant_problem]
    tenant = [s for s in gold.solutions if s.on_tenant_problem]
    assert len(bank) >= 30, len(bank)
    assert len(tenant) >= 8, len(tenant)
    assert len(gold.problems) == 3
    used = {s.problem for s in tenant}
    assert used == {p.id for p in gold.problems}


@pytest.mark.parametrize("part", PARTS)
def test_every_solution_parses(part: str) -> None:
    unparsed = []
    for solution in load(part).solutions:  # type: ignore[arg-type]
        try:
            ast.parse(solution.code)
        except SyntaxError:
            unparsed.append(solution.id)
    assert not unparsed, f"{len(unparsed)} solutions do not parse"


def test_parts_are_disjoint() -> None:
    working, sealed = load("working"), load("sealed")
    assert not {p.id for p in working.problems} & {p.id for p in sealed.problems}
    assert not {s.id for s in working.solutions} & {s.id for s in sealed.solutions}
    assert not {s.code for s in working.solutions} & {s.code for s in sealed.solutions}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_unknown_label_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw("working"))
    doc["solutions"][0]["label"] = "O(n!)"
    with pytest.raises(GoldError, match="label"):
        load("working", write(tmp_path, doc))


def test_unknown_problem_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw("working"))
    doc["solutions"][0]["problem"] = "tenant-not-in-this-part"
    with pytest.raises(GoldError, match="unknown problem"):
        load("working", write(tmp_path, doc))


def test_duplicate_id_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw("working"))
    doc["solutions"][1]["id"] = doc["solutions"][0]["id"]
    with pytest.raises(GoldError, match="duplicate"):
        load("working", write(tmp_path, doc))


def test_tenant_problem_with_reference_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw("working"))
    doc["problems"][0]["reference"] = "print(1)"
    with pytest.raises(GoldError, match="reference"):
        load("working", write(tmp_path, doc))


def test_unknown_part_refused() -> None:
    with pytest.raises(GoldError):
        load("other")  # type: ignore[arg-type]


def test_growth_orders_the_labels() -> None:
    keys = [growth(label) for label in LABELS]
    assert None not in keys
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert growth("O(n^4)") > growth("O(n^3)")  # type: ignore[operator]
    assert growth("not estimated") is None and growth(None) is None
