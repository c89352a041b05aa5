"""Bias audit by the NYC Local Law 144 method (6 RCNY § 5-301), a pure computation.

For a tool that scores candidates, per category (sex; race/ethnicity; and each intersection of
the two):
- scoring rate: the share of the category's candidates whose score is above the median score of
  the whole sample (strictly above; unknowns are in the sample and its median);
- impact ratio: the category's scoring rate / the highest scoring rate among the categories of
  the same table that are not excluded;
- a category with under 2 % of the sample is excluded from the ratios (shown, with its rate);
- candidates whose category is unknown are counted apart, never a category of their own;
- a ratio under 0.8 (the EEOC's four-fifths rule) needs attention;
- small cells are suppressed, as statistical disclosure practice does (issue 24, #7: a narrow
  window once showed one candidate's categories): a category (or the unknowns) with fewer than
  `min_group` sessions but some is `suppressed`, its figures not to be shown, and left out of the
  ratios; when a table would hide a single cell, the next smallest is hidden too, so that no
  total gives it back by subtraction.

Exact arithmetic (fractions): the same sample always gives the same figures, and a hand-computed
fixture matches to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

from server.review.demographics import RACE_ETHNICITY_CATEGORIES, SEX_CATEGORIES, UNKNOWN

EXCLUDE_BELOW_SHARE = Fraction(2, 100)  # of the sample: excluded from the impact ratios
FOUR_FIFTHS = Fraction(4, 5)  # an impact ratio under this needs attention
DIMENSIONS = ("sex", "race_ethnicity", "intersectional")


@dataclass(frozen=True)
class Subject:
    """One scored session of the sample: its overall score and self-reported categories."""

    score: float
    sex: str = UNKNOWN
    race_ethnicity: str = UNKNOWN


@dataclass(frozen=True)
class CategoryRate:
    sex: str | None  # None in the race/ethnicity table
    race_ethnicity: str | None  # None in the sex table
    sessions: int
    above_median: int
    share: Fraction  # of the whole sample
    scoring_rate: Fraction | None  # None without sessions
    excluded: bool  # under 2 % of the sample: no impact ratio
    impact_ratio: Fraction | None  # None when excluded, or when the highest rate is 0
    needs_attention: bool  # impact ratio < 0.8
    suppressed: bool = False  # fewer than `min_group` sessions (but some): not to be shown


@dataclass(frozen=True)
class Table:
    dimension: str  # sex | race_ethnicity | intersectional
    categories: tuple[CategoryRate, ...]
    unknown: int  # sessions whose category (either part, for an intersection) is unknown
    highest_rate: Fraction | None  # the ratios' denominator
    unknown_suppressed: bool = False  # `unknown` is a small cell: not to be shown


@dataclass(frozen=True)
class ImpactRatios:
    sample: int
    median: Fraction | None
    tables: tuple[Table, ...]  # sex, race_ethnicity, intersectional

    def table(self, dimension: str) -> Table:
        return next(t for t in self.tables if t.dimension == dimension)

    @property
    def needs_attention(self) -> list[tuple[str, CategoryRate]]:
        return [(t.dimension, c) for t in self.tables for c in t.categories if c.needs_attention]


def median(scores: Sequence[float]) -> Fraction | None:
    """The sample median, exactly (the mean of the two middle scores for an even count)."""
    if not scores:
        return None
    ordered = sorted(Fraction(s) for s in scores)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def impact_ratios(
    subjects: Sequence[Subject],
    *,
    sexes: Sequence[str] = SEX_CATEGORIES,
    races: Sequence[str] = RACE_ETHNICITY_CATEGORIES,
    min_group: int = 1,
) -> ImpactRatios:
    mid = median([s.score for s in subjects])
    above = [mid is not None and Fraction(s.score) > mid for s in subjects]
    total = len(subjects)
    keyed = list(zip(subjects, above, strict=True))

    def rows(keys: list[tuple[str | None, str | None]]) -> list[tuple[int, int]]:
        """(sessions, above the median) of each category."""
        counts = []
        for sex, race in keys:
            members = [
                hit
                for s, hit in keyed
                if (sex is None or s.sex == sex) and (race is None or s.race_ethnicity == race)
            ]
            counts.append((len(members), sum(members)))
        return counts

    sex_keys: list[tuple[str | None, str | None]] = [(sex, None) for sex in sexes]
    race_keys: list[tuple[str | None, str | None]] = [(None, race) for race in races]
    both: list[tuple[str | None, str | None]] = list(product(sexes, races))
    unknown_sex = sum(s.sex == UNKNOWN for s in subjects)
    unknown_race = sum(s.race_ethnicity == UNKNOWN for s in subjects)
    unknown_either = sum(UNKNOWN in (s.sex, s.race_ethnicity) for s in subjects)
    tables = (
        _table("sex", sex_keys, rows(sex_keys), unknown_sex, total, min_group),
        _table("race_ethnicity", race_keys, rows(race_keys), unknown_race, total, min_group),
        _table("intersectional", both, rows(both), unknown_either, total, min_group),
    )
    return ImpactRatios(sample=total, median=mid, tables=tables)


def _table(
    dimension: str,
    keys: list[tuple[str | None, str | None]],
    counts: list[tuple[int, int]],
    unknown: int,
    total: int,
    min_group: int = 1,
) -> Table:
    shares = [Fraction(n, total) if total else Fraction(0) for n, _ in counts]
    rates = [Fraction(hits, n) if n else None for n, hits in counts]
    hidden = suppressed_cells([n for n, _ in counts] + [unknown], min_group)
    excluded = [
        share < EXCLUDE_BELOW_SHARE or out for share, out in zip(shares, hidden[:-1], strict=True)
    ]
    included = [r for r, out in zip(rates, excluded, strict=True) if not out and r is not None]
    highest = max(included) if included else None
    categories = []
    for (sex, race), (n, hits), share, rate, out, secret in zip(
        keys, counts, shares, rates, excluded, hidden[:-1], strict=True
    ):
        ratio = None if out or rate is None or not highest else rate / highest
        categories.append(
            CategoryRate(
                sex=sex,
                race_ethnicity=race,
                sessions=n,
                above_median=hits,
                share=share,
                scoring_rate=rate,
                excluded=out,
                impact_ratio=ratio,
                needs_attention=ratio is not None and ratio < FOUR_FIFTHS,
                suppressed=secret,
            )
        )
    return Table(dimension, tuple(categories), unknown, highest, hidden[-1])


def suppressed_cells(sizes: Sequence[int], min_group: int) -> list[bool]:
    """Which cells of a table (its categories' sizes, then the unknowns') are hidden: those with
    fewer than `min_group` sessions but some; and when that is a single cell, the next smallest
    non-empty one too (complementary suppression: the sample's size would give it back)."""
    hidden = [0 < n < min_group for n in sizes]
    if sum(hidden) == 1:
        shown = [(n, i) for i, n in enumerate(sizes) if n and not hidden[i]]
        if shown:
            hidden[min(shown)[1]] = True
    return hidden
