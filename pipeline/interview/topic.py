"""What a question is about, without the words that only ask: "Describe a project where
something went wrong in production. What did you do?" is about "something went wrong in
production".

An answer is judged on topic by how close its claims come to the question and to this core. The
asking words ("describe a project where", "what did you do") are in every behavioural question
and in no answer: a specific story, told in the candidate's own words, sits far from them even
when it is squarely about the topic, while generic talk ("I always stay calm") sits close to them.
"""

from __future__ import annotations

import re

# Asking words, removed wherever they stand (longest first, so "tell me about a time when" goes
# whole). Each removal leaves the topic's own words in their order.
_ASKING = [
    r"(?:can|could|would|will) you (?:please )?",
    r"please ",
    r"tell (?:me|us) about ",
    r"(?:describe|share|recall|give (?:me |us )?an example of|talk (?:me |us )?(?:about|through)|"
    r"walk (?:me|us) through|explain(?: to [^,.?]*?(?= why| how| what| that| the | whether))?)",
    r"(?:a|an|one|the last|your (?:last|biggest|most recent|best|worst)) (?:time|situation|"
    r"occasion|moment|project|incident|instance|case|example|experience)s? "
    r"(?:when|where|in which|that|you)?\s*",
    r"what (?:did|do|would|will) you (?:do|did)?(?: about it| next| then)?\s*",
    r"how did you (?:handle|deal with|respond to|manage|approach|resolve) (?:it|that|this)\s*",
    r"what (?:was|were) the (?:outcome|result)s?\s*",
    r"what did you learn(?: from it)?\s*",
    r"what happened(?: next)?\s*",
    r"how (?:would|will|should|do|can) you ",
    r"how you(?:'d| would) ",
    r"what (?:is|was) your (?:approach|process) (?:to|for) ",
    r"in your (?:own )?words,?\s*",
]
_ASKING_RE = re.compile(r"\b(?:" + "|".join(_ASKING) + r")", re.IGNORECASE)


def topic_of(question: str) -> str:
    """The question's topic: its words less those that only ask. The question itself when
    nothing is left (a question made only of asking words) or nothing was removed."""
    core = _ASKING_RE.sub(" ", question)
    core = re.sub(r"[?.!]+", ".", core)
    parts = [p.strip(" ,;:-") for p in core.split(".")]
    core = ". ".join(p for p in parts if len(p.split()) >= 2)
    core = " ".join(core.split())
    if len(core.split()) < 2 or core.lower() == question.lower().strip(" ?.!"):
        return question
    return core
