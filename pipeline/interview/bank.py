"""The built-in question bank, tagged by track, interview type, skill and level.

Each question carries the key points a strong answer covers: the anchors of its rating scale.
"""

from __future__ import annotations

from dataclasses import dataclass

ANY_LEVEL: tuple[str, ...] = ()


@dataclass(frozen=True)
class BankQuestion:
    text: str
    track: str
    types: tuple[str, ...]
    skill: str
    style: str  # behavioral | technical | explanation (K-12)
    key_points: tuple[str, ...] = ()
    levels: tuple[str, ...] = ANY_LEVEL  # empty: every level
    time_limit_s: int = 120


def _b(
    text: str, track: str, skill: str, *key_points: str, types: str = "behavioral"
) -> BankQuestion:
    return BankQuestion(text, track, tuple(types.split(",")), skill, "behavioral", key_points)


def _t(
    text: str, track: str, skill: str, *key_points: str, types: str = "technical", time: int = 180
) -> BankQuestion:
    return BankQuestion(
        text, track, tuple(types.split(",")), skill, "technical", key_points, (), time
    )


def _k(text: str, track: str, skill: str, *key_points: str) -> BankQuestion:
    return BankQuestion(text, track, ("technical",), skill, "explanation", key_points, (), 120)


BANK: tuple[BankQuestion, ...] = (
    # behavioral
    _b(
        "Tell me about a time you had to deliver a project under a tight deadline.",
        "behavioral",
        "Ownership",
        "deadline",
        "prioritised scope",
        "outcome",
    ),
    _b(
        "Describe a disagreement with a colleague and how you resolved it.",
        "behavioral",
        "Collaboration",
        "conflict",
        "listened",
        "agreement",
    ),
    _b(
        "Tell me about a time you failed. What did you learn?",
        "behavioral",
        "Growth mindset",
        "mistake",
        "lesson",
        "changed behaviour",
    ),
    _b(
        "Tell me about a time you led a team or an initiative without formal authority.",
        "behavioral",
        "Leadership",
        "influence",
        "aligned people",
        "result",
    ),
    _b(
        "Describe a decision you made with incomplete information.",
        "behavioral",
        "Judgement",
        "risk",
        "data",
        "outcome",
    ),
    _b(
        "Tell me about a time you went beyond what was asked to help a customer or user.",
        "behavioral",
        "Customer focus",
        "customer",
        "problem",
        "impact",
    ),
    # culture fit
    _b(
        "What kind of team environment helps you do your best work, and why?",
        "culture_fit",
        "Values",
        "environment",
        "example",
        types="culture_fit,behavioral",
    ),
    _b(
        "Tell me about a time you gave or received difficult feedback.",
        "culture_fit",
        "Communication",
        "feedback",
        "conversation",
        "change",
        types="culture_fit,behavioral",
    ),
    _b(
        "Describe a time you had to adapt to a big change at work.",
        "culture_fit",
        "Adaptability",
        "change",
        "adapted",
        "result",
        types="culture_fit,behavioral",
    ),
    # DSA
    _t(
        "Given an array of integers and a target, return the indices of two numbers that add up to the target. How would you solve it?",
        "dsa",
        "Hash maps",
        "hash map",
        "single pass",
        "O(n) time",
    ),
    _t(
        "How would you detect a cycle in a linked list?",
        "dsa",
        "Two pointers",
        "slow and fast pointers",
        "O(1) space",
        "O(n) time",
    ),
    _t(
        "How would you find the k most frequent words in a large list?",
        "dsa",
        "Heaps",
        "hash map counts",
        "heap of size k",
        "n log k",
    ),
    _t(
        "How would you find the shortest path between two cells in a grid with obstacles?",
        "dsa",
        "Graphs",
        "breadth-first search",
        "visited set",
        "O(rows times columns)",
    ),
    _t(
        "How would you merge overlapping intervals?",
        "dsa",
        "Sorting",
        "sort by start",
        "merge adjacent",
        "n log n",
    ),
    # system design
    _t(
        "Design a URL shortener that handles 100 million new links a month.",
        "system_design",
        "Scalability",
        "id generation",
        "key-value store",
        "cache",
        "read-heavy",
        types="system_design,technical",
    ),
    _t(
        "Design a rate limiter for a public API.",
        "system_design",
        "Distributed systems",
        "token bucket",
        "per-client counters",
        "Redis",
        "consistency",
        types="system_design,technical",
    ),
    _t(
        "Design the backend of a chat application with online presence.",
        "system_design",
        "Real-time systems",
        "WebSocket",
        "message store",
        "fan-out",
        "presence",
        types="system_design,technical",
    ),
    _t(
        "Design a news feed for a social network.",
        "system_design",
        "Data modelling",
        "fan-out on write",
        "ranking",
        "cache",
        types="system_design,technical",
    ),
    # frontend
    _t(
        "How would you make a slow React page load faster?",
        "frontend",
        "Performance",
        "measure",
        "code splitting",
        "memoization",
        "bundle size",
    ),
    _t(
        "How do you manage state in a large single-page application?",
        "frontend",
        "State management",
        "local versus global state",
        "store",
        "server cache",
    ),
    _t(
        "How do you make a web form accessible?",
        "frontend",
        "Accessibility",
        "labels",
        "keyboard",
        "ARIA",
        "contrast",
    ),
    # backend
    _t(
        "How would you design a REST API for an order service, including errors and versioning?",
        "backend",
        "API design",
        "resources",
        "status codes",
        "idempotency",
        "versioning",
    ),
    _t(
        "A database query has become slow in production. How do you investigate and fix it?",
        "backend",
        "Databases",
        "explain plan",
        "index",
        "measure",
        "N+1",
    ),
    _t(
        "How do you make a background job system reliable?",
        "backend",
        "Reliability",
        "queue",
        "retries with back-off",
        "idempotency",
        "dead-letter",
    ),
    # data
    _t(
        "How would you design a pipeline that loads daily events into a warehouse?",
        "data",
        "Data pipelines",
        "ingestion",
        "schema",
        "idempotent loads",
        "backfill",
    ),
    _t(
        "How would you tell whether an A/B test result is real?",
        "data",
        "Statistics",
        "hypothesis",
        "sample size",
        "p-value or confidence interval",
    ),
    _t(
        "A dashboard metric suddenly dropped by 30 percent. How do you find out why?",
        "data",
        "Analysis",
        "data quality",
        "segment",
        "root cause",
        types="technical,case_study",
    ),
    # product
    _t(
        "How would you decide what to build next for a product with falling retention?",
        "product",
        "Product sense",
        "users",
        "data",
        "prioritisation",
        "metric",
        types="case_study,technical",
    ),
    _t(
        "Estimate how many ride-share trips happen in a large city in a day.",
        "product",
        "Estimation",
        "assumptions",
        "population",
        "calculation",
        types="case_study",
    ),
    _t(
        "What metrics would you track for a new onboarding flow, and why?",
        "product",
        "Metrics",
        "activation",
        "funnel",
        "guardrail",
        types="case_study,technical",
    ),
    # K-12
    _k(
        "How would you solve 3x + 7 = 22, and how would you check your answer?",
        "k12_math",
        "Algebra",
        "subtract 7",
        "divide by 3",
        "x = 5",
        "check",
    ),
    _k(
        "What is the area of a rectangle 8 cm long and 5 cm wide, and how did you work it out?",
        "k12_math",
        "Geometry",
        "length times width",
        "40 square centimetres",
    ),
    _k(
        "A shirt costs 40 dollars and is 25 percent off. What is the sale price?",
        "k12_math",
        "Percentages",
        "25 percent of 40 is 10",
        "30 dollars",
    ),
    _k(
        "Explain how plants make their food.",
        "k12_science",
        "Biology",
        "photosynthesis",
        "sunlight",
        "carbon dioxide",
        "water",
        "glucose",
        "oxygen",
    ),
    _k(
        "Why do we have seasons on Earth?",
        "k12_science",
        "Earth science",
        "tilt of the axis",
        "orbit",
        "sunlight angle",
    ),
    _k(
        "What happens to water when it boils, and why?",
        "k12_science",
        "Physical science",
        "heat energy",
        "liquid to gas",
        "100 degrees Celsius",
    ),
    _k(
        "What is the main idea of a story you read recently, and how do you know?",
        "k12_english",
        "Reading comprehension",
        "main idea",
        "evidence from the text",
    ),
    _k(
        "Describe your favourite place using three vivid details.",
        "k12_english",
        "Descriptive writing",
        "senses",
        "details",
    ),
    _k(
        "What is the difference between a fact and an opinion? Give an example of each.",
        "k12_english",
        "Critical reading",
        "fact can be checked",
        "opinion is a belief",
        "examples",
    ),
)
