"""Word lists the analysis and the tailoring share: technologies, and the markers of answer parts.

Lists, not models: every signal they give can be explained by pointing at the words matched.
"""

from __future__ import annotations

import re

# Technologies, tools and named concepts: signs of a specific answer, and CV/JD topics to ask about.
TECHNOLOGIES: tuple[str, ...] = (
    "airflow",
    "android",
    "angular",
    "ansible",
    "aws",
    "azure",
    "bigquery",
    "c#",
    "c++",
    "cassandra",
    "celery",
    "ci/cd",
    "docker",
    "django",
    "dynamodb",
    "elasticsearch",
    "etl",
    "fastapi",
    "flask",
    "gcp",
    "git",
    "go",
    "golang",
    "graphql",
    "grpc",
    "hadoop",
    "ios",
    "java",
    "javascript",
    "jenkins",
    "kafka",
    "kotlin",
    "kubernetes",
    "lambda",
    "linux",
    "machine learning",
    "microservices",
    "mongodb",
    "mysql",
    "next.js",
    "nginx",
    "node.js",
    "nodejs",
    "numpy",
    "pandas",
    "postgres",
    "postgresql",
    "prometheus",
    "python",
    "pytorch",
    "rabbitmq",
    "react",
    "redis",
    "rest",
    "ruby",
    "rust",
    "s3",
    "scala",
    "snowflake",
    "spark",
    "sql",
    "swift",
    "tableau",
    "tensorflow",
    "terraform",
    "typescript",
    "vue",
    "websocket",
    "webpack",
    "cdn",
    "cache",
    "caching",
    "load balancer",
    "queue",
    "index",
    "sharding",
    "replication",
    "hash map",
    "hashmap",
    "heap",
    "binary search",
    "bfs",
    "dfs",
    "breadth-first",
    "depth-first",
    "dynamic programming",
    "linked list",
    "pointer",
    "pointers",
    "stack",
    "tree",
    "graph",
    "a/b test",
    "dashboard",
    "sla",
    "slo",
    "api",
    "database",
    "photosynthesis",
    "chlorophyll",
    "glucose",
    "oxygen",
    "carbon dioxide",
    "axis",
    "orbit",
)

# Verbs that open a CV achievement line worth asking about.
ACHIEVEMENT_VERBS: tuple[str, ...] = (
    "led",
    "built",
    "designed",
    "migrated",
    "launched",
    "created",
    "developed",
    "implemented",
    "scaled",
    "reduced",
    "improved",
    "owned",
    "architected",
    "introduced",
    "managed",
    "shipped",
    "drove",
    "automated",
    "rewrote",
    "delivered",
)

HEDGES: tuple[str, ...] = (
    "maybe",
    "i think",
    "i guess",
    "kind of",
    "sort of",
    "not sure",
    "probably",
    "i don't know",
    "i dont know",
    "perhaps",
    "i suppose",
    "no idea",
    "whatever",
)

SITUATION_MARKERS: tuple[str, ...] = (
    "when i",
    "at my",
    "in my last",
    "in my previous",
    "our team",
    "we had",
    "the project",
    "a project",
    "there was",
    "last year",
    "the company",
    "at the time",
    "while working",
    "situation",
    "context",
    "was working",
)
TASK_MARKERS: tuple[str, ...] = (
    "my goal",
    "i was responsible",
    "i needed to",
    "we needed to",
    "had to",
    "my job was",
    "my role",
    "the goal",
    "task was",
    "asked me",
    "responsible for",
    "deadline",
)
ACTION_MARKERS: tuple[str, ...] = (
    "i built",
    "i decided",
    "i wrote",
    "i set up",
    "i organised",
    "i organized",
    "i proposed",
    "i led",
    "i talked",
    "i met",
    "i designed",
    "i created",
    "i moved",
    "i split",
    "i asked",
    "i started",
    "i worked",
    "i added",
    "i changed",
    "i reached",
    "i scheduled",
    "i negotiated",
    "i cut",
    "i prioritised",
    "i prioritized",
    "i listened",
    "i explained",
    "i ran",
    "i took",
    "i wrote",
    "i implemented",
    "i introduced",
    "i automated",
    "i fixed",
    "i made",
)
RESULT_MARKERS: tuple[str, ...] = (
    "as a result",
    "result was",
    "outcome",
    "in the end",
    "we shipped",
    "we delivered",
    "launched",
    "reduced",
    "increased",
    "improved",
    "saved",
    "cut",
    "grew",
    "dropped",
    "on time",
    "measured",
    "which meant",
    "led to",
    "resulting",
    "the impact",
    "went from",
    "succeeded",
    "achieved",
    "i learned",
    "i learnt",
    "since then",
)
APPROACH_MARKERS: tuple[str, ...] = (
    "first",
    "i would",
    "i'd",
    "approach",
    "start by",
    "use a",
    "use an",
    "step",
    "then",
    "iterate",
    "algorithm",
    "solution",
    "we can",
    "the idea",
    "store",
    "compute",
    "check",
)
COMPLEXITY_MARKERS: tuple[str, ...] = (
    "o(",
    "big o",
    "linear",
    "logarithmic",
    "quadratic",
    "complexity",
    "constant time",
    "n log n",
    "log n",
    "o of n",
    "order n",
    "time and space",
    "memory",
    "throughput",
    "latency",
    "per second",
    "qps",
)
TRADEOFF_MARKERS: tuple[str, ...] = (
    "trade-off",
    "tradeoff",
    "trade off",
    "on the other hand",
    "downside",
    "instead",
    "versus",
    " vs ",
    "alternatively",
    "the cost",
    "at the expense",
    "but it",
    "however",
    "drawback",
    "pros and cons",
    "simpler but",
    "faster but",
    "would rather",
)
FIRST_PERSON_SINGULAR = re.compile(r"\b(i|i'm|i've|i'd|me|my|myself)\b")
FIRST_PERSON_PLURAL = re.compile(r"\b(we|we're|we've|we'd|us|our|ourselves)\b")
NUMBER = re.compile(
    r"\b\d[\d,.]*\s*(%|percent|ms|milliseconds|seconds|minutes|hours|days|weeks|months|x|times|k|m)?\b"
    r"|\b(two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|thousand|million|half|double|twice)\b"
)
YEAR = re.compile(r"\b(19|20)\d\d\b")
WORD = re.compile(r"[a-z0-9][a-z0-9'+#./-]*")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def contains_phrase(text_lower: str, phrase: str) -> bool:
    """Whole-word match of a phrase in already lower-cased text."""
    head = r"(?<![a-z0-9])" if phrase[:1].isalnum() else ""
    tail = r"(?![a-z0-9])" if phrase[-1:].isalnum() else ""
    pattern = head + re.escape(phrase) + tail
    return re.search(pattern, text_lower) is not None


def matched(text_lower: str, phrases: tuple[str, ...]) -> list[str]:
    return [p for p in phrases if contains_phrase(text_lower, p)]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry grammar rather than topic. A claim ("I would keep a map from value to index")
# has plenty of them; a string of terms ("hash map, single pass, O(n)") has next to none.
FUNCTION_WORDS = _word_set(
    """
    a an the this that these those there here it its it's they them their theirs he him his she
    her hers we us our you your i i'm i'd i've i'll me my mine myself one ones some any each every
    all both either neither no not nor and or but so if then than because since while when where
    whether though although unless until as of to in on at by for from with without into onto
    over under about after before between through during against among per via up down out off
    is are was were be been being am do does did doing done have has had having will would shall
    should can could may might must let let's get got gets make makes made go goes went just also
    only even still already too very more most less much many few own same such what which who
    whom whose how why isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't
    wouldn't that's there's what's it'll we'd we're we've they're they'd you'd you're he's she's
    times plus minus equals divided multiplied over
    """
)
# Management and marketing jargon: uncommon words that fit any question and so show nothing
# specific about one ("leverage synergies for a holistic, customer-centric outcome"). Written as
# a general list of such words, not from any answer of the gold sets.
JARGON = _word_set(
    """
    leverage leveraging leveraged synergy synergies synergistic holistic holistically paradigm
    scalable scalability robust robustness seamless seamlessly frictionless streamline
    streamlined streamlining empower empowering empowerment proactive proactively impactful
    actionable ecosystem ecosystems alignment aligned stakeholder stakeholders north-star
    data-driven customer-centric client-centric people-first student-centred student-centered
    user-centric best-practice best-practices cutting-edge state-of-the-art world-class
    next-generation future-proof end-to-end win-win value-add mindset growth-mindset
    bandwidth deliverables deliverable learnings optimise optimize optimisation optimization
    innovative innovation disruptive disrupt transformational transformative agile agility
    governance framework frameworks methodology methodologies granular granularity visibility
    ownership accountability transparency cross-functional omnichannel touchpoints touchpoint
    upskill upskilling onboarding journey journeys storytelling narrative narratives
    differentiation differentiated scaffolding engagement engaging pivot pivoting iterate
    iterative iterating circle-back deep-dive double-click move-the-needle low-hanging
    trauma-informed psychologically belonging inclusive inclusivity resiliency resilience
    """
)
# Said of how one usually is, not of what happened: a behavioural answer made only of these
# describes the candidate, it does not tell the story that was asked for.
HABITUAL_MARKERS: tuple[str, ...] = (
    "always",
    "never",
    "usually",
    "generally",
    "typically",
    "every time",
    "whenever",
    "tend to",
    "i'm someone",
    "i am someone",
    "i'm a ",
    "i am a ",
    "i'm very",
    "i am very",
    "i'm the kind",
    "i'm the person",
    "people tell me",
    "people say",
    "i believe in",
    "natural leader",
)
IRREGULAR_PAST = _word_set(
    """
    was were had did made went took told said got gave found met ran wrote led sent built thought
    knew saw came became spent kept brought began chose fell felt held left lost paid put set sat
    stood understood won taught caught bought sold drove broke grew shut split cut hit hurt let
    quit read heard meant overcame rebuilt rewrote undertook
    """
)
_NOT_PAST = _word_set(
    "need indeed speed feed seed embed shed proceed exceed succeed breed bleed red bed"
)


def past_tense(tokens: list[str]) -> bool:
    """Whether any of the words is a verb in the past tense (a story, not a habit)."""
    for before, t in zip(["", *tokens], tokens, strict=False):
        if before in _PERFECT:  # "I've worked in many teams": a summary, not an event
            continue
        if t in IRREGULAR_PAST or (len(t) > 4 and t.endswith("ed") and t not in _NOT_PAST):
            return True
    return False


_PERFECT = _word_set("have has i've we've you've they've")


_NUMBER_WORDS = {
    "zero": "0",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
}
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a text states, as digits ("five" and "5" alike): sentence embeddings barely
    tell 5 from 15, so a point that hinges on a number is checked for the number itself."""
    lowered = text.lower()
    found = {m.group(0).replace(",", "") for m in _DIGITS.finditer(lowered)}
    found |= {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", lowered) if w in _NUMBER_WORDS}
    return frozenset(found)


# When things happened: a story names its time; a habit does not.
TIME_WORDS = _word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december spring summer autumn winter weekend
    morning afternoon evening night yesterday
    """
)
# Words that report how a story ended, beyond the result markers.
OUTCOME_MARKERS: tuple[str, ...] = (
    "passed",
    "went fine",
    "went well",
    "worked out",
    "turned out",
    "ended up",
    "agreed",
    "resolved",
    "signed off",
    "afterwards",
    "since then",
    "later",
    "dropped",
    "lost",
    "shipped",
    "finished",
    "got it",
)

# What the candidate took from a story: present tense, but part of the story.
REFLECTION_MARKERS: tuple[str, ...] = (
    "since then",
    "from then on",
    "ever since",
    "these days",
    "now i",
    "today i",
    "i learned",
    "i learnt",
    "i realised",
    "i realized",
    "the lesson",
    "taught me",
)
