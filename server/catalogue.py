"""The built-in catalogue: tracks and ready-made interviews, each a recipe for a `PlanSpec`."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engine import PlanSpec

K12_GRADES = tuple(f"Grade {n}" for n in range(6, 13))


@dataclass(frozen=True)
class Track:
    id: str
    name: str
    category: str  # technical | behavioral | k12


@dataclass(frozen=True)
class BuiltinInterview:
    id: str
    track: str
    title: str
    level: str  # Easy | Medium | Hard
    minutes: int
    kind: (
        str  # the interview type: behavioral | technical | case_study | system_design | culture_fit
    )
    skills: tuple[str, ...]
    blurb: str
    grades: tuple[str, ...] = ()  # non-empty: a grade is required when a session is created
    # Coding interviews (catalogue kind "code"): the bank problems one is chosen from per
    # session (pipeline/coding/problems.json); the coding question comes first.
    problems: tuple[str, ...] = ()

    @property
    def catalogue_kind(self) -> str:
        """What the catalogue calls it: `code` for a coding interview, else its type."""
        return "code" if self.problems else self.kind

    def plan_spec(
        self,
        *,
        grade: str | None,
        persona_id: str,
        practice: bool,
        cv_text: str,
        job_description: str,
    ) -> PlanSpec:
        return PlanSpec(
            type=self.kind,
            track=self.track,
            level=self.level.lower(),
            grade=grade,
            skills=tuple((skill, "") for skill in self.skills),
            max_questions=max(3, self.minutes // 4),
            duration_minutes=self.minutes,
            cv_text=cv_text,
            job_description=job_description,
            persona_id=persona_id,
            practice=practice,
        )


TRACKS: tuple[Track, ...] = (
    Track("behavioral", "Behavioral", "behavioral"),
    Track("dsa", "DSA / Problem solving", "technical"),
    Track("system_design", "System design", "technical"),
    Track("frontend", "Frontend engineering", "technical"),
    Track("backend", "Backend engineering", "technical"),
    Track("data", "Data and analytics", "technical"),
    Track("product", "Product management", "behavioral"),
    Track("culture_fit", "Culture fit", "behavioral"),
    Track("k12_math", "Mathematics (K-12)", "k12"),
    Track("k12_science", "Science (K-12)", "k12"),
    Track("k12_english", "English (K-12)", "k12"),
)
TRACK_IDS = tuple(t.id for t in TRACKS)

_I = BuiltinInterview
BUILTIN_INTERVIEWS: tuple[BuiltinInterview, ...] = (
    _I(
        "behavioral-1",
        "behavioral",
        "Tell me about yourself",
        "Easy",
        15,
        "behavioral",
        ("Communication", "Ownership"),
        "A warm-up on your background and one project you own.",
    ),
    _I(
        "behavioral-2",
        "behavioral",
        "Leadership and conflict",
        "Medium",
        25,
        "behavioral",
        ("Leadership", "Conflict resolution", "Judgement"),
        "STAR stories about leading without authority and handling disagreement.",
    ),
    _I(
        "dsa-1",
        "dsa",
        "Arrays and hashing warm-up",
        "Easy",
        20,
        "technical",
        ("Hash maps", "Two pointers"),
        "Talk through classic problems and their complexity.",
    ),
    _I(
        "dsa-2",
        "dsa",
        "Graphs and dynamic programming",
        "Hard",
        30,
        "technical",
        ("Graphs", "Dynamic programming"),
        "Explain approaches, trade-offs and edge cases aloud.",
    ),
    _I(
        "dsa-code-1",
        "dsa",
        "Live coding: arrays and strings",
        "Easy",
        30,
        "technical",
        ("Hash maps", "Problem solving"),
        "Solve a classic problem in the editor, run the tests, then explain its complexity.",
        problems=("two-sum", "valid-parentheses", "longest-unique-substring"),
    ),
    _I(
        "dsa-code-2",
        "dsa",
        "Live coding: algorithms",
        "Hard",
        45,
        "technical",
        ("Dynamic programming", "Graphs"),
        "A harder problem in the editor with hidden tests, then approach and trade-offs.",
        problems=(
            "merge-intervals",
            "number-of-islands",
            "coin-change",
            "longest-increasing-subsequence",
        ),
    ),
    _I(
        "system_design-1",
        "system_design",
        "Design a URL shortener",
        "Medium",
        30,
        "system_design",
        ("Data modelling", "Scaling", "Caching"),
        "Requirements, API, storage and scaling of a classic service.",
    ),
    _I(
        "frontend-1",
        "frontend",
        "Frontend fundamentals",
        "Medium",
        25,
        "technical",
        ("State management", "Performance", "Accessibility"),
        "Rendering, state and accessibility in modern web apps.",
    ),
    _I(
        "backend-1",
        "backend",
        "Backend fundamentals",
        "Medium",
        25,
        "technical",
        ("APIs", "Databases", "Reliability"),
        "APIs, data stores and keeping services up.",
    ),
    _I(
        "data-1",
        "data",
        "Analytics and SQL",
        "Medium",
        25,
        "technical",
        ("SQL", "Statistics", "Data quality"),
        "Query design, metrics and trustworthy data.",
    ),
    _I(
        "product-1",
        "product",
        "Product sense",
        "Medium",
        25,
        "case_study",
        ("Prioritisation", "Metrics", "Product sense"),
        "A product case: users, problems, metrics and trade-offs.",
    ),
    _I(
        "culture_fit-1",
        "culture_fit",
        "Values and ways of working",
        "Easy",
        15,
        "culture_fit",
        ("Collaboration", "Values", "Adaptability"),
        "How you work with others and what you care about.",
    ),
    _I(
        "k12_math-1",
        "k12_math",
        "Explain your maths",
        "Medium",
        15,
        "technical",
        ("Reasoning", "Problem solving"),
        "Explain how you solve problems at your grade level.",
        K12_GRADES,
    ),
    _I(
        "k12_science-1",
        "k12_science",
        "Science explained",
        "Medium",
        15,
        "technical",
        ("Scientific method", "Explanation"),
        "Explain everyday science in your own words.",
        K12_GRADES,
    ),
    _I(
        "k12_english-1",
        "k12_english",
        "Reading and writing",
        "Medium",
        15,
        "technical",
        ("Comprehension", "Expression"),
        "Talk about texts, arguments and how you write.",
        K12_GRADES,
    ),
)
BUILTIN_BY_ID = {i.id: i for i in BUILTIN_INTERVIEWS}


def builtin_interview(interview_id: str) -> BuiltinInterview | None:
    return BUILTIN_BY_ID.get(interview_id)
