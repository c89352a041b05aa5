"""Link a tenant's own questions to the interview's skills, by meaning.

A custom question may name its skill; when it does not, the closest skill is taken: the cosine of
the question (with what the tenant says a good answer covers) and each skill (its name and
description), all-MiniLM-L6-v2 as the scorer uses. Deterministic: the same texts give the same
skill. The server says in the interview it returns which skills were assigned this way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.interview.analysis import Embedder


def skill_text(name: str, description: str) -> str:
    return f"{name}: {description}" if description.strip() else name


def question_text(question: str, key_points: Sequence[str] = (), ideal_answer: str = "") -> str:
    return " ".join([question, *key_points, ideal_answer]).strip()


def closest_skills(
    questions: Sequence[str], skills: Sequence[tuple[str, str]], embedder: Embedder
) -> list[str]:
    """For each question text, the name of the skill closest to it in meaning."""
    if not skills:
        raise ValueError("no skills to link the questions to")
    if not questions:
        return []
    names = [name for name, _ in skills]
    vectors = np.asarray(
        embedder.embed([*questions, *(skill_text(n, d) for n, d in skills)]), dtype=np.float32
    )
    q, s = vectors[: len(questions)], vectors[len(questions) :]
    # Rounded before the argmax, as the scorer compares: the same choice on any BLAS.
    similarity = np.round(q @ s.T, 4)
    return [names[int(np.argmax(row))] for row in similarity]
