"""Analyse one answer: its substance (the question's key points, judged by meaning), claims that
contradict them, the story told (behavioural), relevance, structure, ownership, length, hedging.

Substance: the answer is cut into claims (sentences and clauses; a string of terms is not a claim),
each unit is embedded once, and a key point is made by the claim closest in meaning to one of its
statements (cosine similarity, all-MiniLM-L6-v2), over a threshold calibrated on the gold set
(tests/gold/substance.json, docs/scoring.md), provided the claim is closer to the statement than
to the question: restating the question shows nothing. A claim closer to one of the point's known
wrong statements than to any right one contradicts it. In a behavioural answer only the story's
claims make points: what the candidate usually is ("I always listen") tells no story.

Every signal is something a reviewer can check: the quoted claim and its similarity, or the words
matched. Gaps come out in the order a good interviewer would probe them.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import snowballstemmer
from wordfreq import zipf_frequency

from pipeline.engine import Question
from pipeline.interview import vocabulary as v
from pipeline.interview.bank import criteria_for
from pipeline.interview.keypoints import KeyPoint
from pipeline.interview.topic import topic_of

SPEAKING_WORDS_PER_S = 2.5  # ~150 words a minute
MIN_WORDS = 25  # below this an answer is too short to show anything
# Cosine similarity (all-MiniLM-L6-v2) of an unrelated and a squarely on-topic answer.
SIMILARITY_FLOOR = 0.08
SIMILARITY_CEILING = 0.55
# Off-topic: not one claim this close to the question (cosine), and no key point made. Generic
# talk ("it comes down to communication") reaches 0.30 on the gold set's questions, so padding an
# unrelated answer with it does not bring it on topic (on a soft question such as "what team
# environment suits you" it is on topic, and reaches 0.55).
OFF_TOPIC_SIMILARITY = 0.31
TOO_SHORT_TO_TELL = 0.15  # a short answer closer than this to the question may be on topic

# Key points, calibrated on the calibration half of the gold set (docs/scoring.md).
# Per answer style: the cosine of claim and statement where a point starts to count, and where
# it counts in full. Behavioural key points are abstract ("I listened to their reasons") and the
# stories that make them concrete, so their similarities run lower (and only the story's claims
# count for them). The technical start sits above generic talk ("making sure everyone is on the
# same page"), which reaches 0.42 on the bank's technical statements.
POINT_RANGE = {
    "behavioral": (0.25, 0.50),
    "technical": (0.45, 0.70),
    "explanation": (0.45, 0.70),
}
POINT_OVER_QUESTION = 0.10  # a claim counts for a point only if it is closer to it than to the
# question, by this much: a claim that is mostly the question restated shows nothing
BEYOND_QUESTION = 0.60  # ... or if what it says beyond the question (its vector less its part
# along the question) is this close to what the point says beyond it: "Plants make their food by
# photosynthesis" answers in the question's words and is still the point
TOPIC = 0.35  # a claim this close to the question (and short of an echo) engages with it:
# above generic talk ("communication is key", "it depends") on the gold set's questions
WRONG_THRESHOLD = 0.70  # cosine of a claim with a known wrong statement to flag it
WRONG_MARGIN = 0.05  # ... and it must be this much closer to the wrong statement than to any
# right statement of any point
STORYLESS = 0.4  # behavioural answer with no event told, only habits: its points count this much
ECHO = 0.6  # a claim this close to the question (cosine) mostly restates it: it shows nothing
# A behavioural answer's substance is partly its story (a specific event, what the candidate did,
# how it ended), partly the question's key points; the share of the story:
STORY_WEIGHT = 0.6
STORY_DETAILS = 3  # concrete details (numbers, dates, names) for a fully specific story
STORY_ACTIONS = 2  # claims of "I" doing something, for a fully personal one
MIN_CLAIM_WORDS = 3
MIN_FUNCTION_SHARE = 0.25  # below this share of grammar words a "sentence" is a list of terms
MIN_FUNCTION_WORDS = 2  # ... and a sentence has at least two ("tell about time failed" is not one)
CLAUSE_WORDS = 3  # sentences are also judged clause by clause, clauses of at least this many words
# Questions without key points: what an answer shows is the specific content it brings that the
# question did not: uncommon words (Zipf frequency below this in wordfreq's English: "backfill",
# "trigger", "drains", "rollback", not "important", "team", "problem"), numbers and names, said
# in claims that do not merely restate the question. Jargon that fits any question is none.
SPECIFIC_ZIPF = 4.0
SPECIFICS_FULL = 10  # distinct specific terms for full marks
# A claim is about the question (its specifics count; its structure words count and its past
# tense tells the story, as do those of a claim naming something specific: "That is O(n) time")
# when its cosine with the question or its topic reaches this. Below it: padding ("I'm glad you asked me that"), or names
# dropped in passing. Agreement on the tenant set's working half is flat from 0 to 0.3; the
# value was chosen with the gaming check (padding that raised 40 of 672 scores raises 4).
ABOUT_THE_QUESTION = 0.25

# The parts a structured answer has, per question style.
PARTS: dict[str, tuple[str, ...]] = {
    "behavioral": ("situation", "action", "result"),
    "technical": ("approach", "complexity", "tradeoffs"),
    "explanation": ("steps", "reasoning", "check"),
}
_PART_MARKERS: dict[str, tuple[str, ...]] = {
    "situation": v.SITUATION_MARKERS + v.TASK_MARKERS,
    "action": v.ACTION_MARKERS,
    "result": v.RESULT_MARKERS,
    "approach": v.APPROACH_MARKERS,
    "complexity": v.COMPLEXITY_MARKERS,
    "tradeoffs": v.TRADEOFF_MARKERS,
    "steps": (
        "first",
        "then",
        "next",
        "after that",
        "finally",
        "step",
        "so i",
        "subtract",
        "divide",
        "multiply",
        "add",
    ),
    "reasoning": (
        "because",
        "since",
        "so that",
        "which means",
        "that's why",
        "which is why",
        "this is why",
        "due to",
        "causes",
    ),
    "check": (
        "check",
        "example",
        "for example",
        "for instance",
        "such as",
        "verify",
        "plug",
        "like when",
    ),
}
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
        "as",
        "your",
        "you",
        "what",
        "how",
        "why",
        "when",
        "which",
        "do",
        "does",
        "did",
        "would",
        "could",
    ]
)


class Embedder(Protocol):
    version: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class PointMatch:
    """How one key point fared in the answer, with the words that show it."""

    label: str
    weight: float
    similarity: float  # best cosine of a claim in the answer with a statement of the point
    baseline: float  # the question's own cosine with the point: restating it earns nothing
    coverage: float  # 0..1
    evidence: str  # the claim that makes the point best (verbatim), or ""
    contradiction: str  # a claim that contradicts the point (verbatim), or ""

    @property
    def found(self) -> bool:
        return self.coverage >= 0.5 and not self.contradiction


@dataclass(frozen=True)
class AnswerAnalysis:
    style: str
    word_count: int
    speaking_s: float
    similarity: float  # cosine, question vs answer
    relevance: float  # 0..1
    parts: dict[str, bool]
    key_points_covered: tuple[str, ...]
    key_points_missing: tuple[str, ...]
    technologies: tuple[str, ...]
    numbers: tuple[str, ...]
    i_count: int
    we_count: int
    hedges: tuple[str, ...]
    best_sentence: str  # the evidence quote: the claim making the strongest point, else the
    # sentence closest to the question
    gaps: tuple[str, ...]  # what is missing, most important first
    points: tuple[PointMatch, ...] = ()  # per key point, in the question's order
    claims: int = 0  # sentences and clauses that say something (not strings of terms)
    story: int = 0  # claims telling what happened (past tense, not habit): behavioural answers
    details: tuple[str, ...] = ()  # concrete details in the story: numbers, times, names
    actions: tuple[str, ...] = ()  # the story's claims of "I" doing something (verbatim)
    outcome: str = ""  # the story's claim of how it ended (verbatim), or ""
    on_topic_claims: int = 0  # claims about the question that do not merely restate it
    topicality: float = 0.0  # cosine of the claim closest to the question
    echoes: int = 0  # claims made of the question's own words
    specifics: tuple[str, ...] = ()  # specific terms the claims bring beyond the question
    tenant_points: bool = False  # the key points are a tenant's (one short statement each)
    # An open behavioural question ("What project are you proudest of?") answered with the
    # candidate's own account ("I built a search service for a public library…").
    own_account_of_open_question: bool = False

    @property
    def specificity(self) -> float:
        found = len(self.technologies) + len(self.numbers) + len(self.key_points_covered)
        return min(1.0, found / 4)

    @property
    def structure(self) -> float:
        return sum(self.parts.values()) / len(self.parts)

    @property
    def ownership(self) -> float:
        total = self.i_count + self.we_count
        return 1.0 if total == 0 else self.i_count / total

    @property
    def quantified_outcome(self) -> bool:
        return bool(self.numbers) and self.parts.get("result", True)

    @property
    def coverage(self) -> float | None:
        """Weighted share of the key points made (0..1); None when the question has none."""
        if not self.points:
            return None
        total = sum(p.weight for p in self.points)
        made = sum(p.weight * p.coverage for p in self.points if not p.contradiction)
        return made / total

    @property
    def engaged(self) -> bool:
        """Says something about the question beyond restating it, right or wrong."""
        return (
            self.on_topic_claims > 0
            or (self.style == "behavioral" and self.story > 0 and not self.off_topic)
            or any(p.coverage >= 0.2 for p in self.points)
            or bool(self.contradictions)  # a wrong claim about the topic is still about it
        )

    @property
    def off_topic(self) -> bool:
        """Unrelated to the question: low relevance and not one key point even partly made."""
        return (
            self.topicality < OFF_TOPIC_SIMILARITY
            and not any(p.coverage >= 0.2 for p in self.points)
            and not self.own_account_of_open_question
        )

    @property
    def story_quality(self) -> float:
        """How specific, personal and complete the story is (0..1): behavioural answers."""
        return (
            min(1.0, len(self.details) / STORY_DETAILS)
            + min(1.0, len(self.actions) / STORY_ACTIONS)
            + (1.0 if self.outcome else 0.0)
        ) / 3

    @property
    def substance(self) -> float | None:
        """What the answer shows (0..1): the key points made and, for a behavioural question, the
        story told. None when the question has no key points."""
        coverage = self.coverage
        if coverage is None:
            return None
        if self.style != "behavioral":
            return coverage
        return STORY_WEIGHT * self.story_quality + (1 - STORY_WEIGHT) * coverage

    @property
    def content(self) -> float:
        """How much specific content the answer brings beyond the question (0..1)."""
        return min(1.0, len(self.specifics) / SPECIFICS_FULL)

    @property
    def contradictions(self) -> tuple[PointMatch, ...]:
        return tuple(p for p in self.points if p.contradiction)


def question_style(question: Question) -> str:
    if question.style in PARTS:
        return question.style
    return "behavioral"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


@dataclass(frozen=True)
class Claim:
    text: str  # verbatim from the answer
    claim: bool  # says something, rather than listing terms
    story: bool  # tells what happened (past tense, no habit words)
    reflection: bool = False  # what the candidate took from it ("since then I...")
    echo: bool = False  # says nothing the question does not: every word of it is the question's


def claims_of(answer: str) -> list[Claim]:
    """Sentences, split at ; and : too, and each also clause by clause. Verbatim."""
    units: list[Claim] = []
    for sentence in sentences(answer):
        pieces = [p.strip(" ,") for p in re.split(r"[;:]\s+|\s+-\s+", sentence) if p.strip(" ,")]
        for piece in pieces:
            whole = _claim(piece)
            units.append(whole)
            # A clause of a list of terms is no claim either, however it reads alone.
            units += [c if whole.claim else _not_claim(c) for c in map(_claim, _clauses(piece))]
    seen: set[str] = set()
    out: list[Claim] = []
    for unit in units:
        if unit.text in seen:
            continue
        seen.add(unit.text)
        out.append(unit)
    return out


def _mark_echoes(units: list[Claim], question: str) -> list[Claim]:
    """Mark the claims made of the question's own words ("I would investigate why the query is
    slow and fix the slow query"): whatever their cosine, they add nothing to it. Except for a
    yes/no question, which a statement in its own words answers ("Have you used Kafka?" "I have
    used Kafka.")."""
    if _YES_NO.match(question):
        return units
    asked = _content_stems(question)
    return [
        replace(u, echo=True) if u.claim and _content_stems(u.text) <= asked else u for u in units
    ]


_YES_NO = re.compile(
    r"\s*(?:is|are|was|were|do|does|did|have|has|had|can|could|will|would|should)\b"
    r"(?!.*\b(?:what|how|why|when|where|which|who)\b)",
    re.IGNORECASE | re.DOTALL,
)
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a stemmer keeps state between words; reports score in threads


# Cached: the question's stems are asked for once per claim of every answer to it.
@functools.lru_cache(maxsize=4096)
def _content_stems(text: str) -> frozenset[str]:
    content = [
        w.strip("'.") for w in v.words(text) if w not in v.FUNCTION_WORDS and w not in _STOPWORDS
    ]
    with _STEMMER_LOCK:
        return frozenset(_STEMMER.stemWords(content))


def _not_claim(c: Claim) -> Claim:
    return Claim(c.text, False, False, False)


def _clauses(text: str) -> list[str]:
    """A sentence cut at its commas into clauses of at least CLAUSE_WORDS words (or none)."""
    clauses: list[str] = []
    current = ""
    for piece in re.split(r",\s+", text):
        current = f"{current}, {piece}" if current else piece
        if len(v.words(current)) >= CLAUSE_WORDS:
            clauses.append(current.strip())
            current = ""
    if current:
        if clauses:
            clauses[-1] = f"{clauses[-1]}, {current}"
        else:
            clauses.append(current)
    return clauses if len(clauses) > 1 else []


_ARITHMETIC = re.compile(r"=|\b(?:times|plus|minus|divided|multiplied|equals|over|is)\b")


def _claim(text: str) -> Claim:
    tokens = v.words(text)
    wordy = [t for t in tokens if not any(c.isdigit() for c in t) and len(t) > 1]
    grammar = sum(1 for t in wordy if t in v.FUNCTION_WORDS)
    commas = text.count(",")
    listing = commas >= 3 and len(tokens) < 3.5 * commas
    # Arithmetic says something in symbols: "3x = 15", "8 times 5 is 40".
    sum_stated = bool(_ARITHMETIC.search(text.lower())) and any(c.isdigit() for c in text)
    is_claim = sum_stated or (
        len(tokens) >= MIN_CLAIM_WORDS
        and bool(wordy)
        and grammar >= MIN_FUNCTION_WORDS
        and grammar / len(wordy) >= MIN_FUNCTION_SHARE
        and not listing
    )
    lowered = f" {text.lower()} "
    habit = bool(v.matched(lowered, v.HABITUAL_MARKERS))
    reflection = is_claim and bool(v.matched(lowered, v.REFLECTION_MARKERS))
    return Claim(text, is_claim, is_claim and v.past_tense(tokens) and not habit, reflection)


def analyse(question: Question, answer: str, embedder: Embedder) -> AnswerAnalysis:
    style = question_style(question)
    lowered = answer.lower()
    tokens = v.words(answer)
    units = _mark_echoes(claims_of(answer), question.text)
    points = criteria_for(question)
    refs = _references(question, points, embedder)
    vectors = _embed_answer(units, embedder)
    q = refs[0]
    topics = _topic_references(question, embedder)
    similarity, best_sentence = _similarity(q, vectors, units)
    relevance = float(
        np.clip((similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR), 0, 1)
    )
    open_question = style == "behavioral" and _is_open(question.text)
    told = (
        _story(units, vectors, q, topics, question.text, open_question)
        if style == "behavioral"
        else []
    )
    story = len(told)
    matches = _match_points(question.text, points, refs, vectors, units, style, story)
    evidence = max(
        (m for m in matches if m.found), key=lambda m: (m.coverage, m.similarity), default=None
    )
    # The parts of a structured answer, as said in its claims: a string of terms appended
    # ("situation, action, result, trade-off") gives an answer no structure. Where the parts are
    # the score (no key points), padding gives none either ("I'd say it comes down to people").
    to_topic = _to_topic(vectors, topics, len(units))
    said = " ".join(
        u.text
        for u, topical in zip(units, to_topic, strict=True)
        if u.claim
        and not u.echo
        and (points or topical >= ABOUT_THE_QUESTION or _specifics([u], question.text, [1.0]))
    ).lower()
    parts = {part: bool(v.matched(said, _PART_MARKERS[part])) for part in PARTS[style]}
    if "situation" in parts and v.YEAR.search(said):
        parts["situation"] = True  # a date sets the scene as well as any phrase
    covered = tuple(m.label for m in matches if m.found) if matches else ()
    analysis = AnswerAnalysis(
        style=style,
        word_count=len(tokens),
        speaking_s=len(tokens) / SPEAKING_WORDS_PER_S,
        similarity=similarity,
        relevance=relevance,
        parts=parts,
        key_points_covered=covered,
        key_points_missing=tuple(m.label for m in matches if not m.found),
        technologies=tuple(v.matched(lowered, v.TECHNOLOGIES)),
        numbers=tuple(m.group(0).strip(" .,") for m in v.NUMBER.finditer(lowered)),
        i_count=len(v.FIRST_PERSON_SINGULAR.findall(lowered)),
        we_count=len(v.FIRST_PERSON_PLURAL.findall(lowered)),
        hedges=tuple(v.matched(lowered, v.HEDGES)),
        best_sentence=evidence.evidence if evidence else best_sentence,
        gaps=(),
        points=matches,
        claims=sum(1 for u in units if u.claim),
        story=story,
        details=_details(told),
        actions=tuple(u.text for u in told if _acts(u.text)),
        outcome=next((u.text for u in told[1:] if _ends(u.text)), ""),
        on_topic_claims=_on_topic(units, vectors, q),
        topicality=_topicality(units, vectors, topics),
        echoes=sum(1 for u in units if u.echo),
        specifics=_specifics(units, question.text, to_topic),
        tenant_points=bool(points) and question.source == "custom",
        own_account_of_open_question=open_question and _own_account(units),
    )
    return _with_gaps(analysis)


def _to_topic(vectors: np.ndarray, topics: np.ndarray, n: int) -> list[float]:
    """Each unit's cosine with the question or its topic, whichever is closer."""
    if vectors.shape[1:] != topics.shape[1:]:
        return [0.0] * n
    return [float(x) for x in (vectors @ topics.T).max(axis=1)]


def _specifics(units: list[Claim], question: str, to_topic: list[float]) -> tuple[str, ...]:
    """The specific terms an answer's claims about the question bring that the question did not:
    uncommon words (by wordfreq's Zipf frequency), numbers, and names; not jargon, not the
    question's own words, not the names dropped in a sentence about something else."""
    asked = _content_stems(question)
    given = v.numbers_in(question)
    found: dict[str, None] = {}
    for unit, topical in zip(units, to_topic, strict=True):
        if not unit.claim or unit.echo or topical < ABOUT_THE_QUESTION:
            continue
        for number in sorted(v.numbers_in(unit.text) - given):
            found.setdefault(number)
        for word in v.words(unit.text):
            bare = word.strip("'.-/")
            if len(bare) < 3 or any(c.isdigit() for c in bare) or bare in v.FUNCTION_WORDS:
                continue
            if bare in v.JARGON or _content_stems(bare) <= asked:
                continue
            if zipf_frequency(bare, "en") < SPECIFIC_ZIPF:
                found.setdefault(bare)
    return tuple(found)


def _story(
    units: list[Claim],
    unit_vectors: np.ndarray,
    q: np.ndarray,
    topics: np.ndarray,
    question: str,
    open_question: bool = False,
) -> list[Claim]:
    """The claims that tell what happened, without those that only echo the question, nor those
    that say nothing of this story: about neither the question nor anything specific ("I'm glad
    you asked me that", "in the end it came down to people")."""
    if unit_vectors.shape[1:] != q.shape:
        return []
    to_question = unit_vectors @ q
    to_topic = _to_topic(unit_vectors, topics, len(units))
    told = [
        u
        for u, sim, topical in zip(units, to_question, to_topic, strict=True)
        if u.story
        and not u.echo
        and sim < ECHO
        and (open_question or topical >= ABOUT_THE_QUESTION or _specifics([u], question, [1.0]))
    ]
    # Clauses repeat parts of their sentence: keep the pieces, not the whole and its parts.
    return [u for u in told if not any(u.text != o.text and o.text in u.text for o in told)]


def _topicality(units: list[Claim], unit_vectors: np.ndarray, topics: np.ndarray) -> float:
    """Cosine with the question of the closest claim, or, for a story, of its claims taken
    together (their mean direction) with the question or its topic without the asking words: a
    story told in its own words is about the topic as a whole more than any one sentence of it
    is, and sits far from the asking words. Generic talk ("communication is key") is compared
    with the question only, against which the off-topic threshold was set. An answer without a
    single claim (a string of terms) says nothing rather than something else: it is not
    off-topic (1.0)."""
    rows = [i for i, u in enumerate(units) if u.claim]
    if not rows or unit_vectors.shape[1:] != topics.shape[1:]:
        return 1.0 if units else 0.0
    best = float(np.max(unit_vectors[rows] @ topics[0]))
    told = [i for i in rows if units[i].story and not units[i].echo]
    if len(told) >= 2:
        mean = unit_vectors[told].mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-9)
        best = max(best, float(np.max(topics @ mean)))
    return round(best, 4)


def _on_topic(units: list[Claim], unit_vectors: np.ndarray, q: np.ndarray) -> int:
    if unit_vectors.shape[1:] != q.shape:
        return 0
    to_question = unit_vectors @ q
    return sum(
        1
        for u, sim in zip(units, to_question, strict=True)
        if u.claim and not u.echo and TOPIC <= sim < ECHO
    )


def _details(told: list[Claim]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for claim in told:
        for number in sorted(v.numbers_in(claim.text)):
            found.setdefault(number)
        words = claim.text.split()
        for n, word in enumerate(words):
            bare = word.strip(".,;:!?\"'()")
            lowered = bare.lower()
            if lowered in v.TIME_WORDS:
                found.setdefault(lowered)
            elif n and bare[:1].isupper() and not lowered.startswith("i'") and lowered != "i":
                found.setdefault(bare)  # a name: of a client, a system, a place
    return tuple(found)


# A behavioural question is open when its topic, less its asking words, names no subject of its
# own, only the kind of thing to tell ("What project are you proudest of?", "What is your greatest
# achievement?"): any account of one's own work answers it, and the cosine cannot tell. A story
# of a library search service sits at 0.11 from the first, as far as "My favourite animal is the
# dog" (0.19), both under OFF_TOPIC_SIMILARITY: the live tests' own interview answered a good
# first answer "Let me bring us back to the question". A topic word of its own ("a disagreement
# at work", "a deal you lost") makes the question specific: a story about something else is then
# off-topic, as before (a count of topic words was tried first and let a billing-migration story
# answer "Tell me about a disagreement at work": tests/test_faults_restart.py caught it).
_OPEN_TOPIC_WORDS = (
    "project projects work job role career achievement achievements accomplishment "
    "accomplishments proud proudest success successes strength strengths weakness weaknesses "
    "yourself experience background goal goals greatest biggest best favourite favorite most "
    "recent last done did something thing things time led lead built worked tell describe"
)


def _is_open(question: str) -> bool:
    return _content_stems(topic_of(question)) <= _content_stems(_OPEN_TOPIC_WORDS)


# What one thinks or is, not what one does: "I think the weather is nice" is no account of work.
_STATIVE = frozenset(
    [
        "think",
        "believe",
        "guess",
        "feel",
        "felt",
        "like",
        "liked",
        "love",
        "loved",
        "am",
        "was",
        "were",
        "have",
        "had",
        "know",
        "knew",
        "want",
        "wanted",
        "hope",
        "mean",
        "suppose",
        "prefer",
        "enjoy",
    ]
)


def _own_account(units: list[Claim]) -> bool:
    """A sentence of the candidate doing something, in any tense: "I" or "we" and then a verb
    ("I built", "I listen first", "we tested"); not "my favourite…", nor "I think…". Terse
    sentences count ("I built a search service for a public library." has too few grammar words
    to pass as a claim), echoes of the question do not."""
    for unit in units:
        if unit.echo:
            continue
        tokens = v.words(unit.text)
        for n, token in enumerate(tokens[:-1]):
            after = tokens[n + 1]
            if token in ("i", "we") and after not in v.FUNCTION_WORDS and after not in _STATIVE:
                return True
    return False


def _acts(text: str) -> bool:
    tokens = v.words(text)
    return any(t == "i" and v.past_tense(tokens[n + 1 : n + 3]) for n, t in enumerate(tokens))


def _ends(text: str) -> bool:
    lowered = text.lower()
    return bool(v.matched(lowered, v.RESULT_MARKERS) or v.matched(lowered, v.OUTCOME_MARKERS))


def _embed_answer(units: list[Claim], embedder: Embedder) -> np.ndarray:
    """Each unit of the answer embedded alone (a batch of one, cached by its text): a unit's
    vector is a function of its words alone, and the live interviewer's speculative reply at a
    pause has already embedded all but the last words of the answer when it ends."""
    if not units:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([_UNITS.vectors(embedder, (u.text,)) for u in units])


def _similarity(q: np.ndarray, vectors: np.ndarray, units: list[Claim]) -> tuple[float, str]:
    """Question vs answer, from what the answer claims: strings of terms (the question's words
    appended, say) do not make an answer more relevant."""
    if not units or vectors.shape[1:] != q.shape:
        return 0.0, ""
    rows = [i for i, u in enumerate(units) if u.claim] or list(range(len(units)))
    per_unit = vectors[rows] @ q
    mean = vectors[rows].mean(axis=0)
    mean /= max(float(np.linalg.norm(mean)), 1e-9)
    best = int(np.argmax(per_unit))
    # Mostly the whole answer: one on-topic sentence in a rambling answer should not carry it.
    similarity = 0.7 * float(mean @ q) + 0.3 * float(per_unit[best])
    return round(similarity, 4), units[rows[best]].text


def _match_points(
    question: str,
    points: tuple[KeyPoint, ...],
    refs: np.ndarray,
    unit_vectors: np.ndarray,
    units: list[Claim],
    style: str,
    story: int,
) -> tuple[PointMatch, ...]:
    if not points:
        return ()
    q = refs[0]
    # A behavioural question asks for an event: its points are made by the story told and what
    # the candidate took from it, not by opinions or habits ("I always listen").
    usable = [
        i
        for i, u in enumerate(units)
        if u.claim and not u.echo and (style != "behavioral" or u.story or u.reflection)
    ]
    if unit_vectors.shape[1:] != q.shape:
        usable = []
    claims = [units[i] for i in usable]
    # Every claim against the question and every statement (right and wrong) of every point.
    sims = unit_vectors[usable] @ refs.T if usable else np.zeros((0, len(refs)), np.float32)
    spans = _spans(points)
    sims = _number_guard(question, sims, claims, points, spans)
    residual = np.where(sims < -0.5, -1.0, _beyond_question(unit_vectors[usable], refs))
    to_question = sims[:, 0]
    right_cols = [
        c for point, (m, _) in zip(points, spans, strict=True) if not point.bare for c in m
    ]
    # The best correct reading of each claim: what a wrong statement must beat to count.
    best_right = sims[:, right_cols].max(axis=1) if right_cols else np.zeros(len(claims))
    threshold, full = POINT_RANGE.get(style, POINT_RANGE["technical"])
    # A behavioural answer that tells no story (only what the candidate is usually like) shows
    # the point less than one that does.
    scale = STORYLESS if style == "behavioral" and story == 0 else 1.0
    matches: list[PointMatch] = []
    for point, (meaning, wrong) in zip(points, spans, strict=True):
        baseline = round(float(np.max(refs[meaning] @ q)), 4)
        if point.bare:
            matches.append(_bare_match(point, units, baseline))
            continue
        if not claims:
            matches.append(PointMatch(point.label, point.weight, 0.0, baseline, 0.0, "", ""))
            continue
        to_point = sims[:, meaning].max(axis=1)
        # A claim closer to the question than to the point only restates the question, unless
        # what it adds to the question is the point.
        beyond = residual[:, meaning].max(axis=1)
        shows = (to_point - to_question >= POINT_OVER_QUESTION) | (beyond >= BEYOND_QUESTION)
        said = np.where(shows, to_point, -1.0)
        best = int(np.argmax(said))
        sim = round(float(said[best]), 4)
        coverage = scale * float(np.clip((sim - threshold) / (full - threshold), 0.0, 1.0))
        contradiction = ""
        if wrong:
            to_wrong = sims[:, wrong].max(axis=1)
            negated = [_negated(t) for t in point.wrong]
            flagged = [
                i
                for i in range(len(claims))
                if to_wrong[i] >= WRONG_THRESHOLD
                and to_wrong[i] >= best_right[i] + WRONG_MARGIN
                # Embeddings do not see "no": "hits null, so there is no cycle" is not the wrong
                # "reaching null means a cycle". A claim of the opposite polarity is not flagged.
                and _negated(claims[i].text) == negated[int(np.argmax(sims[i, wrong]))]
            ]
            if flagged:
                worst = max(flagged, key=lambda i: (float(to_wrong[i]), -i))
                contradiction = claims[worst].text
        matches.append(
            PointMatch(
                point.label,
                point.weight,
                max(sim, 0.0),
                baseline,
                round(coverage, 4),
                claims[best].text if coverage > 0 else "",
                contradiction,
            )
        )
    return tuple(matches)


def _beyond_question(claim_vectors: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Cosine of each claim with each reference, both less their component along the question
    (refs[0]): how well what a claim adds to the question matches what a statement adds."""
    q = refs[0]

    def rest(vectors: np.ndarray) -> np.ndarray:
        left = vectors - np.outer(vectors @ q, q)
        return left / np.maximum(np.linalg.norm(left, axis=1, keepdims=True), 1e-6)

    if not len(claim_vectors):
        return np.zeros((0, len(refs)), np.float32)
    return np.round(rest(claim_vectors) @ rest(refs).T, 4)


_NEGATION = re.compile(r"\b(?:no|not|never|none|nothing|without|cannot)\b|n't\b")


def _negated(text: str) -> bool:
    return len(_NEGATION.findall(text.lower())) % 2 == 1


def _spans(points: tuple[KeyPoint, ...]) -> list[tuple[list[int], list[int]]]:
    """Column numbers of each point's statements and wrong statements among the references."""
    spans = []
    column = 1  # 0 is the question
    for point in points:
        meaning = list(range(column, column + len(point.meaning)))
        column += len(point.meaning)
        wrong = list(range(column, column + len(point.wrong)))
        column += len(point.wrong)
        spans.append((meaning, wrong))
    return spans


def _reference_texts(points: tuple[KeyPoint, ...]) -> list[str]:
    return [t for p in points for t in (*p.meaning, *p.wrong)]


def _number_guard(
    question: str,
    sims: np.ndarray,
    claims: list[Claim],
    points: tuple[KeyPoint, ...],
    spans: list[tuple[list[int], list[int]]],
) -> np.ndarray:
    """Embeddings barely tell "x is 5" from "x is 15". A point whose label names a number the
    question does not ("x = 5", "30 dollars") is made only by a claim stating that number; a wrong
    statement's own numbers (those no right statement of its point has) must be in the claim it
    flags."""
    guarded = sims.copy()
    stated = [v.numbers_in(c.text) for c in claims]
    given = v.numbers_in(question)  # numbers the question already states prove nothing
    for point, (meaning, wrong) in zip(points, spans, strict=True):
        needed = v.numbers_in(re.sub(r"O\([^)]*\)", "", point.label)) - given
        right = frozenset().union(*(v.numbers_in(t) for t in point.meaning))
        checks: list[tuple[int, frozenset[str] | None]] = [(c, needed) for c in meaning]
        for column, text in zip(wrong, point.wrong, strict=True):
            numbers = v.numbers_in(text)
            # A wrong number the right answer also uses cannot be told apart: never flag on it.
            checks.append((column, numbers - right if numbers - right or not numbers else None))
        for column, own in checks:
            if own is None:
                guarded[:, column] = -1.0
                continue
            if not own:
                continue
            for row, numbers in enumerate(stated):
                if not own & numbers:
                    guarded[row, column] = -1.0
    return guarded


def _bare_match(point: KeyPoint, units: list[Claim], baseline: float) -> PointMatch:
    """A key point with no statement written for it: its words, said in a claim."""
    for unit in units:
        if unit.claim and _covers(unit.text.lower(), point.label):
            return PointMatch(
                point.label, point.weight, 1.0, round(baseline, 4), 1.0, unit.text, ""
            )
    return PointMatch(point.label, point.weight, 0.0, round(baseline, 4), 0.0, "", "")


class _VectorCache:
    """Texts embedded in one batch, cached per embedder, its version and the batch's texts, so
    the vectors are the same whichever answer is scored first. The embedder is kept with its
    vectors, so its id cannot be reused while cached."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], tuple[object, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, embedder: Embedder, texts: tuple[str, ...], kind: str = "") -> np.ndarray:
        key = (id(embedder), embedder.version, kind, texts)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[1]
        vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
        with self._lock:
            self._entries[key] = (embedder, vectors)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return vectors

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# A question's reference texts (one batch per question and kind).
_REFERENCES = _VectorCache(256)
# The answers' units: a few thousand sentences (1.5 KB each) cover every live session's answers.
_UNITS = _VectorCache(4096)


def _references(question: Question, points: tuple[KeyPoint, ...], embedder: Embedder) -> np.ndarray:
    """The question, then each point's statements and wrong statements, in one batch."""
    return _REFERENCES.vectors(embedder, (question.text, *_reference_texts(points)), "points")


def _topic_references(question: Question, embedder: Embedder) -> np.ndarray:
    """The question, and what it is about without its asking words (topic.py), and the tenant's
    ideal answer: a claim close to any of them is on topic."""
    texts = tuple(dict.fromkeys(t for t in (question.text, topic_of(question.text)) if t))
    if question.ideal_answer:
        texts += (question.ideal_answer,)
    return _REFERENCES.vectors(embedder, texts, "topic")


def _covers(answer_lower: str, key_point: str) -> bool:
    content = [w for w in v.words(key_point) if w not in _STOPWORDS]
    if not content:
        return False
    hits = sum(1 for w in content if v.contains_phrase(answer_lower, w))
    return hits * 2 >= len(content)


def _with_gaps(a: AnswerAnalysis) -> AnswerAnalysis:
    gaps: list[str] = []
    if a.word_count < MIN_WORDS and a.topicality >= TOO_SHORT_TO_TELL:
        gaps.append("brevity")  # too short to tell whether it is on topic: ask for more first
    if a.off_topic:
        gaps.append("relevance")
    if a.word_count < MIN_WORDS and "brevity" not in gaps:
        gaps.append("brevity")
    if a.style == "behavioral":
        if not a.parts["situation"]:
            gaps.append("situation")
        if a.we_count > a.i_count and a.i_count < 3:
            gaps.append("ownership")
        if not a.parts["result"]:
            gaps.append("outcome")
        elif not a.numbers:
            gaps.append("measurement")
    else:
        gaps += [part for part in PARTS[a.style] if not a.parts[part]]
    if not a.technologies and not a.numbers and not a.key_points_covered:
        gaps.append("specifics")
    return AnswerAnalysis(**{**a.__dict__, "gaps": tuple(gaps)})
