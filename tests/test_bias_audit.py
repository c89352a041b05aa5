"""Impact ratios by the NYC Local Law 144 method (server/review/bias_audits.py), a pure computation: a
hand-computed fixture that must match exactly, and generated populations of known rates."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction
from itertools import product

import pytest

from server.review.bias_audits import (
    EXCLUDE_BELOW_SHARE,
    FOUR_FIFTHS,
    CategoryRate,
    ImpactRatios,
    Subject,
    impact_ratios,
    median,
)
from server.review.demographics import RACE_ETHNICITY_CATEGORIES, SEX_CATEGORIES, UNKNOWN

F = Fraction


def population(cells: dict[tuple[str, str], tuple[int, int]], seed: int) -> list[Subject]:
    """Subjects per (sex, race) cell: (sessions, how many score high). High scores are 61-100,
    low ones 0-59, and exactly one subject scores 60; with as many highs as lows around it, 60
    is the median and only the highs are above it. Order and exact scores are random."""
    rng = random.Random(seed)
    subjects = [
        Subject(rng.randint(61, 100) if i < high else rng.randint(0, 59), sex, race)
        for (sex, race), (n, high) in cells.items()
        for i in range(n)
    ]
    rng.shuffle(subjects)
    return subjects


def row(result: ImpactRatios, table: str, sex: str | None, race: str | None) -> CategoryRate:
    return next(
        c for c in result.table(table).categories if c.sex == sex and c.race_ethnicity == race
    )


# The fixture, computed by hand (see the figures in the test). 61 sessions; 30 score high,
# 30 low, and one male/white scores exactly 60: the median is 60, and 60 is not above it.
FIXTURE = {
    ("female", "white"): (12, 9),
    ("female", "asian"): (10, 6),
    ("female", "black_or_african_american"): (2, 1),
    ("male", "white"): (14, 7),  # + the one at the median, added below
    ("male", "black_or_african_american"): (10, 3),
    ("male", "asian"): (6, 2),
    ("male", "hispanic_or_latino"): (1, 1),  # 1/61 = 1.6 % < 2 %: excluded
    (UNKNOWN, "white"): (3, 1),
    ("female", UNKNOWN): (2, 0),
}


def fixture_subjects() -> list[Subject]:
    subjects = population(FIXTURE, seed=15)
    return [*subjects, Subject(60, "male", "white")]


def test_the_hand_computed_fixture_matches_exactly() -> None:
    result = impact_ratios(fixture_subjects())
    assert result.sample == 61
    assert result.median == 60

    # Sex. female: 12+10+2+2 = 26 sessions, 9+6+1+0 = 16 above: 8/13 (the highest);
    # male: 15+10+6+1 = 32, 7+3+2+1 = 13 above: 13/32; ratio (13/32)/(8/13) = 169/256 < 0.8.
    sex = result.table("sex")
    assert sex.unknown == 3
    assert sex.highest_rate == F(8, 13)
    female, male = row(result, "sex", "female", None), row(result, "sex", "male", None)
    assert (female.sessions, female.above_median, female.share) == (26, 16, F(26, 61))
    assert (female.scoring_rate, female.impact_ratio, female.excluded) == (F(8, 13), 1, False)
    assert not female.needs_attention
    assert (male.sessions, male.above_median, male.share) == (32, 13, F(32, 61))
    assert (male.scoring_rate, male.impact_ratio) == (F(13, 32), F(169, 256))
    assert male.needs_attention

    # Race/ethnicity. white: 12+15+3 = 30, 9+7+1 = 17 above: 17/30 (the highest of those
    # included); asian 16, 8: 1/2, ratio 15/17; black 12, 4: 1/3, ratio 10/17 < 0.8;
    # hispanic 1 of 61 (rate 1, the highest of all, but excluded); the rest have no sessions.
    race = result.table("race_ethnicity")
    assert race.unknown == 2
    assert race.highest_rate == F(17, 30)
    expected = {
        "white": (30, 17, F(17, 30), F(1), False, False),
        "asian": (16, 8, F(1, 2), F(15, 17), False, False),
        "black_or_african_american": (12, 4, F(1, 3), F(10, 17), False, True),
        "hispanic_or_latino": (1, 1, F(1), None, True, False),
        "native_hawaiian_or_other_pacific_islander": (0, 0, None, None, True, False),
        "american_indian_or_alaska_native": (0, 0, None, None, True, False),
        "two_or_more_races": (0, 0, None, None, True, False),
    }
    for category, figures in expected.items():
        c = row(result, "race_ethnicity", None, category)
        got = (
            c.sessions,
            c.above_median,
            c.scoring_rate,
            c.impact_ratio,
            c.excluded,
            c.needs_attention,
        )
        assert got == figures, category
        assert c.share == F(c.sessions, 61)

    # Intersections: female/white 3/4 is the highest; female/asian (3/5)/(3/4) = 4/5 exactly,
    # which is NOT under 0.8 (in floats 0.6/0.75 = 0.7999999999999999 would be flagged): the
    # ratios are fractions, and the one on the boundary is the rule's own threshold.
    inter = result.table("intersectional")
    on_boundary = row(result, "intersectional", "female", "asian")
    assert type(on_boundary.impact_ratio) is F and on_boundary.impact_ratio == FOUR_FIFTHS
    assert not on_boundary.needs_attention
    assert inter.unknown == 5  # 3 of unknown sex + 2 of unknown race
    assert inter.highest_rate == F(3, 4)
    assert len(inter.categories) == len(SEX_CATEGORIES) * len(RACE_ETHNICITY_CATEGORIES)
    expected_inter = {
        ("female", "white"): (12, 9, F(3, 4), F(1), False),
        ("female", "asian"): (10, 6, F(3, 5), F(4, 5), False),
        ("female", "black_or_african_american"): (2, 1, F(1, 2), F(2, 3), True),
        ("male", "white"): (15, 7, F(7, 15), F(28, 45), True),
        ("male", "black_or_african_american"): (10, 3, F(3, 10), F(2, 5), True),
        ("male", "asian"): (6, 2, F(1, 3), F(4, 9), True),
    }
    for (sex_name, race_name), cell in expected_inter.items():
        c = row(result, "intersectional", sex_name, race_name)
        found = (c.sessions, c.above_median, c.scoring_rate, c.impact_ratio, c.needs_attention)
        assert found == cell, (sex_name, race_name)
        assert not c.excluded
    hispanic_men = row(result, "intersectional", "male", "hispanic_or_latino")
    assert hispanic_men.excluded and hispanic_men.impact_ratio is None
    empty = [c for c in inter.categories if c.sessions == 0]
    assert len(empty) == 7 and all(c.excluded and c.scoring_rate is None for c in empty)
    assert all(type(c.impact_ratio) is F for c in inter.categories if not c.excluded)

    flagged = [(table, c.sex, c.race_ethnicity) for table, c in result.needs_attention]
    assert flagged == [
        ("sex", "male", None),
        ("race_ethnicity", None, "black_or_african_american"),
        ("intersectional", "female", "black_or_african_american"),
        ("intersectional", "male", "white"),
        ("intersectional", "male", "black_or_african_american"),
        ("intersectional", "male", "asian"),
    ]


def test_two_percent_is_of_the_whole_sample_and_the_boundary_is_kept() -> None:
    # 100 sessions: a category of exactly 2 is kept (2 % is not under 2 %), 1 is excluded.
    cells = {
        ("female", "white"): (49, 25),
        ("male", "white"): (48, 24),
        ("male", "asian"): (2, 0),
        ("female", "asian"): (1, 1),
    }
    # 50 high, 50 low: the median lies between 59 and 61.
    result = impact_ratios(population(cells, seed=3))
    assert F(2, 100) == EXCLUDE_BELOW_SHARE
    assert not row(result, "intersectional", "male", "asian").excluded
    assert row(result, "intersectional", "male", "asian").impact_ratio == 0
    assert row(result, "intersectional", "female", "asian").excluded


def expected_from_design(
    cells: dict[tuple[str, str], tuple[int, int]],
) -> dict[str, dict[tuple[str | None, str | None], tuple[int, int]]]:
    """(sessions, above) per category of each table, straight from the design."""
    tables: dict[str, Counter[tuple[str | None, str | None]]] = {}
    above: dict[str, Counter[tuple[str | None, str | None]]] = {}
    for table in ("sex", "race_ethnicity", "intersectional"):
        tables[table], above[table] = Counter(), Counter()
    for (sex, race), (n, high) in cells.items():
        keys = {
            "sex": (sex, None),
            "race_ethnicity": (None, race),
            "intersectional": (sex, race),
        }
        for table, key in keys.items():
            if UNKNOWN in (k for k in key if k is not None):
                continue
            tables[table][key] += n
            above[table][key] += high
    return {t: {k: (tables[t][k], above[t][k]) for k in tables[t]} for t in tables}


@pytest.mark.parametrize("seed", range(6))
def test_generated_populations_give_their_designed_rates(seed: int) -> None:
    """Random designs: per cell a size and a number scoring high; a balancing cell of unknowns
    makes highs and lows equal, so the median splits them and every designed rate is exact."""
    rng = random.Random(seed)
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for sex, race in product(SEX_CATEGORIES, RACE_ETHNICITY_CATEGORIES):
        n = rng.choice([0, 1, 3, rng.randint(5, 400)])
        cells[(sex, race)] = (n, rng.randint(0, n))
    for sex, race in ((UNKNOWN, "white"), ("male", UNKNOWN), (UNKNOWN, UNKNOWN)):
        n = rng.randint(0, 60)
        cells[(sex, race)] = (n, rng.randint(0, n))
    highs = sum(h for _, h in cells.values())
    lows = sum(n - h for n, h in cells.values())
    balance = abs(highs - lows) + 2 * rng.randint(0, 20)
    extra_high = (balance + lows - highs) // 2
    cells[(UNKNOWN, "asian")] = (balance, extra_high)
    total = sum(n for n, _ in cells.values())
    subjects = [*population(cells, seed), Subject(60)]  # the one at the median: unknown
    total += 1

    result = impact_ratios(subjects)
    assert result.sample == total and result.median == 60
    design = expected_from_design(cells)
    for table in result.tables:
        counted = {
            (c.sex, c.race_ethnicity): (c.sessions, c.above_median)
            for c in table.categories
            if c.sessions
        }
        assert counted == {k: v for k, v in design[table.dimension].items() if v[0]}
        assert table.unknown == total - sum(n for n, _ in design[table.dimension].values())
        kept = {
            key: F(hits, n)
            for key, (n, hits) in design[table.dimension].items()
            if n and F(n, total) >= F(2, 100)
        }
        highest = max(kept.values()) if kept else None
        assert table.highest_rate == highest
        for c in table.categories:
            key = (c.sex, c.race_ethnicity)
            if key in kept:
                ratio = kept[key] / highest if highest else None
                assert (c.scoring_rate, c.impact_ratio) == (kept[key], ratio)
                assert c.needs_attention == (ratio is not None and ratio < FOUR_FIFTHS)
                assert not c.excluded
            else:
                assert c.excluded and c.impact_ratio is None and not c.needs_attention


def test_a_population_built_around_the_four_fifths_rule() -> None:
    """Known rates: women 50 %, men 40 % (ratio 0.8: kept), Asian 60 %, white 45 % (0.75:
    flagged), with continuous scores drawn by rank so the median splits them exactly."""
    cells = {
        ("female", "asian"): (300, 180),
        ("female", "white"): (700, 320),
        ("male", "asian"): (200, 120),
        ("male", "white"): (800, 280),
    }
    # female 1000, 500 above: 1/2; male 1000, 400 above: 2/5 -> (2/5)/(1/2) = 4/5.
    # asian 500, 300: 3/5; white 1500, 600: 2/5 -> (2/5)/(3/5) = 2/3.
    # highs 900, lows 1100: balance with 200 high unknowns.
    cells[(UNKNOWN, UNKNOWN)] = (200, 200)
    result = impact_ratios([*population(cells, seed=44), Subject(60)])
    assert row(result, "sex", "female", None).scoring_rate == F(1, 2)
    assert row(result, "sex", "male", None).impact_ratio == FOUR_FIFTHS
    assert not row(result, "sex", "male", None).needs_attention
    assert row(result, "race_ethnicity", None, "white").impact_ratio == F(2, 3)
    assert row(result, "race_ethnicity", None, "white").needs_attention
    assert result.table("sex").unknown == 201


def test_ties_at_the_median_are_not_above_it_and_no_sample_gives_no_figures() -> None:
    same = impact_ratios([Subject(70, "female", "white"), Subject(70, "male", "white")] * 10)
    assert same.median == 70
    assert all(c.above_median == 0 for t in same.tables for c in t.categories)
    assert same.table("sex").highest_rate == 0
    assert all(c.impact_ratio is None for t in same.tables for c in t.categories)
    assert same.needs_attention == []

    empty = impact_ratios([])
    assert empty.sample == 0 and empty.median is None
    assert all(c.scoring_rate is None and c.excluded for t in empty.tables for c in t.categories)

    assert median([1, 2, 3, 4]) == F(5, 2)
    assert median([3, 1, 2]) == 2
    assert median([0.5, 1]) == F(3, 4)
