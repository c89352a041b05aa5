"""Plans: custom questions first, CV/JD tailoring, skills from the bank, caps."""

from __future__ import annotations

from pipeline.engine import PlanSpec
from pipeline.interview.bank import BANK
from pipeline.interview.planning import build_plan

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
    spec = PlanSpec(questions=(("Why this role?", 60), ("What are you proud of?", 240)))
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
        PlanSpec(questions=(("Walk me through your career.", 900),), duration_minutes=5)
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
