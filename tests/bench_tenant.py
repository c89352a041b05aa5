"""Scoring on tenants' own questions: the tenant gold set, in a working and a sealed half.

`tests/gold/tenant.json` (working) and `tests/gold/tenant_sealed.json` (sealed) hold questions
written as tenants write them (behavioural, technical, system design, K-12, sales, support and
other roles), each with labelled answers around the traps, and the tenant's own key points (and
for some an ideal answer). The halves were split before the scorer was changed for them. The
working half is read item by item while the scorer is changed; the sealed half never is: this
module prints only its aggregate figures, never its items nor its misordered pairs.

Each question is scored three ways, as a tenant may write it: without key points (the question's
own structure and relevance), with the tenant's key points, and with only its ideal answer (where
it wrote one). Per half and way: pairwise ordering, Spearman, MAE (tests/bench_scoring.py's
measures); answers labelled adequate or better that are scored off-topic; and the interviewer's
"bring us back to the question" replies to them, from the structured engine itself.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.engine import InterviewPlan, Question, Turn
from pipeline.interview.analysis import Embedder, analyse
from pipeline.interview.followups import PROBES
from pipeline.interview.planning import custom_style
from pipeline.interview.rubric import score_answer
from pipeline.interview.structured import StructuredEngine
from tests.bench_scoring import Agreement, GoldResult, agreement

GOLD_DIR = Path(__file__).resolve().parent / "gold"
HALVES = {"working": GOLD_DIR / "tenant.json", "sealed": GOLD_DIR / "tenant_sealed.json"}
WAYS = ("no_key_points", "key_points", "ideal_answer")
ADEQUATE_LABEL = 2
# The interview's default answer style for a category, as the tenant's interview type sets it.
_DEFAULT_STYLE = {"technical": "technical", "system_design": "technical", "k12": "explanation"}


@dataclass(frozen=True)
class TenantItem:
    id: str
    category: str
    skill: str
    question: Question  # without key points
    key_points: tuple[str, ...]
    ideal_answer: str
    answers: tuple[tuple[int, str, str], ...]  # (label, kind, text)

    def asked(self, way: str) -> Question | None:
        """The question as a tenant wrote it: bare, with its key points, or its ideal answer."""
        if way == "no_key_points":
            return self.question
        if way == "key_points":
            return replace(self.question, key_points=self.key_points)
        if not self.ideal_answer:
            return None
        return replace(self.question, ideal_answer=self.ideal_answer)


def load(half: str) -> list[TenantItem]:
    data = json.loads(HALVES[half].read_text())
    items = []
    for item in data["items"]:
        default = _DEFAULT_STYLE.get(item["category"], "behavioral")
        question = Question(
            id=item["id"],
            text=item["question"],
            time_limit_s=item.get("time_limit_s", 120),
            skill=item["skill"],
            source="custom",
            style=custom_style(item["question"], default),
        )
        items.append(
            TenantItem(
                item["id"],
                item["category"],
                item["skill"],
                question,
                tuple(item.get("key_points") or ()),
                item.get("ideal_answer") or "",
                tuple((a["label"], a["kind"], a["text"]) for a in item["answers"]),
            )
        )
    return items


@dataclass(frozen=True)
class WayResult:
    agreement: Agreement
    results: list[GoldResult]
    off_topic_adequate: int  # answers labelled 2 or 3 the scorer calls off-topic
    adequate: int


def measure(items: list[TenantItem], way: str, embedder: Embedder) -> WayResult:
    results = []
    off_topic = adequate = 0
    for item in items:
        question = item.asked(way)
        if question is None:
            continue
        scores = []
        for label, _, text in item.answers:
            analysis = analyse(question, text, embedder)
            scores.append(score_answer(analysis, question.time_limit_s).score)
            if label >= ADEQUATE_LABEL:
                adequate += 1
                off_topic += analysis.off_topic
        results.append(
            GoldResult(
                question.text,
                tuple(label for label, _, _ in item.answers),
                tuple(scores),
                item.category,
                way,
                tuple(kind for _, kind, _ in item.answers),
            )
        )
    return WayResult(agreement(results), results, off_topic, adequate)


def bring_back_replies(items: list[TenantItem], embedder: Embedder, way: str) -> tuple[int, int]:
    """(replies that say "bring us back to the question", answers) over the answers labelled
    adequate or better: the structured interviewer's own reply to each, as a first answer."""
    engine = StructuredEngine(embedder)
    said = total = 0
    for item in items:
        question = item.asked(way)
        if question is None:
            continue
        plan = InterviewPlan(questions=(question,), persona_id="maya")
        for label, _, text in item.answers:
            if label < ADEQUATE_LABEL:
                continue
            transcript = [
                Turn(0, "interviewer", question.text, 0, "question"),
                Turn(1, "candidate", text, 0),
            ]
            words = asyncio.run(_reply_text(engine, plan, transcript))
            total += 1
            said += PROBES["relevance"] in words
    return said, total


async def _reply_text(engine: StructuredEngine, plan: InterviewPlan, transcript: list[Turn]) -> str:
    reply = await engine.next_reply(plan, transcript)
    return " ".join([s async for s in reply.sentences()])


def _fmt(a: Agreement) -> str:
    right, total = a.pairs
    return (
        f"pairwise {right}/{total} = {a.pairwise:.3f}, Spearman {a.spearman:.3f}, "
        f"MAE {a.mae:.2f} ({a.answers} answers)"
    )


def rows(
    embedder: Embedder, halves: tuple[str, ...] = ("working", "sealed")
) -> list[tuple[str, str]]:
    """The bench's rows: aggregates only, for both halves."""
    out: list[tuple[str, str]] = []
    for half in halves:
        items = load(half)
        for way in WAYS:
            got = measure(items, way, embedder)
            if not got.results:
                continue
            out.append((f"scoring: tenant questions, {half} half, {way}", _fmt(got.agreement)))
            out.append(
                (
                    f"scoring: tenant questions, {half} half, {way}: adequate or better "
                    "scored off-topic",
                    f"{got.off_topic_adequate}/{got.adequate}",
                )
            )
        for way in ("no_key_points", "key_points"):
            game = gaming(items, way, embedder)
            variants = ", ".join(f"{k} {n}" for k, n in sorted(game.by_variant.items()))
            out.append(
                (
                    f"scoring: tenant questions, {half} half, {way}: gamed variants scored above "
                    "their source",
                    f"{game.raised}/{game.checked} (largest rise {game.max_raise}; "
                    f"{variants or 'none'})",
                )
            )
        said, total = bring_back_replies(items, embedder, "no_key_points")
        out.append(
            (
                f"scoring: tenant questions, {half} half: 'bring us back' replies to answers "
                "labelled adequate or better",
                f"{said}/{total}",
            )
        )
    return out


def misordered(
    items: list[TenantItem], way: str, embedder: Embedder
) -> list[tuple[str, int, int, str, int, int, str]]:
    """The working half's misordered pairs, to read while changing the scorer. Refuses the
    sealed half by construction: it takes items, and only `load("working")` should feed it."""
    found = []
    got = measure(items, way, embedder)
    for item, result in zip([i for i in items if i.asked(way)], got.results, strict=True):
        answers = list(zip(result.labels, result.scores, item.answers, strict=True))
        for i, (l1, s1, a1) in enumerate(answers):
            for l2, s2, a2 in answers[i + 1 :]:
                if l1 != l2 and (s1 - s2) * (l1 - l2) <= 0:
                    found.append((item.id, l1, s1, a1[1], l2, s2, a2[1]))
    return found


# Padding written for this check, after the scorer's thresholds and apart from
# tests/bench_scoring.py's filler: none of it says anything about any question.
PARAPHRASED_OPEN = (
    "I'm really glad you asked me that, since it's something I care about and have run into "
    "many times over my career, with all sorts of people."
)
PARAPHRASED_CLOSE = (
    "All in all, I'd say it comes down to working well with people, keeping everyone in the "
    "loop and staying focused on what matters most in the end."
)
STACK_PADDING = (
    "Our stack back then was mostly Python and PostgreSQL on AWS, with Docker, Terraform and "
    "GitHub Actions for deployments, and Grafana dashboards on a big screen."
)


def gamed(answer: str) -> dict[str, str]:
    """Gamed versions of an answer that add nothing to it: padding in other words than the
    catalogue check's, its sentences said again in reverse order, unrelated name-dropping."""
    parts = [p for p in answer.replace("? ", "?\n").replace(". ", ".\n").split("\n") if p]
    return {
        "paraphrased padding": f"{PARAPHRASED_OPEN} {answer} {PARAPHRASED_CLOSE}",
        "reordered repeat": f"{answer} {' '.join(reversed(parts))}",
        "name-dropping": f"{answer} {STACK_PADDING}",
    }


@dataclass(frozen=True)
class TenantGaming:
    checked: int
    raised: int
    max_raise: int
    by_variant: dict[str, int]  # raised per variant


def gaming(items: list[TenantItem], way: str, embedder: Embedder) -> TenantGaming:
    """Every answer and its gamed versions: how many score above their source (and by most)."""
    from tests.bench_scoring import variants

    checked = raised = worst = 0
    by_variant: dict[str, int] = {}
    for item in items:
        question = item.asked(way)
        if question is None:
            continue
        for _, _, text in item.answers:
            source = _score(question, text, embedder)
            for name, variant in {**variants(question, text), **gamed(text)}.items():
                score = _score(question, variant, embedder)
                checked += 1
                worst = max(worst, score - source)
                if score > source:
                    raised += 1
                    by_variant[name] = by_variant.get(name, 0) + 1
    return TenantGaming(checked, raised, worst, by_variant)


def _score(question: Question, text: str, embedder: Embedder) -> int:
    return score_answer(analyse(question, text, embedder), question.time_limit_s).score
