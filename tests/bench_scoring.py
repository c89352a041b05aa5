"""Scoring benchmark: agreement with the labelled gold sets, resistance to gaming, and cost.

Two gold sets: `tests/gold/scoring.json` (the first, 6 questions x 4 answers of clearly different
quality) and `tests/gold/substance.json` (24 bank questions x 7-8 answers written around the traps
that fool a scorer; labelling procedure in docs/scoring.md). For the second, per interview type and
per split (calibration: the thresholds were fitted on it; held_out: never used for fitting):

- pairwise: among two answers to the same question with different labels, how often the higher
  label has the higher score;
- Spearman: rank correlation of labels and scores, all answers of the type pooled;
- MAE: mean distance, in rating steps, between the anchored 1-5 rating and the label's anchor
  (label 0 -> 1, 1 -> 2, 2 -> 3, 3 -> 4 or 5).

Adversarial variants of every gold answer (filler padding, the question's keywords appended,
buzzwords appended, the answer said twice) must not score above their source; each strong answer
cut down to the sentences that carry its key points must stay at least adequate (rating 3).

The substance set's labels come from two independent passes (docs/scoring.md): `label_agreement`
compares any two of them (the author's `first` and `second`, the `independent` one, the adjudicated
`label`): exact, within one step, and Cohen's kappa with quadratic weights.

`run()` returns (metric, value) rows for `make bench`; the tests use the functions too.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from models.embedding import shared_embedder
from pipeline.engine import Question
from pipeline.interview import bank
from pipeline.interview.analysis import Embedder, analyse, sentences
from pipeline.interview.rubric import score_answer
from pipeline.interview.vocabulary import FUNCTION_WORDS

GOLD_DIR = Path(__file__).resolve().parent / "gold"
GOLD = GOLD_DIR / "scoring.json"
SUBSTANCE = GOLD_DIR / "substance.json"
TYPES = ("behavioral", "technical", "system_design", "k12")
SPLITS = ("calibration", "held_out")
ADEQUATE = 45  # the lowest score rated 3 ("adequate")

Scorer = Callable[[Question, str], int]


@dataclass(frozen=True)
class GoldResult:
    question: str
    labels: tuple[int, ...]
    scores: tuple[int, ...]
    kind: str = ""  # interview type (substance set)
    split: str = ""
    answer_kinds: tuple[str, ...] = ()

    def pairs(self) -> tuple[int, int]:
        """(correctly ordered pairs, pairs) among answers with different labels."""
        right = total = 0
        for (l1, s1), (l2, s2) in combinations(zip(self.labels, self.scores, strict=True), 2):
            if l1 != l2:
                total += 1
                right += (s1 - s2) * (l1 - l2) > 0
        return right, total


@dataclass(frozen=True)
class GoldItem:
    question: Question
    kind: str
    split: str
    answers: tuple[tuple[int, str, str], ...]  # (label, answer kind, text)
    core: str  # the strong answer cut down to the sentences carrying its key points


def default_scorer(embedder: Embedder) -> Scorer:
    def score(question: Question, text: str) -> int:
        return score_answer(analyse(question, text, embedder), question.time_limit_s).score

    return score


class SentenceMemo:
    """The embedder, each text embedded once: a gamed variant is its source's sentences plus a
    few, so checking hundreds of variants embeds each shared sentence once, not once per variant
    (the suite's gaming test: minutes less). The vectors are the model's; only batch padding
    differs (float rounding). The bench scores with the embedder itself."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.version = inner.version
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing), strict=True))
        if not texts:
            return np.asarray(self.inner.embed([]), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


# -- the first gold set ------------------------------------------------------------------------


def gold_questions() -> list[tuple[Question, list[tuple[int, str]]]]:
    items = json.loads(GOLD.read_text())["items"]
    loaded = []
    for n, item in enumerate(items):
        q = item["question"]
        question = Question(
            id=f"gold{n}",
            text=q["text"],
            time_limit_s=q["time_limit_s"],
            style=q["style"],
            key_points=tuple(q["key_points"]),
        )
        loaded.append((question, [(a["label"], a["text"]) for a in item["answers"]]))
    return loaded


def gold_agreement(embedder: Embedder, scorer: Scorer | None = None) -> list[GoldResult]:
    score = scorer or default_scorer(embedder)
    results = []
    for question, answers in gold_questions():
        scores = tuple(score(question, text) for _, text in answers)
        results.append(GoldResult(question.text, tuple(label for label, _ in answers), scores))
    return results


# -- the substance gold set --------------------------------------------------------------------


def bank_question(text: str, n: int = 0) -> Question:
    """A bank question as the planner builds it (same key points, style and time limit)."""
    found = next((q for q in bank.BANK if q.text == text), None)
    if found is None:
        raise KeyError(f"not a bank question: {text!r}")
    return Question(
        id=f"sub{n}",
        text=found.text,
        time_limit_s=found.time_limit_s,
        skill=found.skill,
        source="bank",
        style=found.style,
        key_points=found.key_points,
    )


def substance_items() -> list[GoldItem]:
    items = json.loads(SUBSTANCE.read_text())["items"]
    loaded = []
    for n, item in enumerate(items):
        strong = next(a for a in item["answers"] if "core" in a)
        parts = sentences(strong["text"])
        loaded.append(
            GoldItem(
                question=bank_question(item["question"], n),
                kind=item["type"],
                split=item["split"],
                answers=tuple((a["label"], a["kind"], a["text"]) for a in item["answers"]),
                core=" ".join(parts[i] for i in strong["core"]),
            )
        )
    return loaded


def substance_agreement(scorer: Scorer, items: list[GoldItem] | None = None) -> list[GoldResult]:
    results = []
    for item in items if items is not None else substance_items():
        results.append(
            GoldResult(
                item.question.text,
                tuple(label for label, _, _ in item.answers),
                tuple(scorer(item.question, text) for _, _, text in item.answers),
                item.kind,
                item.split,
                tuple(kind for _, kind, _ in item.answers),
            )
        )
    return results


def rating(score: int) -> int:
    from pipeline.interview.rubric import _rating

    return _rating(score)


def anchor_error(label: int, score: int) -> int:
    """Rating steps between the score's anchored rating and the label's anchor(s)."""
    low, high = {0: (1, 1), 1: (2, 2), 2: (3, 3), 3: (4, 5)}[label]
    r = rating(score)
    return max(low - r, 0, r - high)


def spearman(labels: Iterable[int], scores: Iterable[int]) -> float:
    x, y = _ranks(list(labels)), _ranks(list(scores))
    if np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(values: list[int]) -> np.ndarray:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = np.zeros(len(values))
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


@dataclass(frozen=True)
class Agreement:
    pairwise: float
    pairs: tuple[int, int]
    spearman: float
    mae: float
    answers: int


def agreement(results: list[GoldResult]) -> Agreement:
    right = sum(r.pairs()[0] for r in results)
    total = sum(r.pairs()[1] for r in results)
    labels = [label for r in results for label in r.labels]
    scores = [s for r in results for s in r.scores]
    errors = [anchor_error(label, s) for label, s in zip(labels, scores, strict=True)]
    return Agreement(
        right / total if total else 1.0,
        (right, total),
        spearman(labels, scores),
        sum(errors) / len(errors) if errors else 0.0,
        len(labels),
    )


def breakdown(results: list[GoldResult]) -> dict[str, Agreement]:
    """Agreement per split, per interview type within each split, and overall."""
    out: dict[str, Agreement] = {"all": agreement(results)}
    for split in SPLITS:
        mine = [r for r in results if r.split == split]
        out[split] = agreement(mine)
        for kind in TYPES:
            out[f"{split}/{kind}"] = agreement([r for r in mine if r.kind == kind])
    for kind in TYPES:
        out[kind] = agreement([r for r in results if r.kind == kind])
    return out


# -- the labels: agreement between labelling passes -------------------------------------------


@dataclass(frozen=True)
class LabelAgreement:
    answers: int
    exact: float
    within_one: float
    kappa: float  # Cohen's, quadratic weights (the labels are ordinal, 0-3)
    disagreements: tuple[tuple[int, int, int, int], ...]  # (question, answer, first, second)


def weighted_kappa(first: list[int], second: list[int], levels: int = 4) -> float:
    """Cohen's kappa with quadratic weights: 1 is perfect agreement, 0 what chance gives."""
    n = len(first)
    observed = np.zeros((levels, levels))
    for a, b in zip(first, second, strict=True):
        observed[a, b] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    grid = np.arange(levels)
    weights = (grid[:, None] - grid[None, :]) ** 2 / (levels - 1) ** 2
    chance = float((weights * expected).sum())
    return 1.0 - float((weights * observed).sum()) / chance if chance else 1.0


def _pass(answer: dict[str, object], name: str) -> int:
    """One labelling pass of a gold answer: `first` and `second` are the author's two passes,
    `independent` the blind second labeller's, `label` the adjudicated one."""
    passes = answer["passes"]
    assert isinstance(passes, list)
    value = {"first": passes[0], "second": passes[1]}.get(name, answer.get(name))
    assert isinstance(value, int)
    return value


def label_agreement(first: str = "first", second: str = "independent") -> LabelAgreement:
    items = json.loads(SUBSTANCE.read_text())["items"]
    pairs = [
        (qi, ai, _pass(a, first), _pass(a, second))
        for qi, item in enumerate(items)
        for ai, a in enumerate(item["answers"])
    ]
    x, y = [p[2] for p in pairs], [p[3] for p in pairs]
    return LabelAgreement(
        len(pairs),
        sum(a == b for a, b in zip(x, y, strict=True)) / len(pairs),
        sum(abs(a - b) <= 1 for a, b in zip(x, y, strict=True)) / len(pairs),
        weighted_kappa(x, y),
        tuple(p for p in pairs if p[2] != p[3]),
    )


# -- adversarial variants ----------------------------------------------------------------------

FILLER_OPEN = (
    "That's a really good question, and honestly it's something I've thought about a lot over "
    "the years, in different teams and different kinds of situations."
)
FILLER_CLOSE = (
    "Overall I think it comes down to communication, teamwork and a positive attitude, making "
    "sure everyone is on the same page, and always keeping the bigger picture in mind."
)
BUZZWORDS = (
    "We leverage scalable, cloud-native, data-driven best practices, agile synergy, "
    "microservices, Kubernetes, Kafka, Redis, machine learning and CI/CD for end-to-end "
    "ownership and impact."
)
_STOP = FUNCTION_WORDS | {"tell"}


def question_keywords(question: Question) -> str:
    kept = [w for w in re.findall(r"[a-z0-9]+", question.text.lower()) if w not in _STOP]
    return " ".join(dict.fromkeys(kept))


def variants(question: Question, answer: str) -> dict[str, str]:
    """Gamed versions of an answer, none of which says anything new."""
    return {
        "filler": f"{FILLER_OPEN} {answer} {FILLER_CLOSE}",
        "question keywords": f"{answer} {question_keywords(question)}.",
        "buzzwords": f"{answer} {BUZZWORDS}",
        "said twice": f"{answer} {answer}",
    }


@dataclass(frozen=True)
class Gaming:
    checked: int
    raised: list[tuple[str, str, int, int]]  # (question, variant, source score, variant score)
    shortened: list[tuple[str, int]]  # (question, score) of each cut-down strong answer
    max_raise: int

    @property
    def shortened_below_adequate(self) -> list[tuple[str, int]]:
        return [(q, s) for q, s in self.shortened if s < ADEQUATE]


def gaming(
    scorer: Scorer,
    items: list[GoldItem] | None = None,
    extra: Callable[[str], dict[str, str]] | None = None,
) -> Gaming:
    """Every answer and its gamed variants; `extra` replaces the variants with another set."""
    raised: list[tuple[str, str, int, int]] = []
    checked = 0
    worst = 0
    shortened = []
    for item in items if items is not None else substance_items():
        for _, _, text in item.answers:
            source = scorer(item.question, text)
            versions = extra(text) if extra else variants(item.question, text)
            for name, variant in versions.items():
                gamed = scorer(item.question, variant)
                checked += 1
                worst = max(worst, gamed - source)
                if gamed > source:
                    raised.append((item.question.text[:50], name, source, gamed))
        shortened.append((item.question.text[:50], scorer(item.question, item.core)))
    return Gaming(checked, raised, shortened, worst)


# -- cost ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float
    cold_max_ms: float  # the first answer to a question: its key points embedded too


def timing(scorer: Scorer, items: list[GoldItem], rounds: int = 2) -> Timing:
    """Milliseconds to score one answer (analysis + rubric), on this machine as it is: each
    answer as if new (none of its sentences embedded before; the live reply at a pause embeds
    most of them ahead, so this is the cost without that head start)."""
    from pipeline.interview import analysis

    answers = [(item.question, text) for item in items for _, _, text in item.answers]
    scorer(*answers[0])  # the model's first call
    cold = []
    for item in items:  # each question's first answer, with nothing cached
        analysis._REFERENCES.clear()
        analysis._UNITS.clear()
        started = time.perf_counter()
        scorer(item.question, item.answers[0][2])
        cold.append(1000 * (time.perf_counter() - started))
    took = []
    for _ in range(rounds):
        for question, text in answers:
            analysis._UNITS.clear()
            started = time.perf_counter()
            scorer(question, text)
            took.append(1000 * (time.perf_counter() - started))
    took.sort()
    return Timing(statistics.median(took), took[int(0.95 * (len(took) - 1))], max(cold))


def _fmt(a: Agreement) -> str:
    right, total = a.pairs
    return (
        f"pairwise {right}/{total} = {a.pairwise:.3f}, Spearman {a.spearman:.3f}, "
        f"MAE {a.mae:.2f} ({a.answers} answers)"
    )


# The embedding model's first load, as a server's start or a first report pays it: a fresh
# Python process imports sentence-transformers (and torch) and reads the weights. In the bench's
# own process the model is loaded already (the registry's), so timing it there measures nothing.
FIRST_LOAD = (
    "import time; started = time.perf_counter(); "
    "from models.embedding import SentenceEmbedder; SentenceEmbedder(); "
    "print(time.perf_counter() - started)"
)
FIRST_LOAD_RUNS = 3


def embedder_first_loads() -> list[float]:
    """Seconds of each first load, in its own process (the files may be in the OS page cache:
    a load after a reboot reads them from disk too)."""
    root = Path(__file__).resolve().parent.parent
    times = []
    for _ in range(FIRST_LOAD_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", FIRST_LOAD], cwd=root, capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.split()[-1]))
    return times


def run() -> list[tuple[str, str]]:
    loads = embedder_first_loads()
    embedder = shared_embedder()
    scorer = default_scorer(embedder)
    first = gold_agreement(embedder, scorer)
    right = sum(r.pairs()[0] for r in first)
    total = sum(r.pairs()[1] for r in first)
    items = substance_items()
    results = substance_agreement(scorer, items)
    parts = breakdown(results)
    game = gaming(scorer, items)
    took = timing(scorer, items)
    rows = [
        ("scoring: gold pairwise accuracy", f"{right}/{total} = {100 * right / total:.1f} %"),
        ("scoring: gold set", f"{len(first)} questions x {len(first[0].scores)} answers"),
        ("scoring: substance set", f"{len(items)} questions, {parts['all'].answers} answers"),
    ]
    for author in ("first", "second"):
        labels = label_agreement(author, "independent")
        rows.append(
            (
                f"scoring: substance labels, author's {author} pass vs independent pass",
                f"exact {100 * labels.exact:.1f} %, within one {100 * labels.within_one:.1f} %, "
                f"weighted kappa {labels.kappa:.3f} ({labels.answers} answers)",
            )
        )
    for key in ("all", *SPLITS, *TYPES, *(f"{s}/{k}" for s in SPLITS for k in TYPES)):
        rows.append((f"scoring: substance {key}", _fmt(parts[key])))
    rows += [
        (
            "scoring: gamed variants scored above their source",
            f"{len(game.raised)}/{game.checked} (largest rise {game.max_raise})",
        ),
        (
            "scoring: shortened strong answers below adequate",
            f"{len(game.shortened_below_adequate)}/{len(game.shortened)}",
        ),
        (
            "scoring: embedding model first load (fresh process: imports + weights)",
            f"median {statistics.median(loads):.1f} s "
            f"({', '.join(f'{s:.1f}' for s in loads)} s in {len(loads)} processes)",
        ),
        (
            "scoring: one answer (analysis + rubric)",
            f"median {took.median_ms:.1f} ms, p95 {took.p95_ms:.1f} ms, "
            f"first answer to a question at most {took.cold_max_ms:.1f} ms",
        ),
    ]
    from tests import bench_tenant  # it reads this module's measures

    # The independent gaming set (tests/bench_tenant.py: padding in other words, repeats
    # reordered, dropped names) on the catalogue questions, as measured.
    independent = gaming(scorer, items, extra=bench_tenant.gamed)
    rows.append(
        (
            "scoring: independent gamed variants scored above their source (catalogue)",
            f"{len(independent.raised)}/{independent.checked} "
            f"(largest rise {independent.max_raise}; by variant: "
            f"{_by_variant(independent.raised)})",
        )
    )
    rows += bench_tenant.rows(embedder)
    return rows


def _by_variant(raised: list[tuple[str, str, int, int]]) -> str:
    counts: dict[str, int] = {}
    for _, name, _, _ in raised:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"


if __name__ == "__main__":
    for metric, value in run():
        print(f"{metric}: {value}")
