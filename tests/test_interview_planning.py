"""Plans: custom questions first, CV/JD/company tailoring, skills from the bank, caps; the round
changes the mix and a K-12 grade the questions."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.engine import CustomQuestionSpec, PlanSpec
from pipeline.interview.bank import BANK, GRADE_BANDS
from pipeline.interview.planning import (
    SCREENING_MAX_QUESTIONS,
    Company,
    build_plan,
    company_of,
    grade_band,
    round_kind,
)
from server.interviews import StoredInterview

CV = """Jane Doe, backend engineer.
- Led the Kafka migration for the payments platform, cutting consumer lag by 80%
- Built a Postgres sharding layer serving 20k queries per second
- Enjoys climbing"""
JD = "We build our platform on Kubernetes and Kafka, with Python services."
TRACKS = [
    "behavioral",
    "dsa",
    "system_design",
    "frontend",
    "backend",
    "data",
    "product",
    "culture_fit",
    "k12_math",
    "k12_science",
    "k12_english",
]


def test_custom_questions_come_first_in_order_with_their_limits() -> None:
    spec = PlanSpec(
        questions=(
            CustomQuestionSpec("Why this role?", 60),
            CustomQuestionSpec("What are you proud of?", 240),
        )
    )
    plan = build_plan(spec)
    assert [(q.text, q.time_limit_s, q.source) for q in plan.questions[:2]] == [
        ("Why this role?", 60, "custom"),
        ("What are you proud of?", 240, "custom"),
    ]
    assert [q.id for q in plan.questions] == [f"q{i + 1}" for i in range(len(plan.questions))]


def test_cv_and_job_description_tailor_the_questions() -> None:
    plan = build_plan(PlanSpec(type="technical", track="backend", cv_text=CV, job_description=JD))
    cv = [q for q in plan.questions if q.source == "cv"]
    assert cv[0].text.startswith("Your CV mentions you led the Kafka migration")
    assert "Postgres sharding" in cv[1].text
    assert "climbing" not in " ".join(q.text for q in plan.questions)  # not an achievement
    jd = [q for q in plan.questions if q.source == "jd"]
    # Kafka is already covered by the CV question: the JD question goes to Kubernetes.
    assert len(jd) == 1 and "Kubernetes" in jd[0].text
    untailored = build_plan(PlanSpec(type="technical", track="backend"))
    assert all(q.source == "bank" for q in untailored.questions)


def test_skills_take_matching_bank_questions_or_a_template() -> None:
    spec = PlanSpec(
        type="technical",
        track="dsa",
        skills=(("Hash maps", "lookups in O(1)"), ("Negotiation", "closing deals")),
    )
    plan = build_plan(spec)
    by_skill = {q.skill: q for q in plan.questions}
    assert by_skill["Hash maps"].source == "bank" and "target" in by_skill["Hash maps"].text
    assert (
        by_skill["Negotiation"].source == "skill" and "Negotiation" in by_skill["Negotiation"].text
    )
    assert plan.skills == ("Hash maps", "Negotiation")


def test_max_questions_and_duration_cap_the_plan() -> None:
    assert len(build_plan(PlanSpec(track="dsa", type="technical", max_questions=3)).questions) == 3
    # 10 minutes: 180 s questions cost 225 s each with overhead, so two fit.
    short = build_plan(PlanSpec(track="dsa", type="technical", duration_minutes=10))
    assert len(short.questions) == 2
    # A single long custom question is still asked.
    one = build_plan(
        PlanSpec(
            questions=(CustomQuestionSpec("Walk me through your career.", 900),), duration_minutes=5
        )
    )
    assert len(one.questions) == 1


def test_every_track_has_questions_and_k12_uses_the_explanation_style() -> None:
    for track in TRACKS:
        assert any(q.track == track for q in BANK), track
    math = build_plan(PlanSpec(type="technical", track="k12_math", grade="7"))
    assert math.questions and all(q.style == "explanation" for q in math.questions[:3])
    behavioral = build_plan(PlanSpec(type="behavioral"))
    assert all(q.style == "behavioral" for q in behavioral.questions)


def test_same_spec_same_plan() -> None:
    spec = PlanSpec(type="technical", track="backend", cv_text=CV, job_description=JD)
    assert build_plan(spec) == build_plan(spec)


STRIPE = "Stripe is a payments infrastructure company that builds economic infrastructure."
SUBJECTS = ("k12_math", "k12_science", "k12_english")


def test_grades_fall_into_bands() -> None:
    cases = {
        "Grade 2": "k-2",
        "K": "k-2",
        "Kindergarten": "k-2",
        "3": "3-5",
        "5th grade": "3-5",
        "Grade 6": "6-8",
        "grade 8": "6-8",
        "Grade 11": "9-12",
        "12th": "9-12",
        "Grade 13": None,
        "senior": None,
        None: None,
    }
    assert {grade: grade_band(grade) for grade in cases} == cases


def test_every_grade_band_of_every_subject_has_questions_with_key_points() -> None:
    for track in SUBJECTS:
        for band in GRADE_BANDS:
            mine = [q for q in BANK if q.track == track and band in q.grades]
            assert len(mine) >= 3, (track, band)
            # Key points with statements: judged by meaning, not by their label's words.
            assert all(q.criteria and not any(k.bare for k in q.criteria) for q in mine)
    assert all(q.grades for q in BANK if q.track in SUBJECTS)
    assert not any(q.grades for q in BANK if q.track not in SUBJECTS)


def test_a_k12_grade_changes_the_questions_asked() -> None:
    for track in SUBJECTS:
        plans = {}
        for grade in ("Grade 2", "Grade 4", "Grade 7", "Grade 11"):
            spec = PlanSpec(
                type="technical",
                track=track,
                grade=grade,
                skills=(("Reasoning", ""), ("Problem solving", "")),
                max_questions=8,
                duration_minutes=30,
            )
            plan = build_plan(spec)
            band = grade_band(grade)
            by_text = {q.text: q for q in BANK}
            # Only the grade band's questions of the subject: never the adult templates, never
            # another subject's or another band's.
            assert plan.questions and all(q.style == "explanation" for q in plan.questions)
            assert all(band in by_text[q.text].grades for q in plan.questions), (track, grade)
            assert all(by_text[q.text].track == track for q in plan.questions)
            assert all(q.key_points for q in plan.questions)
            assert [q.skill for q in plan.questions[:2]] == ["Reasoning", "Problem solving"]
            plans[grade] = {q.text for q in plan.questions}
        assert not plans["Grade 2"] & plans["Grade 11"], track
        assert plans["Grade 2"] != plans["Grade 7"] != plans["Grade 11"]
    grade2 = build_plan(PlanSpec(type="technical", track="k12_math", grade="Grade 2"))
    assert "apples" in grade2.questions[0].text
    grade11 = build_plan(PlanSpec(type="technical", track="k12_math", grade="Grade 11"))
    assert not {q.text for q in grade2.questions} & {q.text for q in grade11.questions}


def test_adult_interviews_never_ask_k12_questions() -> None:
    k12 = {q.text for q in BANK if q.grades}
    for kind in ("technical", "behavioral", "case_study", "system_design"):
        plan = build_plan(PlanSpec(type=kind, max_questions=20, skills=(("Statistics", ""),)))
        assert not k12 & {q.text for q in plan.questions}, kind


def test_a_screening_round_asks_fewer_questions_motivation_and_behaviour_first() -> None:
    base = PlanSpec(type="technical", track="dsa", max_questions=8, company_context=STRIPE)
    standard = build_plan(base)
    screen = build_plan(dataclasses.replace(base, round="phone_screen"))
    assert len(screen.questions) == SCREENING_MAX_QUESTIONS < len(standard.questions)
    first, second = screen.questions[:2]
    assert first.text.startswith("Why do you want to work at Stripe?")
    assert "payments infrastructure" in first.text and first.skill == "Motivation"
    assert second.style == "behavioral" and second.source == "bank"
    # Custom questions are never cut by the round's cap.
    custom = tuple(CustomQuestionSpec(f"Custom question {n}?", 60) for n in range(6))
    many = build_plan(dataclasses.replace(base, round="screening", questions=custom))
    assert [q.text for q in many.questions] == [c.text for c in custom]
    # Without a company: why this role.
    plain = build_plan(PlanSpec(type="behavioral", round="Recruiter screen"))
    assert plain.questions[0].text.startswith("What draws you to this role")


def test_a_final_round_goes_deeper() -> None:
    technical = PlanSpec(type="technical", track="dsa", skills=(("Hash maps", ""),))
    standard = build_plan(technical)
    final = build_plan(dataclasses.replace(technical, round="final_round"))
    design = {q.text for q in BANK if q.track == "system_design"}
    assert final.questions[0] == standard.questions[0]  # the skill question keeps its place
    assert final.questions[1].text in design and final.questions[1].text.startswith("Design")
    assert not design & {q.text for q in standard.questions[:5]}
    behavioral = PlanSpec(type="behavioral", max_questions=3)
    deep = build_plan(dataclasses.replace(behavioral, round="Final"))
    assert [q.skill for q in deep.questions] == ["Growth mindset", "Leadership", "Judgement"]
    assert build_plan(behavioral).questions[0].skill == "Ownership"


def test_rounds_read_the_callers_words() -> None:
    kinds = {
        "phone_screen": "screening",
        "Screening": "screening",
        "recruiter call": "screening",
        "first_round": "standard",
        "second_round": "standard",
        "technical": "standard",
        None: "standard",
        "final_round": "final",
        "On-site": "final",
        "onsite loop": "final",
    }
    assert {value: round_kind(value) for value in kinds} == kinds
    # An unknown or absent round leaves the plan as it was.
    spec = PlanSpec(type="technical", track="backend", cv_text=CV, job_description=JD)
    assert build_plan(dataclasses.replace(spec, round="second_round")) == build_plan(spec)


def test_company_context_tailors_a_question() -> None:
    technical = PlanSpec(type="technical", track="backend", company_context=STRIPE)
    plan = build_plan(technical)
    company = [q for q in plan.questions if q.source == "company"]
    assert len(company) == 1 and company[0].text.startswith(
        "Stripe works on payments infrastructure. What technical challenge"
    )
    assert company[0].key_points == ("payments infrastructure",)
    behavioral = build_plan(PlanSpec(type="behavioral", company_context=STRIPE))
    assert behavioral.questions[0].text.startswith("Stripe works on payments infrastructure.")
    assert behavioral.questions[0].style == "behavioral"
    # The company named, its domain unsaid: why this company.
    named = build_plan(PlanSpec(type="behavioral", company_context="Company: Globex Corp"))
    assert named.questions[0].text.startswith("Why do you want to work at Globex Corp")
    # Nothing to hold on to: no company question at all.
    vague = build_plan(PlanSpec(type="behavioral", company_context="We value ownership."))
    assert build_plan(PlanSpec(type="behavioral")) == vague
    # A K-12 interview is not a job at a company.
    k12 = PlanSpec(type="technical", track="k12_math", grade="7", company_context=STRIPE)
    assert all(q.source == "bank" for q in build_plan(k12).questions)


@pytest.mark.parametrize(
    ("context", "name", "domain"),
    [
        (STRIPE, "Stripe", "payments infrastructure"),
        (
            "Founded in 2012, Acme Robotics builds warehouse robots.",
            "Acme Robotics",
            "warehouse robots",
        ),
        ("We are a fast-growing B2B SaaS startup.", None, "B2B SaaS"),
        (
            "Duolingo is the world's most popular language learning platform.",
            "Duolingo",
            "language learning",
        ),
        ("Company: Globex Corp\nWe make things better.", "Globex Corp", None),
        ("The company is a leading global provider.", None, None),
        ("", None, None),
    ],
)
def test_company_context_names_the_company_and_its_domain(
    context: str, name: str | None, domain: str | None
) -> None:
    assert company_of(context) == Company(name, domain)


def test_same_inputs_same_plan_and_different_inputs_different_plans() -> None:
    specs = [
        PlanSpec(type="technical", track="k12_science", grade=grade)
        for grade in ("Grade 1", "Grade 4", "Grade 7", "Grade 10")
    ] + [
        PlanSpec(type="technical", track="dsa", round=r, company_context=c)
        for r in (None, "phone_screen", "final_round")
        for c in ("", STRIPE)
    ]
    plans = [build_plan(spec) for spec in specs]
    assert plans == [build_plan(spec) for spec in specs]
    texts = [tuple(q.text for q in plan.questions) for plan in plans]
    assert len(set(texts)) == len(texts)


def test_the_plan_keeps_the_time_budget() -> None:
    assert build_plan(PlanSpec(duration_minutes=20)).duration_s == 1200
    assert build_plan(PlanSpec()).duration_s is None


def test_a_stored_interview_gives_its_round_company_and_the_sessions_grade() -> None:
    interview = StoredInterview(
        name="Payments engineer",
        type="technical",
        track="backend",
        round="phone_screen",
        company_context=STRIPE,
        id="int_1",
        tenant_id="ten_1",
        created_at=0.0,
        updated_at=0.0,
    )
    spec = interview.plan_spec(
        persona_id=None, practice=False, grade="Grade 9", cv_text="", job_description=""
    )
    assert (spec.round, spec.company_context, spec.grade) == ("phone_screen", STRIPE, "Grade 9")
    assert build_plan(spec).questions[0].text.startswith("Why do you want to work at Stripe?")
