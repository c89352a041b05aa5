"""Build an interview plan: custom questions, then CV/JD/company-tailored ones, skills, the bank.

The round changes the mix: a screening asks fewer questions, its motivation and a behavioural
one first; a final round of a technical interview adds a system design question, and of a
behavioural one asks the deeper questions (leadership, judgement, failure) first. A K-12 grade
picks the questions of its grade band (K-2, 3-5, 6-8, 9-12).

Deterministic: the same spec always gives the same plan, so a session's plan can be rebuilt and
explained ("asked because your CV mentions Kafka").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.engine import InterviewPlan, PlanSpec, Question
from pipeline.interview.bank import BANK, GRADE_BANDS, BankQuestion
from pipeline.interview.vocabulary import ACHIEVEMENT_VERBS, TECHNOLOGIES, contains_phrase, words

TECHNICAL_TYPES = frozenset({"technical", "system_design", "case_study"})
DEFAULT_TRACK = {
    "behavioral": "behavioral",
    "culture_fit": "culture_fit",
    "technical": "dsa",
    "system_design": "system_design",
    "case_study": "product",
}
# Time a question costs beyond its answer limit: asking it, one follow-up, the hand-over.
QUESTION_OVERHEAD_S = 45
MAX_CV_QUESTIONS = 2
MAX_JD_QUESTIONS = 1
# Tracks whose questions are tagged by grade band: a K-12 interview asks only those.
K12_TRACKS = frozenset(q.track for q in BANK if q.grades)
SCREENING_MAX_QUESTIONS = 4  # a screening round asks at most this many (custom ones aside)
# Asked first in a final behavioural round: the questions that go deepest.
DEEP_SKILLS = ("Leadership", "Judgement", "Growth mindset")


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SCREENING_WORDS = _set("screen screening prescreen phone recruiter intro introductory initial")
_FINAL_WORDS = _set("final onsite executive panel last")
_BEHAVIORAL_OPENERS = (
    "tell me about a time",
    "describe a time",
    "give an example",
    "give me an example",
    "describe a situation",
)


@dataclass(frozen=True)
class _Draft:
    text: str
    skill: str | None
    source: str
    style: str
    key_points: tuple[str, ...] = ()
    time_limit_s: int = 120
    ideal_answer: str = ""


def build_plan(spec: PlanSpec) -> InterviewPlan:
    style = "technical" if spec.type in TECHNICAL_TYPES else "behavioral"
    track = _track(spec)
    k12 = track in K12_TRACKS
    band = grade_band(spec.grade) if k12 else None
    # A K-12 interview is a check of a pupil's level, not a hiring round at a company.
    kind = "standard" if k12 else round_kind(spec.round)
    company = Company() if k12 else company_of(spec.company_context)
    custom = [
        _Draft(
            q.text,
            q.skill,
            "custom",
            custom_style(q.text, "explanation" if k12 else style),
            q.key_points,
            q.time_limit_s,
            q.ideal_answer,
        )
        for q in spec.questions
    ]
    skill_drafts = _skill_questions(spec, style, band)
    drafts = list(custom)
    if kind == "screening":
        drafts.append(_motivation_question(company))
        drafts += _screening_behavioral(spec, skill_drafts)
    drafts += _cv_questions(spec.cv_text)
    covered = {d.skill for d in drafts if d.skill}
    drafts += _jd_questions(spec.job_description, spec.cv_text, covered, style)
    if kind != "screening" and (company.name or company.domain):
        drafts.append(_company_question(company, style))
    drafts += skill_drafts
    if kind == "final" and spec.type == "technical" and track != "system_design":
        drafts += _design_question(spec, drafts)
    drafts += [_focus_question(area, style) for area in spec.focus_areas]
    drafts += [_from_bank(q) for q in _bank_fill(spec, kind, band)]

    limit = spec.max_questions
    if kind == "screening":
        limit = min(limit, max(SCREENING_MAX_QUESTIONS, len(custom)))
    chosen = _cap(_unique(drafts), limit, spec.duration_minutes)
    questions = tuple(
        Question(
            id=f"q{i + 1}",
            text=d.text,
            time_limit_s=d.time_limit_s,
            skill=d.skill,
            source=d.source,
            style=d.style,
            key_points=d.key_points,
            ideal_answer=d.ideal_answer,
        )
        for i, d in enumerate(chosen)
    )
    skills = tuple(name for name, _ in spec.skills) or tuple(
        dict.fromkeys(q.skill for q in questions if q.skill)
    )
    return InterviewPlan(
        questions=questions,
        persona_id=spec.persona_id,
        practice=spec.practice,
        language=spec.language,
        interview_type=spec.type,
        skills=skills,
        competency_weights=spec.competency_weights,
        duration_s=spec.duration_minutes * 60 if spec.duration_minutes else None,
    )


def grade_band(grade: str | None) -> str | None:
    """The K-12 band of a grade ("Grade 7", "7", "11th", "K", "Kindergarten"); None if unknown."""
    text = (grade or "").strip().lower()
    if not text:
        return None
    if re.search(r"\b(?:k|kg|kindergarten|pre-?k|reception)\b", text):
        return GRADE_BANDS[0]
    number = re.search(r"\d+", text)
    if number is None or not 0 <= int(number.group()) <= 12:
        return None
    n = int(number.group())
    return GRADE_BANDS[0 if n <= 2 else 1 if n <= 5 else 2 if n <= 8 else 3]


def round_kind(value: str | None) -> str:
    """screening | final | standard, from the round's own words ("phone_screen", "Final round",
    "onsite", "first_round", "technical"...)."""
    lowered = (value or "").lower()
    found = set(re.findall(r"[a-z]+", lowered))
    if found & _SCREENING_WORDS:
        return "screening"
    if found & _FINAL_WORDS or "on-site" in lowered or "on site" in lowered:
        return "final"
    return "standard"


def _track(spec: PlanSpec) -> str:
    return spec.track or DEFAULT_TRACK.get(spec.type, "behavioral")


def custom_style(text: str, default: str) -> str:
    """The answer a tenant's question asks for, from its words: a story of what the candidate did
    (behavioural: "describe a project where something went wrong... what did you do?"), an
    approach and its trade-offs (technical: "how would you design..."), or steps and reasoning
    (explanation: "explain why...", "solve..."). Cues anywhere in the question, not only at its
    start; none: the interview's default."""
    lowered = " ".join(text.lower().split())
    if lowered.startswith(_BEHAVIORAL_OPENERS) or _BEHAVIORAL_CUES.search(lowered):
        return "behavioral"
    if _EXPLANATION_CUES.search(lowered):
        return "explanation"
    if _APPROACH_CUES.search(lowered):
        return "technical"
    return default


# A question about the candidate's past: a time, a situation, an example of what they did.
_BEHAVIORAL_CUES = re.compile(
    r"\b(?:a time (?:when|where|that|you|in which)|an? (?:time|situation|occasion|moment|"
    r"project|incident|instance|case|example|decision|mistake|failure|conflict|disagreement) "
    r"(?:when|where|in which|that you|you)|what did you (?:do|learn|change)|how did you "
    r"(?:handle|deal|respond|manage|approach|resolve|decide|get|fix|recover)|have you ever|"
    r"tell (?:me|us) about (?:a|an|one|the last|your (?:biggest|last|most))|"
    r"walk me through (?:a|an|one) (?:time|situation|project|incident))\b"
)
# A question asking for a worked answer and why it holds (a pupil's, or a concept explained).
_EXPLANATION_CUES = re.compile(
    r"^(?:explain|why (?:does|do|is|are|did|can)(?! you\b)|solve|calculate|work out|what is \d|how many|"
    r"how much|show (?:me|that|how))\b|\bexplain (?:to|why|how|what)\b"
)
# A hypothetical: how the candidate would go about something.
_APPROACH_CUES = re.compile(
    r"\b(?:how (?:would|will|should|do|can) you|how you(?:'d| would)|what (?:would|do) you do|"
    r"what would you|"
    r"what steps|design|walk (?:me|us) through how|approach|what is your (?:process|approach))\b"
)


def technologies_in(text: str) -> list[str]:
    lowered = text.lower()
    return [tech for tech in TECHNOLOGIES if contains_phrase(lowered, tech)]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"[\n;•]|(?<=[.!?])\s+", text)
    return [p.strip(" -*\t.") for p in parts if p.strip(" -*\t.")]


def _cv_questions(cv_text: str) -> list[_Draft]:
    drafts: list[_Draft] = []
    for line in _sentences(cv_text):
        techs = technologies_in(line)
        tokens = line.split()
        first = tokens[0].lower() if tokens else ""
        if first == "i" and len(tokens) > 1:
            tokens, first = tokens[1:], tokens[1].lower()
        if not techs or first not in ACHIEVEMENT_VERBS:
            continue
        phrase = " ".join([first, *tokens[1:14]]).rstrip(",.;:")
        drafts.append(
            _Draft(
                f"Your CV mentions you {phrase}. Walk me through it: what was your part, "
                "and how did it turn out?",
                techs[0].title() if len(techs[0]) > 3 else techs[0].upper(),
                "cv",
                "behavioral",
                tuple(techs[:3]),
                180,
            )
        )
        if len(drafts) == MAX_CV_QUESTIONS:
            break
    return drafts


def _jd_questions(jd: str, cv_text: str, covered: set[str], style: str) -> list[_Draft]:
    cv_techs = set(technologies_in(cv_text))
    covered_lower = {c.lower() for c in covered}
    drafts: list[_Draft] = []
    for tech in technologies_in(jd):
        if tech in covered_lower or len(tech) < 3 or tech in {"api", "rest", "git"}:
            continue
        if tech in cv_techs:
            text = (
                f"This role relies on {_display(tech)}, which your CV also lists. "
                f"Tell me about the hardest problem you solved with {_display(tech)}."
            )
        else:
            text = (
                f"This role relies on {_display(tech)}. How have you used it, "
                "or how would you get productive with it in your first month?"
            )
        drafts.append(_Draft(text, _display(tech), "jd", style, (tech,), 150))
        if len(drafts) == MAX_JD_QUESTIONS:
            break
    return drafts


def _display(tech: str) -> str:
    return tech.upper() if len(tech) <= 3 else tech.title() if tech.isalpha() else tech


def _skill_questions(spec: PlanSpec, style: str, band: str | None) -> list[_Draft]:
    track = _track(spec)
    if track in K12_TRACKS:
        return _k12_skill_questions(spec, track, band)
    drafts: list[_Draft] = []
    for name, description in spec.skills:
        match = _bank_match(name, track, spec.type)
        if match is not None:
            drafts.append(_from_bank(match, skill=name))
        elif style == "behavioral":
            detail = f" ({description})" if description else ""
            drafts.append(
                _Draft(
                    f"Tell me about a time you showed {name.lower()}{detail}.",
                    name,
                    "skill",
                    style,
                    (name.lower(),),
                    120,
                )
            )
        else:
            detail = f" {description.rstrip('.')}." if description else ""
            drafts.append(
                _Draft(
                    f"Let's talk about {name}.{detail} Walk me through a problem where you "
                    "applied it, your approach and the trade-offs you weighed.",
                    name,
                    "skill",
                    style,
                    (name.lower(),),
                    180,
                )
            )
    return drafts


def _k12_skill_questions(spec: PlanSpec, track: str, band: str | None) -> list[_Draft]:
    """Each skill gets a question of the subject's grade band: the one tagged with the skill,
    else the band's next one (a pupil is never asked the adult template about trade-offs)."""
    pool = [q for q in BANK if q.track == track and _in_band(q, band)]
    used: set[str] = set()
    drafts: list[_Draft] = []
    for name, _ in spec.skills:
        wanted = set(words(name))
        tagged = [q for q in pool if wanted & set(words(q.skill))]
        found = next((q for q in [*tagged, *pool] if q.text not in used), None)
        if found is None:
            drafts.append(
                _Draft(
                    f"Tell me how you use {name.lower()} at school, with an example.",
                    name,
                    "skill",
                    "explanation",
                    (name.lower(),),
                    120,
                )
            )
            continue
        used.add(found.text)
        drafts.append(_from_bank(found, skill=name))
    return drafts


def _in_band(q: BankQuestion, band: str | None) -> bool:
    return band is None or band in q.grades


def _bank_match(skill: str, track: str, interview_type: str) -> BankQuestion | None:
    wanted = set(words(skill))
    # K-12 questions are for pupils: never an adult interview's skill question.
    candidates = [q for q in BANK if not q.grades and wanted & set(words(q.skill))]
    # Prefer the interview's own track, then its type, then anything tagged with the skill.
    candidates.sort(key=lambda q: (q.track != track, interview_type not in q.types))
    return candidates[0] if candidates else None


def _focus_question(area: str, style: str) -> _Draft:
    if style == "behavioral":
        text = f"Tell me about a situation that tested your {area.lower()}."
    else:
        text = f"How do you approach {area.lower()} in your work? Give a concrete example."
    return _Draft(text, area.title(), "focus", style, (area.lower(),), 120)


def _fits_level(spec: PlanSpec, q: BankQuestion) -> bool:
    level = (spec.level or "").lower()
    return not q.levels or not level or level in q.levels


def _bank_fill(spec: PlanSpec, kind: str, band: str | None) -> list[BankQuestion]:
    track = _track(spec)
    in_track = [q for q in BANK if q.track == track and _fits_level(spec, q) and _in_band(q, band)]
    if track in K12_TRACKS:  # a pupil is asked only the subject's questions for the grade
        return in_track
    by_type = [
        q
        for q in BANK
        if q.track != track and spec.type in q.types and _fits_level(spec, q) and not q.grades
    ]
    fill = in_track + by_type
    if kind == "final" and spec.type not in TECHNICAL_TYPES:
        fill.sort(key=lambda q: q.skill not in DEEP_SKILLS)  # stable: bank order otherwise
    return fill


def _screening_behavioral(spec: PlanSpec, skills: list[_Draft]) -> list[_Draft]:
    """A screening's behavioural question: the first of the bank's behavioural track that no
    skill question already asks (that one keeps its skill)."""
    taken = {d.text.lower() for d in skills}
    for q in BANK:
        if q.track == "behavioral" and _fits_level(spec, q) and q.text.lower() not in taken:
            return [_from_bank(q)]
    return []


def _design_question(spec: PlanSpec, drafts: list[_Draft]) -> list[_Draft]:
    """A final technical round's system design question (the first the plan does not ask)."""
    taken = {d.text.lower() for d in drafts}
    for q in BANK:
        if q.track == "system_design" and _fits_level(spec, q) and q.text.lower() not in taken:
            return [_from_bank(q)]
    return []


@dataclass(frozen=True)
class Company:
    """What a company context names: the company, and its product or domain."""

    name: str | None = None
    domain: str | None = None


_NAME = r"[A-Z][\w&'.+-]*(?:\s+(?:[A-Z][\w&'.+-]*|&|of|and)){0,3}?"
_NAME_VERBS = (
    "is|are|was|builds|makes|develops|provides|offers|operates|runs|sells|creates|designs|"
    "powers|helps|serves|connects|has"
)
_NAMED = re.compile(rf"(?:^|(?<=[.!?]\s)|(?<=\n)|(?<=,\s))({_NAME})\s+(?:{_NAME_VERBS})\b")
_LABELLED = re.compile(
    r"(?im)^\s*(?:company(?:\s+name)?|employer|organi[sz]ation)\s*[:=-]\s*([^\n.,;(]{2,60})"
)
_NOT_NAMES = _set(
    "the we our it its this that they their he she a an founded in at today currently here "
    "there each every you your since with for as"
)
_KIND_OF_BUSINESS = (
    "company|platform|startup|start-up|scale-up|scaleup|provider|firm|business|marketplace|app|"
    "service|agency|bank|retailer|manufacturer|maker|network|lab|studio|consultancy|non-profit|"
    "nonprofit|charity|insurer|publisher|developer|specialist|group|brand|leader|tool|software"
)
_IS_A = re.compile(
    rf"\b(?:is|are|was)\s+(?:a|an|the)\s+([\w&'/ -]{{3,80}}?)\s+(?:{_KIND_OF_BUSINESS})\b",
    re.IGNORECASE,
)
_PRODUCT = re.compile(
    r"\b(?:builds|makes|develops|provides|offers|sells|creates|designs|powers)\s+"
    r"([^.;:!?\n]{3,80})"
)
_PRODUCT_END = re.compile(r",|\s(?:that|which|who|so|to help|used by|trusted by|since|with)\s")
# Words of a company's self-description that say nothing about what it does.
_PUFFERY = _set(
    "leading global fast-growing growing small large big new young well-known major top "
    "world's world-class innovative award-winning remote-first venture-backed funded "
    "based uk-based us-based european american international successful established "
    "modern trusted premier largest biggest fastest one most popular best favourite favorite "
    "first only"
)
MAX_DOMAIN_WORDS = 6


def company_of(context: str) -> Company:
    """The company's name and its domain or product, read from a company context ("Stripe is a
    payments infrastructure company..."); either may be None when the text does not say."""
    text = " ".join(context.split()) if context else ""
    return Company(_company_name(context or ""), _company_domain(text))


def _company_name(context: str) -> str | None:
    labelled = _LABELLED.search(context)
    if labelled:
        name = _clean_phrase(labelled.group(1), 5)
        if name:
            return name
    for match in _NAMED.finditer(" ".join(context.split())):
        name = match.group(1)
        tokens = name.split()
        if tokens[0].lower() in _NOT_NAMES or tokens[-1].lower() in {"of", "and", "&"}:
            continue
        return _clean_phrase(name, 4)
    return None


def _company_domain(text: str) -> str | None:
    match = _IS_A.search(text)
    if match:
        kept = [w for w in match.group(1).split() if w.lower() not in _PUFFERY]
        domain = _clean_phrase(" ".join(kept), MAX_DOMAIN_WORDS)
        if domain:
            return domain
    match = _PRODUCT.search(text)
    if match:
        phrase = _PRODUCT_END.split(match.group(1) + " ")[0]
        return _clean_phrase(phrase, MAX_DOMAIN_WORDS)
    return None


def _clean_phrase(text: str, max_words: int) -> str | None:
    """Letters, digits and a few joiners; at most max_words words; None if nothing is left."""
    kept = re.sub(r"[^\w&'/+. -]", " ", text)
    tokens = kept.split()[:max_words]
    phrase = " ".join(tokens).strip(" .-/&'")
    return phrase if re.search(r"[A-Za-z]", phrase) else None


def _motivation_question(company: Company) -> _Draft:
    """A screening's first question: why this company (and its domain), or this role."""
    name, domain = company.name, company.domain
    if name and domain:
        text = (
            f"Why do you want to work at {name}? Tell me about something you did or saw that "
            f"drew you to {domain}."
        )
    elif name:
        text = f"Why do you want to work at {name}, and what do you hope to achieve there?"
    elif domain:
        text = (
            f"What draws you to {domain}? Tell me about something you did or saw that sparked "
            "that interest."
        )
    else:
        text = "What draws you to this role, and what are you looking for in your next one?"
    points = tuple(p.lower() for p in (name, domain) if p)
    return _Draft(text, "Motivation", "company" if points else "round", "behavioral", points, 120)


def _company_question(company: Company, style: str) -> _Draft:
    """A question naming the company's domain or product, as the JD tailoring names a
    technology; without a domain, why this company."""
    if not company.domain:
        return _motivation_question(company)
    who = company.name or "This company"
    domain = company.domain
    if style == "technical":
        text = (
            f"{who} works on {domain}. What technical challenge would you expect in {domain}, "
            "and how would you approach it?"
        )
        return _Draft(text, "Domain knowledge", "company", style, (domain.lower(),), 180)
    text = (
        f"{who} works on {domain}. Tell me about a time you had to get up to speed in a new "
        "domain: what did you do, and how did it turn out?"
    )
    return _Draft(text, "Domain knowledge", "company", style, (domain.lower(),), 120)


def _from_bank(q: BankQuestion, skill: str | None = None) -> _Draft:
    return _Draft(q.text, skill or q.skill, "bank", q.style, q.key_points, q.time_limit_s)


def _unique(drafts: list[_Draft]) -> list[_Draft]:
    seen: set[str] = set()
    unique: list[_Draft] = []
    for draft in drafts:
        key = draft.text.lower()
        if key not in seen:
            seen.add(key)
            unique.append(draft)
    return unique


def _cap(drafts: list[_Draft], max_questions: int, duration_minutes: int | None) -> list[_Draft]:
    budget = duration_minutes * 60 if duration_minutes else None
    chosen: list[_Draft] = []
    spent = 0
    for draft in drafts:
        if len(chosen) >= max(max_questions, 1):
            break
        cost = draft.time_limit_s + QUESTION_OVERHEAD_S
        if budget is not None and chosen and spent + cost > budget:
            continue  # a shorter question further down may still fit
        chosen.append(draft)
        spent += cost
    return chosen
