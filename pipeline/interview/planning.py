"""Build an interview plan: custom questions, then CV/JD-tailored ones, skills, the bank.

Deterministic: the same spec always gives the same plan, so a session's plan can be rebuilt and
explained ("asked because your CV mentions Kafka").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.engine import InterviewPlan, PlanSpec, Question
from pipeline.interview.bank import BANK, BankQuestion
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


def build_plan(spec: PlanSpec) -> InterviewPlan:
    style = "technical" if spec.type in TECHNICAL_TYPES else "behavioral"
    drafts: list[_Draft] = [
        _Draft(text, None, "custom", _custom_style(text, style), (), limit)
        for text, limit in spec.questions
    ]
    drafts += _cv_questions(spec.cv_text)
    covered = {d.skill for d in drafts if d.skill}
    drafts += _jd_questions(spec.job_description, spec.cv_text, covered, style)
    drafts += _skill_questions(spec, style)
    drafts += [_focus_question(area, style) for area in spec.focus_areas]
    drafts += [_from_bank(q) for q in _bank_fill(spec)]

    chosen = _cap(_unique(drafts), spec.max_questions, spec.duration_minutes)
    questions = tuple(
        Question(
            id=f"q{i + 1}",
            text=d.text,
            time_limit_s=d.time_limit_s,
            skill=d.skill,
            source=d.source,
            style=d.style,
            key_points=d.key_points,
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
    )


def _custom_style(text: str, default: str) -> str:
    lowered = text.lower()
    return "behavioral" if lowered.startswith(_BEHAVIORAL_OPENERS) else default


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


def _skill_questions(spec: PlanSpec, style: str) -> list[_Draft]:
    drafts: list[_Draft] = []
    track = spec.track or DEFAULT_TRACK.get(spec.type, "behavioral")
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


def _bank_match(skill: str, track: str, interview_type: str) -> BankQuestion | None:
    wanted = set(words(skill))
    candidates = [q for q in BANK if wanted & set(words(q.skill))]
    # Prefer the interview's own track, then its type, then anything tagged with the skill.
    candidates.sort(key=lambda q: (q.track != track, interview_type not in q.types))
    return candidates[0] if candidates else None


def _focus_question(area: str, style: str) -> _Draft:
    if style == "behavioral":
        text = f"Tell me about a situation that tested your {area.lower()}."
    else:
        text = f"How do you approach {area.lower()} in your work? Give a concrete example."
    return _Draft(text, area.title(), "focus", style, (area.lower(),), 120)


def _bank_fill(spec: PlanSpec) -> list[BankQuestion]:
    track = spec.track or DEFAULT_TRACK.get(spec.type, "behavioral")
    level = (spec.level or "").lower()

    def fits(q: BankQuestion) -> bool:
        return not q.levels or not level or level in q.levels

    in_track = [q for q in BANK if q.track == track and fits(q)]
    by_type = [q for q in BANK if q.track != track and spec.type in q.types and fits(q)]
    return in_track + by_type


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
