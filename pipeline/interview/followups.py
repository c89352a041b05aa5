"""Follow-up probes: one question per gap, so each asks for exactly what is missing.

Where the answer gives something to hold on to, the probe names it in the candidate's own words
("You mentioned Kafka consumer lag — how did you measure that?"): a short noun phrase from the
answer (a technology first, then a name, a number, any phrase of two or more words), or for an
unmeasured result the clause that claims it ("You said you delivered it on time — ..."). Never
filler, never the question's own words, never more than MAX_QUOTE_WORDS words; nothing that fits
leaves the fixed probe. Deterministic: the same answer gives the same probe.

The probe's words are fixed strings (the fixed probe, or the quoted form's fixed tail) so the
transcript alone tells which gaps were already probed: engines stay stateless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.engine import Turn
from pipeline.interview import vocabulary as v
from pipeline.interview.analysis import AnswerAnalysis, sentences


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


PROBES: dict[str, str] = {
    "relevance": "Let me bring us back to the question.",
    "brevity": "Could you go into more detail, with a concrete example?",
    "situation": "Can you set the scene first: where was this, and what was at stake?",
    "ownership": "What did you personally do, as opposed to the team?",
    "outcome": "What was the outcome, and how did you measure it?",
    "measurement": "How did you measure that result? Do you have numbers?",
    "approach": "Before the details, what is your overall approach?",
    "complexity": "What is the time and space complexity of that?",
    "tradeoffs": "What trade-offs did you consider, and which alternative did you reject?",
    "steps": "Can you walk me through your steps one at a time?",
    "reasoning": "Why does that work?",
    "check": "How would you check that your answer is right?",
    "specifics": "Can you make that concrete: which system, which tools, what numbers?",
}
# The quoted form: "You mentioned <phrase> — <tail>". An off-topic answer is never quoted.
QUOTED: dict[str, str] = {
    "brevity": "could you go into more detail, with a concrete example?",
    "situation": "can you set the scene: where was this, and what was at stake?",
    "ownership": "what did you personally do there, as opposed to the team?",
    "outcome": "what was the outcome, and how would you measure it?",
    "measurement": "how did you measure that? Do you have numbers?",
    "approach": "what is your overall approach, before the details?",
    "complexity": "what would the time and space complexity be?",
    "tradeoffs": "what trade-offs did you weigh, and which alternative did you reject?",
    "steps": "can you walk me through it one step at a time?",
    "reasoning": "why does that work?",
    "check": "how would you check that it is right?",
    "specifics": "can you make that concrete: which system, which tools, what numbers?",
}
MAX_QUOTE_WORDS = 8
MAX_PHRASE_WORDS = 4  # a noun phrase, before its article
MIN_CLAUSE_WORDS = 3
# Gaps whose probe is about the answer as a whole: any phrase will do, best first. The others
# look first where the gap is: the story's actions, its outcome.
_ABOUT_ACTIONS = frozenset({"situation", "ownership", "outcome"})

_FILLER = _set(
    """
    um umm uh uhh erm er hmm like basically actually literally honestly really just stuff things
    thing whatever etc okay ok yeah yes well kinda sorta gonna wanna guess sure anyway
    """
)
# Words too general to be worth quoting on their own.
_GENERIC = _set(
    """
    lot lots way ways time times people person everyone someone something anything everything
    nothing kind sort bit part day days week weeks year years month months company team teams
    work job project projects problem problems issue issues situation example question answer
    end point case fact idea result results outcome thing place stage level role side area
    """
)
# Adjectives and adverbs that start or end no phrase worth quoting ("my last company").
_EDGE_WORDS = _set(
    """
    last first next previous new old big small good bad great whole other same different own
    real main few little several certain able happy hard easy pretty quite tight long short high
    low entire current simple simpler better best worse worst huge tiny nice key important
    common classic typical usual standard basic general overall specific particular various
    extra open closed closer further normal regular busy
    """
)


def _verb_forms(text: str) -> frozenset[str]:
    """Each verb and its third person ("uses", "retries"), which quote as badly."""
    forms: set[str] = set()
    for verb in text.split():
        forms |= {verb, f"{verb}s", f"{verb}es"}
        if verb.endswith("y"):
            forms.add(f"{verb[:-1]}ies")
    return frozenset(forms)


# Common verbs: a noun phrase stops at them ("the client generates" quotes "the client").
_VERBS = _verb_forms(
    """
    use make think know want need like help try keep give take see say tell ask start finish
    run set put show write read decide agree get go feel mean seem become let call come find
    handle build fix improve create check store return add compute solve move talk meet plan
    generate bring support accept retry send receive suck scare appreciate shorten catch turn
    subtract divide multiply end work deal grow happen cause leave live look play pay lose win
    hold stand learn change cost drop rise fall include allow avoid reduce increase explain
    understand remember believe care wait hear listen watch suggest require depend tend expect
    prefer prevent provide deliver ship deploy reply respond fetch hit miss match merge count
    compare throw raise scale serve push pull save share track measure monitor stay enjoy
    interrupt mix eat love hate spend would could should used
    """
)
# Adverbs and particles: "a deadline once", "take away 7" quote neither.
_ADVERBS = _set(
    """
    once twice again ago afterwards later recently today tonight yesterday tomorrow away back
    together apart around instead else anyway somehow maybe perhaps probably always often
    sometimes usually rather ever now never near nearly almost soon early wherever whenever
    nobody everybody somebody anybody along throughout
    """
)
# Technologies that are also plain words: one only when written as a name ("REST", "Go").
_AMBIGUOUS_TECH = _set("rest go swift rust react spark ruby lambda")
_ARTICLES = _set("the a an my our this their your")
# Technologies that are common nouns: a sentence's capital does not make them names ("Queue").
_COMMON_TECH = frozenset(
    t
    for t in v.TECHNOLOGIES
    if t
    in _set(
        """
        cache caching queue index sharding replication hashmap heap bfs dfs breadth-first
        depth-first pointer pointers stack tree graph dashboard database axis orbit
        photosynthesis chlorophyll glucose oxygen microservices api sla slo etl cdn
        """
    )
    or " " in t
)
_DETERMINERS = {"the": "the", "a": "a", "an": "an", "my": "the", "our": "the", "this": "the"}
_SECOND_PERSON = {
    "i": "you",
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "we": "you",
    "we're": "you're",
    "we've": "you've",
    "we'd": "you'd",
    "we'll": "you'll",
    "us": "you",
    "our": "your",
    "ours": "yours",
    "ourselves": "yourselves",
}
_AGREEMENT = {"you was": "you were", "you am": "you are", "you wasn't": "you weren't"}
_CLAUSE_SPLIT = re.compile(r",\s+|;\s+|\s+(?:and|but|so|which|because|while|although)\s+")
_LEADING = re.compile(
    r"^(?:(?:and|but|so|then|finally|eventually|ultimately|in the end|at the end|overall|"
    r"as a result|in total|after that|afterwards)\b[\s,]*)+",
    re.IGNORECASE,
)
_TRAILING = _set(
    "and or but so because which that the a an to of with for from in on at by as if then than "
    "when while my our your their its"
)
_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|[A-Za-z0-9](?:[A-Za-z0-9'+#./%-]*[A-Za-z0-9+#%])?"
)
_CLEAN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9'+#./% -]|(?<=\d),(?=\d))*[A-Za-z0-9%+#]$|^[A-Za-z0-9]$"
)


@dataclass(frozen=True)
class Quote:
    """The candidate's words a follow-up names: "You <verb> <text> — ..."."""

    text: str
    verb: str = "mentioned"  # mentioned (a phrase) | said (a clause, in the second person)


def probe_sentences(gap: str, question_text: str, quote: Quote | None = None) -> list[str]:
    """The follow-up's words; an off-topic answer gets the question again."""
    if gap == "relevance":
        return [PROBES[gap], question_text]
    if quote is not None and gap in QUOTED and quote.text:
        return [f"You {quote.verb} {quote.text} — {QUOTED[gap]}"]
    return [PROBES[gap]]


def quote_meta(quote: Quote | None) -> dict[str, object]:
    """What a follow-up turn keeps of its quote, so a resumed session asks the same words."""
    return {} if quote is None else {"quote": quote.text, "quote_verb": quote.verb}


def quote_of(follow_up: Turn) -> Quote | None:
    text = follow_up.meta.get("quote")
    verb = follow_up.meta.get("quote_verb", "mentioned")
    if not isinstance(text, str) or verb not in ("mentioned", "said") or not _clean(text):
        return None
    return Quote(text, str(verb))


def probed_gaps(transcript: Sequence[Turn], question_index: int) -> list[str]:
    """Gaps already probed for this question, read from the follow-up turns' words."""
    gaps: list[str] = []
    for turn in transcript:
        if turn.role != "interviewer" or turn.kind != "follow_up":
            continue
        if turn.question_index != question_index:
            continue
        gaps.append(gap_of(turn))
    return gaps


def gap_of(follow_up: Turn) -> str:
    """The gap a follow-up turn probed: from its meta if the caller kept it, else its words."""
    recorded = str(follow_up.meta.get("gap", ""))
    if recorded in PROBES:
        return recorded
    text = follow_up.text
    fixed = next((gap for gap, probe in PROBES.items() if probe in text), None)
    if fixed is not None:
        return fixed
    return next((gap for gap, tail in QUOTED.items() if f"— {tail}" in text), "brevity")


def salient_quote(
    gap: str, analysis: AnswerAnalysis, answer: str, question_text: str
) -> Quote | None:
    """The candidate's words worth naming in a follow-up on `gap`, or None (the fixed probe)."""
    if gap not in QUOTED or not answer.strip():
        return None
    asked = {w for w in _words(question_text) if w not in v.FUNCTION_WORDS}
    question = " ".join(_words(question_text))
    if gap == "measurement" and analysis.outcome:
        clause = _result_clause(analysis.outcome, asked, question)
        if clause is not None:
            return Quote(clause, "said")
    sources = [*analysis.actions, analysis.outcome] if gap in _ABOUT_ACTIONS else []
    for source in [*sources, answer]:
        phrase = _best_phrase(source, asked, question) if source else None
        if phrase is not None:
            return Quote(phrase)
    return None


def _best_phrase(text: str, asked: set[str], question: str) -> str | None:
    best: tuple[int, str] | None = None
    for sentence in sentences(text):
        for phrase, salience in _phrases(sentence):
            if not _new_words(phrase, asked, question):
                continue
            score = salience - sum(1 for w in _words(phrase) if w in asked)  # its own words
            if best is None or score > best[0]:  # ties: the earliest
                best = (score, phrase)
    return best[1] if best else None


def _phrases(sentence: str) -> list[tuple[str, int]]:
    """Noun-phrase-like runs of the sentence (between punctuation, grammar words, verbs,
    filler), each with how salient it is; only those worth quoting."""
    found: list[tuple[str, int]] = []
    run: list[tuple[str, bool]] = []  # (word, sentence-initial)
    before = ""  # the word before the run: its article, if any
    previous, end = "", 0
    for match in [*_TOKEN.finditer(sentence), None]:
        token = match.group(0) if match else ""
        # Punctuation between two words ends a phrase ("Python, Kafka" is two).
        broken = match is None or bool(sentence[end : match.start()].strip())
        stops = match is None or _stops(token, previous, bool(run) and not broken)
        if run and (broken or stops):
            scored = _scored(run, before)
            if scored is not None:
                found.append(scored)
            run = []
        if match is not None and not stops:
            if not run:
                before = "" if broken else previous.lower()
            run.append((token, match.start() == 0))
        if match is not None:
            previous, end = token, match.end()
    return found


def _stops(token: str, previous: str, in_run: bool) -> bool:
    lowered = token.lower()
    if lowered in v.FUNCTION_WORDS or lowered in _FILLER or lowered in _VERBS:
        return True
    if lowered in _ADVERBS or (lowered.endswith("ly") and len(lowered) > 4):
        return True
    if lowered.endswith("ing") and lowered not in v.TECHNOLOGIES:
        # A noun's modifier after an article or inside a phrase ("the reporting process",
        # "load balancing"); a verb otherwise ("building it").
        return not (in_run or previous.lower() in _ARTICLES)
    return v.past_tense([lowered]) or (lowered.endswith("ed") and len(lowered) > 3)


def _modifier(word: str) -> bool:
    lowered = word.lower()
    return lowered.endswith("ing") and lowered not in v.TECHNOLOGIES


def _is_tech(words: list[str]) -> bool:
    lowered = " ".join(w.lower() for w in words)
    for tech in v.TECHNOLOGIES:
        if not v.contains_phrase(lowered, tech):
            continue
        if tech not in _AMBIGUOUS_TECH or any(w.lower() == tech and w[:1].isupper() for w in words):
            return True
    return False


def _scored(run: list[tuple[str, bool]], before: str) -> tuple[str, int] | None:
    stripped = False
    while run and run[0][0].lower() in _EDGE_WORDS:
        run, stripped = run[1:], True
    # ... nor ends with a modifier ("Kafka consumer lag growing" quotes "Kafka consumer lag").
    while run and (run[-1][0].lower() in _EDGE_WORDS or _modifier(run[-1][0])):
        run = run[:-1]
    run = run[:MAX_PHRASE_WORDS]
    if run and re.search(r"'s?$", run[-1][0]):  # "the database's" names the database
        run = [*run[:-1], (re.sub(r"'s?$", "", run[-1][0]), run[-1][1])]
    if not run or (len(run) == 1 and len(run[0][0]) < 2):
        return None
    words = [_cased(word, initial, run) for word, initial in run]
    lowered = [w.lower() for w in words]
    if all(w in _GENERIC or _is_number(w) for w in lowered):
        return None
    phrase = " ".join(words)
    tech = _is_tech(words)
    proper = any(w[:1].isupper() and not initial for (w, initial) in run)
    number = any(_is_number(w) for w in lowered)
    if len(run) == 1 and not (tech or proper):
        return None  # one plain word ("client") says too little to quote
    score = 3 * tech + 2 * proper + number + (len(run) >= 2)
    article = _DETERMINERS.get(before)
    if article and stripped:
        article = "the"  # "a new apartment" is "the apartment", never "a apartment"
    if article and not proper:
        phrase = f"{article} {phrase}"
    return (phrase, score) if _clean(phrase) else None


def _is_number(word: str) -> bool:
    return bool(v.numbers_in(word)) or word.replace(",", "").replace(".", "").isdigit()


def _cased(word: str, initial: bool, run: list[tuple[str, bool]]) -> str:
    """A sentence's capital is the sentence's, not the word's: "Reporting was slow" quotes
    "reporting"; a technology, an acronym or a name of several capitalised words keeps it."""
    lowered = word.lower()
    if not initial or word.isupper() or (lowered in v.TECHNOLOGIES and lowered not in _COMMON_TECH):
        return word
    if len(run) > 1 and run[1][0][:1].isupper():
        return word
    return word[:1].lower() + word[1:]


def _new_words(phrase: str, asked: set[str], question: str) -> bool:
    """Not the question's own words: most of the phrase's words are not in the question."""
    content = [w for w in _words(phrase) if w not in v.FUNCTION_WORDS]
    if not content or f" {' '.join(_words(phrase))} " in f" {question} ":
        return False
    new = [w for w in content if w not in asked]
    # ... and says something of its own: "the way plants" adds only "way" to the question.
    return len(new) * 2 >= len(content) and any(w not in _GENERIC for w in new)


def _words(text: str) -> list[str]:
    """Lower-cased words without the punctuation that ends a sentence ("deadline." is
    "deadline")."""
    return [w for w in (t.strip(".'/-") for t in v.words(text)) if w]


def _result_clause(outcome: str, asked: set[str], question: str) -> str | None:
    """The clause of the story's ending that claims the result, in the second person:
    "In the end we delivered it on time" -> "you delivered it on time"."""
    markers = v.RESULT_MARKERS + v.OUTCOME_MARKERS
    for sentence in sentences(outcome):
        for clause in _CLAUSE_SPLIT.split(sentence.rstrip(".!?")):
            clause = _LEADING.sub("", clause.strip())
            tokens = clause.split()
            while tokens and tokens[-1].lower().strip(",.") in _TRAILING:
                tokens.pop()
            if not MIN_CLAUSE_WORDS <= len(tokens) <= MAX_QUOTE_WORDS:
                continue
            lowered = " ".join(tokens).lower()
            if not v.matched(f" {lowered} ", markers) or _has_filler(lowered):
                continue
            first = tokens[0].lower()
            if first not in v.FUNCTION_WORDS and tokens[0][:1].isupper():
                continue  # starts with a name or a capitalised word: no clean "you said ..."
            said = _second_person(tokens)
            if _clean(said) and _new_words(said, asked, question):
                return said
    return None


def _has_filler(lowered: str) -> bool:
    return bool(set(lowered.split()) & _FILLER) or bool(v.matched(lowered, v.HEDGES))


def _second_person(tokens: list[str]) -> str:
    out = []
    for n, token in enumerate(tokens):
        bare = token.lower().strip(",.")
        if bare in _SECOND_PERSON:
            out.append(_SECOND_PERSON[bare])
        elif n == 0:
            out.append(token[:1].lower() + token[1:])
        else:
            out.append(token)
    said = " ".join(out).strip(" ,.")
    for wrong, right in _AGREEMENT.items():
        said = re.sub(rf"\b{wrong}\b", right, said)
    return said


def _clean(text: str) -> bool:
    """Words and joiners only, no dangling punctuation, at most MAX_QUOTE_WORDS words."""
    return bool(_CLEAN.match(text)) and 0 < len(text.split()) <= MAX_QUOTE_WORDS
