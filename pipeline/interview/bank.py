"""The built-in question bank, tagged by track, interview type, skill and level, and the K-12
questions by grade band (K-2, 3-5, 6-8, 9-12): a grade 2 and a grade 11 interview ask different
questions.

Each question carries the key points a strong answer covers: the anchors of its rating scale. A
key point is a short label plus the statements that make it (judged by meaning, see
`keypoints.py`) and, where one is common, the wrong claims that contradict it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engine import Question
from pipeline.interview.keypoints import KeyPoint, bare, from_ideal_answer, point, stated

ANY_LEVEL: tuple[str, ...] = ()
GRADE_BANDS: tuple[str, ...] = ("k-2", "3-5", "6-8", "9-12")


@dataclass(frozen=True)
class BankQuestion:
    text: str
    track: str
    types: tuple[str, ...]
    skill: str
    style: str  # behavioral | technical | explanation (K-12)
    criteria: tuple[KeyPoint, ...] = ()
    levels: tuple[str, ...] = ANY_LEVEL  # empty: every level
    time_limit_s: int = 120
    # K-12 questions: the grade bands they suit (GRADE_BANDS); empty for every other question.
    grades: tuple[str, ...] = ()

    @property
    def key_points(self) -> tuple[str, ...]:
        return tuple(k.label for k in self.criteria)


def _b(
    text: str, track: str, skill: str, *key_points: KeyPoint, types: str = "behavioral"
) -> BankQuestion:
    return BankQuestion(text, track, tuple(types.split(",")), skill, "behavioral", key_points)


def _t(
    text: str,
    track: str,
    skill: str,
    *key_points: KeyPoint,
    types: str = "technical",
    time: int = 180,
) -> BankQuestion:
    return BankQuestion(
        text, track, tuple(types.split(",")), skill, "technical", key_points, (), time
    )


def _k(text: str, track: str, skill: str, *key_points: KeyPoint, grades: str) -> BankQuestion:
    bands = tuple(grades.split(","))
    assert set(bands) <= set(GRADE_BANDS), bands
    return BankQuestion(
        text, track, ("technical",), skill, "explanation", key_points, (), 120, bands
    )


p = point
BANK: tuple[BankQuestion, ...] = (
    # behavioral
    _b(
        "Tell me about a time you had to deliver a project under a tight deadline.",
        "behavioral",
        "Ownership",
        p(
            "deadline",
            "We had only days or a few weeks to deliver it, by a date that could not move.",
            "The date was fixed because a customer, a launch or an audit depended on it.",
        ),
        p(
            "prioritised scope",
            "I cut the scope down to what was really needed and dropped or postponed the rest.",
            "I agreed with the stakeholders which features were essential and which could wait.",
            weight=1.5,
        ),
        p(
            "outcome",
            "We delivered it on time and it worked for the people who needed it.",
            "In the end the result was delivered by the date, and here is what it achieved.",
        ),
    ),
    _b(
        "Describe a disagreement with a colleague and how you resolved it.",
        "behavioral",
        "Collaboration",
        p(
            "conflict",
            "A colleague and I disagreed about how to build or decide something specific.",
            "We had different views on a technical or product decision and neither would give way.",
        ),
        p(
            "listened",
            "I listened to their reasons and asked what they were worried about.",
            "I tried to understand their point of view before arguing for mine.",
            weight=1.5,
        ),
        p(
            "agreement",
            "We agreed on a solution together, settled by data, a test or a compromise.",
            "We resolved it and both accepted the decision.",
        ),
    ),
    _b(
        "Tell me about a time you failed. What did you learn?",
        "behavioral",
        "Growth mindset",
        p(
            "mistake",
            "I made a mistake that caused a real problem, and it was my fault.",
            "Something I was responsible for went wrong because of a decision I made.",
            weight=1.5,
        ),
        p(
            "lesson",
            "I learned that I should have checked my work or asked for help before it went out.",
            "I realised I had trusted an assumption I had never tested.",
        ),
        p(
            "changed behaviour",
            "Since then I do things differently so that it does not happen again.",
            "I changed how I work afterwards, and it has helped.",
        ),
    ),
    _b(
        "Tell me about a time you led a team or an initiative without formal authority.",
        "behavioral",
        "Leadership",
        p(
            "influence",
            "I persuaded people who did not report to me, by showing them evidence or a prototype.",
            "I made the case to the other teams and won their support without being their manager.",
            weight=1.5,
        ),
        p(
            "aligned people",
            "I brought the people involved together around a shared plan with clear roles.",
            "I organised the volunteers and kept everyone moving in the same direction.",
        ),
        p(
            "result",
            "The initiative was adopted and it changed something measurable.",
            "In the end it succeeded and here is what it achieved.",
        ),
    ),
    _b(
        "Describe a decision you made with incomplete information.",
        "behavioral",
        "Judgement",
        p(
            "risk",
            "I weighed what could go wrong and chose an option that could be reversed.",
            "I limited the risk of being wrong, for example with a small trial or a fallback.",
            weight=1.5,
            wrong=("I never decide until I have all the information; I wait for complete data.",),
        ),
        p(
            "data",
            "I gathered the little data I could get quickly and used it to estimate.",
            "I looked at past numbers and asked an expert to judge how likely each outcome was.",
        ),
        p(
            "outcome",
            "The decision turned out well or badly, and I checked it afterwards.",
            "Later, when more information came in, we saw whether the call was right.",
        ),
    ),
    _b(
        "Tell me about a time you went beyond what was asked to help a customer or user.",
        "behavioral",
        "Customer focus",
        p(
            "customer",
            "A particular customer or user had a problem that was not really my job to solve.",
        ),
        p(
            "problem",
            "I dug into the cause of their problem and fixed it myself.",
            "I went out of my way to find what was really wrong for them.",
            weight=1.5,
        ),
        p(
            "impact",
            "Afterwards the customer could do their work again and other users benefited too.",
            "It made a real difference to the customer and to the business.",
        ),
    ),
    # culture fit
    _b(
        "What kind of team environment helps you do your best work, and why?",
        "culture_fit",
        "Values",
        p(
            "environment",
            "I do my best work in a team where people give honest feedback and share ownership.",
            "The kind of team that suits me, and the reason it helps me work well.",
        ),
        p(
            "example",
            "For example, in one team I worked in, this is what happened and why it helped.",
        ),
        types="culture_fit,behavioral",
    ),
    _b(
        "Tell me about a time you gave or received difficult feedback.",
        "culture_fit",
        "Communication",
        p(
            "feedback",
            "I had to tell a colleague that their work or behaviour was a problem.",
            "My manager told me something critical about my work that was hard to hear.",
        ),
        p(
            "conversation",
            "I had the conversation in private, with specific examples, and listened to them.",
            "I asked questions to understand the feedback instead of getting defensive.",
            weight=1.5,
        ),
        p(
            "change",
            "Afterwards the work improved and the relationship stayed good.",
            "I changed what I was doing because of the feedback.",
        ),
        types="culture_fit,behavioral",
    ),
    _b(
        "Describe a time you had to adapt to a big change at work.",
        "culture_fit",
        "Adaptability",
        p(
            "change",
            "A big change happened at work, such as a reorganisation, a new tool or a new role.",
        ),
        p(
            "adapted",
            "I learned what I needed quickly and adjusted my plans to the new situation.",
            "I helped the team get used to the change.",
            weight=1.5,
        ),
        p("result", "In the end we came out of the change working well, and here is how."),
        types="culture_fit,behavioral",
    ),
    # DSA
    _t(
        "Given an array of integers and a target, return the indices of two numbers that add up to the target. How would you solve it?",
        "dsa",
        "Hash maps",
        p(
            "hash map",
            "Store each number's index in a hash map or dictionary keyed by the value.",
            "For each number, look up whether target minus that number is already in the map.",
            weight=2.0,
            wrong=("Sorting the array keeps the original indices, so return them directly.",),
        ),
        p(
            "single pass",
            "Do it in one pass: check for the complement, then insert the current number.",
            "Go through the array once, looking up and adding as you go.",
        ),
        p(
            "O(n) time",
            "This runs in linear time, O(n), using O(n) extra memory for the map.",
            wrong=("Binary search on the array takes constant time.",),
        ),
    ),
    _t(
        "How would you detect a cycle in a linked list?",
        "dsa",
        "Two pointers",
        p(
            "slow and fast pointers",
            "Move a slow pointer one step and a fast pointer two steps; if they meet, there is a "
            "cycle.",
            "Floyd's tortoise and hare: two pointers at different speeds.",
            weight=2.0,
            wrong=("If you keep following next and reach a null pointer, the list has a cycle.",),
        ),
        p(
            "O(1) space",
            "It needs only constant extra memory, two pointers, unlike a set of visited nodes.",
        ),
        p("O(n) time", "It finishes in linear time in the length of the list."),
    ),
    _t(
        "How would you find the k most frequent words in a large list?",
        "dsa",
        "Heaps",
        p(
            "hash map counts",
            "Count how many times each word occurs in a hash map.",
            weight=1.5,
            wrong=("Sort the words alphabetically and the most frequent ones come first.",),
        ),
        p(
            "heap of size k",
            "Keep a min-heap of size k, and pop the smallest count when it grows past k.",
            "Use a priority queue holding only the k best words seen so far.",
            weight=1.5,
        ),
        p(
            "n log k",
            "That takes O(n log k) time, better than sorting every distinct word.",
            "Alternatively bucket the words by count for linear time.",
        ),
    ),
    _t(
        "How would you find the shortest path between two cells in a grid with obstacles?",
        "dsa",
        "Graphs",
        p(
            "breadth-first search",
            "Run breadth-first search from the start cell, level by level, because every step "
            "costs the same.",
            weight=2.0,
            wrong=("Depth-first search finds the shortest path.",),
        ),
        p("visited set", "Mark cells as visited so each cell is processed only once."),
        p(
            "O(rows times columns)",
            "It takes time and memory proportional to the number of cells, rows times columns.",
        ),
    ),
    _t(
        "How would you merge overlapping intervals?",
        "dsa",
        "Sorting",
        p(
            "sort by start",
            "First sort the intervals by their start point.",
            weight=1.5,
            wrong=("There is no need to sort; merge the intervals in the order given.",),
        ),
        p(
            "merge adjacent",
            "Walk through them; if the next interval starts before the current one ends, extend "
            "the current end to the larger of the two ends.",
            "Otherwise close the current interval and start a new one.",
            weight=1.5,
        ),
        p("n log n", "Sorting dominates, so it is O(n log n) time."),
    ),
    # system design
    _t(
        "Design a URL shortener that handles 100 million new links a month.",
        "system_design",
        "Scalability",
        p(
            "id generation",
            "Generate a unique short code for each link, for example a counter encoded in base "
            "62, or a hash checked for collisions.",
            weight=1.5,
            wrong=("Random codes cannot collide, so no check for duplicates is needed.",),
        ),
        p(
            "key-value store",
            "Store the mapping from short code to long URL in a key-value store or database.",
        ),
        p(
            "cache",
            "Cache the popular short codes in memory in front of the database.",
        ),
        p(
            "read-heavy",
            "Redirects far outnumber new links, so the design should optimise reads.",
            "100 million links a month is only about 40 writes per second, but reads are many "
            "times that.",
            wrong=("One database server will always be enough; it never needs to scale.",),
        ),
        types="system_design,technical",
    ),
    _t(
        "Design a rate limiter for a public API.",
        "system_design",
        "Distributed systems",
        p(
            "token bucket",
            "Use a token bucket: each client's bucket refills at a fixed rate and every request "
            "takes a token.",
            "Use a sliding window that counts requests in the last minute.",
            weight=1.5,
        ),
        p(
            "per-client counters",
            "Keep a separate count for each API key or client address.",
        ),
        p(
            "Redis",
            "Keep the counters in a shared store such as Redis, so every API server sees the "
            "same counts, with atomic increments and expiry.",
        ),
        p(
            "consistency",
            "Make the check and the increment atomic so concurrent requests cannot race past "
            "the limit.",
            "Accept slightly approximate limits across regions in exchange for lower latency.",
        ),
        p(
            "reject with 429",
            "Reject requests over the limit with HTTP 429 and tell the client when to retry.",
        ),
        types="system_design,technical",
    ),
    _t(
        "Design the backend of a chat application with online presence.",
        "system_design",
        "Real-time systems",
        p(
            "WebSocket",
            "Each client keeps a persistent WebSocket connection to a gateway server for "
            "real-time delivery.",
            wrong=("Clients poll the server over HTTP every few seconds to fetch new messages.",),
        ),
        p(
            "message store",
            "Persist messages in a database partitioned by conversation and ordered by a "
            "sequence number, so history can be loaded.",
        ),
        p(
            "fan-out",
            "Route each message to the servers that hold the recipients' connections, through a "
            "publish-subscribe layer.",
            "Deliver to offline users later, or with a push notification.",
        ),
        p(
            "presence",
            "Track who is online with heartbeats that refresh an entry that expires after a few "
            "seconds.",
        ),
        types="system_design,technical",
    ),
    _t(
        "Design a news feed for a social network.",
        "system_design",
        "Data modelling",
        p(
            "fan-out on write",
            "When someone posts, push the post id into each follower's precomputed feed list.",
            "For accounts with millions of followers, merge their posts in at read time instead.",
            weight=1.5,
        ),
        p("ranking", "Rank the feed items by recency and predicted interest, not only by time."),
        p("cache", "Keep each user's recent feed in a cache so it loads quickly."),
        types="system_design,technical",
    ),
    _t(
        "Design an API that lets clients retry a payment request without charging the customer "
        "twice.",
        "system_design",
        "Reliability",
        p(
            "idempotency key",
            "The client sends a unique idempotency key with each payment request and reuses it "
            "when it retries.",
            "The server remembers each key with the result, and for a repeated key returns the "
            "stored result instead of charging again.",
            weight=2.0,
            wrong=("Retries are safe as long as the API uses HTTPS and proper status codes.",),
        ),
        p(
            "atomic check",
            "Record the key with a unique constraint, in the same transaction as the payment, so "
            "two concurrent retries cannot both charge.",
        ),
        p(
            "expiry",
            "Keep the stored keys for a limited time, such as 24 hours, then expire them.",
        ),
        types="system_design,technical",
    ),
    _t(
        "Design a service that sends email and push notifications to millions of users.",
        "system_design",
        "Distributed systems",
        p(
            "queue",
            "Put notification requests on a message queue and let a pool of workers send them.",
            weight=1.5,
        ),
        p(
            "retries",
            "Retry failed sends with exponential back-off, and move repeated failures to a "
            "dead-letter queue.",
        ),
        p(
            "deduplication",
            "Deduplicate so a user does not get the same notification twice after a retry.",
        ),
        p(
            "preferences and limits",
            "Respect each user's notification preferences and rate-limit how many they get.",
        ),
        types="system_design,technical",
    ),
    # frontend
    _t(
        "How would you make a slow React page load faster?",
        "frontend",
        "Performance",
        p(
            "measure",
            "First measure with the profiler or Lighthouse to find what is actually slow.",
            weight=1.5,
        ),
        p("code splitting", "Split the bundle and lazy-load routes and heavy components."),
        p(
            "memoization",
            "Avoid needless re-renders with memo, useMemo and useCallback.",
        ),
        p("bundle size", "Shrink the bundle: remove large dependencies and compress assets."),
    ),
    _t(
        "How do you manage state in a large single-page application?",
        "frontend",
        "State management",
        p(
            "local versus global state",
            "Keep state local to a component unless several distant components need it.",
            weight=1.5,
        ),
        p("store", "Put shared application state in one store, such as Redux or a context."),
        p(
            "server cache",
            "Treat data from the server as a cache, with a library like React Query.",
        ),
    ),
    _t(
        "How do you make a web form accessible?",
        "frontend",
        "Accessibility",
        p("labels", "Every input has a visible label tied to it."),
        p("keyboard", "The whole form works with the keyboard alone, in a sensible tab order."),
        p(
            "ARIA",
            "Errors are announced to screen readers, using ARIA attributes where HTML is not "
            "enough.",
        ),
        p("contrast", "Text and controls have enough colour contrast."),
    ),
    # backend
    _t(
        "How would you design a REST API for an order service, including errors and versioning?",
        "backend",
        "API design",
        p(
            "resources",
            "Model orders as resources with nouns in the URLs, such as POST /orders and GET "
            "/orders/{id}.",
        ),
        p(
            "status codes",
            "Return precise status codes: 201 on create, 400 for invalid input, 404 when not "
            "found, 409 on a conflict, with a consistent error body.",
        ),
        p(
            "idempotency",
            "Let clients send an idempotency key so a retried create does not make a duplicate "
            "order.",
        ),
        p(
            "versioning",
            "Version the API in the path or a header, such as /v1, and keep old versions "
            "working while clients migrate.",
        ),
    ),
    _t(
        "A database query has become slow in production. How do you investigate and fix it?",
        "backend",
        "Databases",
        p(
            "measure",
            "First find the slow query in the slow-query log or monitoring and measure how long "
            "it takes.",
            wrong=("A slow query always means the server is too small: upgrade the machine.",),
        ),
        p(
            "explain plan",
            "Run EXPLAIN or EXPLAIN ANALYZE to see the query plan, for example a full table scan.",
            weight=1.5,
        ),
        p(
            "index",
            "Add an index on the columns used in the filter or the join.",
            weight=1.5,
        ),
        p(
            "N+1",
            "Check whether the code issues one query per row, the N+1 pattern, and batch it.",
        ),
    ),
    _t(
        "How do you make a background job system reliable?",
        "backend",
        "Reliability",
        p("queue", "Jobs go on a durable queue and are acknowledged only after they finish."),
        p(
            "retries with back-off",
            "Failed jobs are retried with exponential back-off.",
        ),
        p(
            "idempotency",
            "Jobs are idempotent, so running one twice does no harm.",
            weight=1.5,
        ),
        p(
            "dead-letter",
            "Jobs that keep failing go to a dead-letter queue for someone to inspect.",
        ),
    ),
    # data
    _t(
        "How would you design a pipeline that loads daily events into a warehouse?",
        "data",
        "Data pipelines",
        p("ingestion", "Land the raw events first, for example in object storage, per day."),
        p("schema", "Validate the events against a schema and handle changes to it."),
        p(
            "idempotent loads",
            "Make each day's load idempotent, replacing that day's partition, so a rerun does not "
            "duplicate rows.",
            weight=1.5,
        ),
        p("backfill", "Support backfilling past days when logic changes or data arrives late."),
    ),
    _t(
        "How would you tell whether an A/B test result is real?",
        "data",
        "Statistics",
        p("hypothesis", "Fix the hypothesis and the success metric before the test starts."),
        p(
            "sample size",
            "Compute the sample size needed in advance and do not stop early when it looks good.",
            weight=1.5,
        ),
        p(
            "p-value or confidence interval",
            "Check that the difference is statistically significant, with a p-value or a "
            "confidence interval.",
            weight=1.5,
        ),
    ),
    _t(
        "A dashboard metric suddenly dropped by 30 percent. How do you find out why?",
        "data",
        "Analysis",
        p(
            "data quality",
            "First check whether the data itself is broken: a failed pipeline, a tracking change "
            "or missing events.",
            weight=1.5,
        ),
        p("segment", "Break the drop down by platform, region or version to see where it is."),
        p("root cause", "Match the timing to a release or an outside event to find the cause."),
        types="technical,case_study",
    ),
    # product
    _t(
        "How would you decide what to build next for a product with falling retention?",
        "product",
        "Product sense",
        p("users", "Talk to the users who left to learn why."),
        p("data", "Look at the retention data by cohort to see when users drop off."),
        p(
            "prioritisation",
            "Rank the ideas by expected impact against effort.",
            weight=1.5,
        ),
        p("metric", "Choose a metric that will show whether the change worked."),
        types="case_study,technical",
    ),
    _t(
        "Estimate how many ride-share trips happen in a large city in a day.",
        "product",
        "Estimation",
        p("assumptions", "State the assumptions, such as how many people ride and how often."),
        p("population", "Start from the city's population, for example ten million people."),
        p(
            "calculation",
            "Multiply it through step by step to reach a number of trips per day.",
            weight=1.5,
        ),
        types="case_study",
    ),
    _t(
        "What metrics would you track for a new onboarding flow, and why?",
        "product",
        "Metrics",
        p("activation", "Track activation: the share of new users who reach the key action."),
        p("funnel", "Measure the drop-off at each step of the onboarding funnel."),
        p("guardrail", "Watch guardrail metrics such as support tickets or churn."),
        types="case_study,technical",
    ),
    # K-12
    _k(
        "How would you solve 3x + 7 = 22, and how would you check your answer?",
        "k12_math",
        "Algebra",
        p(
            "subtract 7",
            "Subtract 7 from both sides to get 3x = 15.",
            wrong=("Add 7 to both sides to get 3x = 29.",),
        ),
        p("divide by 3", "Divide both sides by 3."),
        p(
            "x = 5",
            "So x is 5.",
            weight=1.5,
            wrong=("So x is 7.", "So x is 29 divided by 3.", "So x is 15."),
        ),
        p("check", "Check by putting 5 back in: 3 times 5 plus 7 is 22."),
        grades="6-8",
    ),
    _k(
        "What is the area of a rectangle 8 cm long and 5 cm wide, and how did you work it out?",
        "k12_math",
        "Geometry",
        p("length times width", "Multiply the length by the width: 8 times 5."),
        p(
            "40 square centimetres",
            "The area is 40 square centimetres.",
            weight=1.5,
            wrong=("The area is 26 centimetres.", "The area is 13 square centimetres."),
        ),
        grades="3-5",
    ),
    _k(
        "A shirt costs 40 dollars and is 25 percent off. What is the sale price?",
        "k12_math",
        "Percentages",
        p("25 percent of 40 is 10", "25 percent of 40 is a quarter of 40, which is 10 dollars."),
        p(
            "30 dollars",
            "So the sale price is 40 minus 10, which is 30 dollars.",
            weight=1.5,
            wrong=("The sale price is 15 dollars.", "The sale price is 10 dollars."),
        ),
        grades="6-8",
    ),
    _k(
        "You have 3 red apples and 4 green apples. How many apples do you have in all, and "
        "how do you know?",
        "k12_math",
        "Addition",
        p(
            "put the groups together",
            "I put the 3 apples and the 4 apples together and counted them all.",
            "I counted on from 4: 5, 6, 7.",
        ),
        p(
            "7 apples",
            "There are 7 apples in all.",
            weight=1.5,
            wrong=("There are 12 apples.",),
        ),
        p("3 plus 4", "3 plus 4 equals 7."),
        grades="k-2",
    ),
    _k(
        "There are 10 birds on a fence and 4 fly away. How many birds are left? Tell me how "
        "you worked it out.",
        "k12_math",
        "Subtraction",
        p("take away", "I took 4 away from 10.", "I counted back 4 from 10."),
        p(
            "6 birds",
            "There are 6 birds left on the fence.",
            weight=1.5,
            wrong=("There are 14 birds left.",),
        ),
        grades="k-2",
    ),
    _k(
        "How can you tell if a number is even or odd? Give an example.",
        "k12_math",
        "Number sense",
        p(
            "pairs with none left over",
            "An even number can be split into pairs, or shared equally, with none left over.",
            weight=1.5,
            wrong=("An even number always has one left over when you make pairs.",),
        ),
        p(
            "last digit",
            "Even numbers end in 0, 2, 4, 6 or 8, and odd numbers end in 1, 3, 5, 7 or 9.",
            "Look at the last digit of the number.",
        ),
        p(
            "example",
            "For example, 8 is even because it makes 4 pairs, and 7 is odd because one is left "
            "over.",
        ),
        grades="k-2",
    ),
    _k(
        "What is three quarters of 12, and how did you work it out?",
        "k12_math",
        "Fractions",
        p(
            "split 12 into quarters",
            "Split 12 into 4 equal parts, so each part is 3.",
            "12 divided by 4 is 3.",
        ),
        p(
            "9",
            "Three quarters of 12 is 9.",
            "3 parts of 3 make 9.",
            weight=1.5,
            wrong=("Three quarters of 12 is 4.",),
        ),
        grades="3-5",
    ),
    _k(
        "A school bus holds 36 children. How many buses are needed to take 150 children on a "
        "trip? Explain your answer.",
        "k12_math",
        "Division",
        p("divide 150 by 36", "Divide 150 by 36 to see how many full buses that makes."),
        p(
            "children left over",
            "4 buses hold 144 children, so 6 children are left over.",
        ),
        p(
            "5 buses",
            "So we need 5 buses, because the children left over still need a bus.",
            weight=1.5,
        ),
        grades="3-5",
    ),
    _k(
        "How would you work out 23 times 4 in your head?",
        "k12_math",
        "Mental maths",
        p("split 23 into 20 and 3", "Split 23 into 20 and 3."),
        p("multiply each part", "20 times 4 is 80, and 3 times 4 is 12."),
        p(
            "92",
            "Add them: 80 plus 12 is 92.",
            weight=1.5,
            wrong=("23 times 4 is 82.",),
        ),
        grades="3-5",
    ),
    _k(
        "What is the mean of 4, 8, 6 and 10, and what does the mean tell you?",
        "k12_math",
        "Averages",
        p("add them up", "Add the numbers up: 4 plus 8 plus 6 plus 10 is 28."),
        p("divide by how many", "Divide the total by how many numbers there are."),
        p("mean is 7", "The mean is 28 divided by 4, which is 7.", weight=1.5),
        p(
            "typical value",
            "The mean is the typical value: what each would be if the total were shared out "
            "equally.",
        ),
        grades="6-8",
    ),
    _k(
        "How would you solve x squared minus 5x plus 6 equals 0? Explain each step.",
        "k12_math",
        "Quadratic equations",
        p(
            "factorise or use the formula",
            "Factorise it into x minus 2 times x minus 3 equals 0.",
            "Find two numbers that multiply to 6 and add up to minus 5.",
            "Use the quadratic formula.",
        ),
        p("x = 2 or x = 3", "So x is 2 or x is 3.", weight=1.5),
        p("check", "Check by putting 2 back in: 4 minus 10 plus 6 is 0."),
        grades="9-12",
    ),
    _k(
        "What is the slope of the line through the points (2, 1) and (5, 13), and what does "
        "it tell you?",
        "k12_math",
        "Linear functions",
        p(
            "change in y over change in x",
            "The slope is the change in y divided by the change in x, rise over run.",
        ),
        p(
            "slope of 4",
            "13 minus 1 is 12 and 5 minus 2 is 3, so the slope is 12 divided by 3, which is 4.",
            weight=1.5,
        ),
        p(
            "rate of change",
            "It means y goes up by 4 every time x goes up by 1.",
            "The slope is the rate of change: how steep the line is.",
        ),
        grades="9-12",
    ),
    _k(
        "A colony of bacteria doubles every hour. If it starts with 100 bacteria, how many are "
        "there after 5 hours, and what kind of growth is this?",
        "k12_math",
        "Exponential growth",
        p(
            "doubling each hour",
            "Each hour you multiply by 2: 200, 400, 800, 1600, 3200.",
            "It is 100 times 2 to the power of 5.",
        ),
        p(
            "3200",
            "After 5 hours there are 3200 bacteria.",
            weight=1.5,
            wrong=("After 5 hours there are 600 bacteria.",),
        ),
        p(
            "exponential growth",
            "This is exponential growth, because it multiplies by the same factor every hour.",
            wrong=("This is linear growth, because it goes up by the same amount every hour.",),
        ),
        grades="9-12",
    ),
    _k(
        "What is the difference between correlation and causation? Give an example.",
        "k12_math",
        "Statistical reasoning",
        p("correlation", "Correlation means two things tend to change together."),
        p("causation", "Causation means one thing actually makes the other happen."),
        p(
            "correlation is not causation",
            "Two things can be correlated without one causing the other, for example because a "
            "third factor drives both.",
            weight=1.5,
            wrong=("If two things are correlated, one of them must cause the other.",),
        ),
        p(
            "example",
            "For example, ice cream sales and drownings rise together, but hot weather causes "
            "both.",
        ),
        grades="9-12",
    ),
    _k(
        "Explain how plants make their food.",
        "k12_science",
        "Biology",
        p(
            "photosynthesis",
            "Plants make food by photosynthesis in their leaves, using chlorophyll.",
            weight=1.5,
            wrong=("Plants get their food from the soil through their roots.",),
        ),
        p("sunlight", "They use energy from sunlight."),
        p("carbon dioxide", "They take in carbon dioxide from the air."),
        p("water", "They take up water through their roots."),
        p("glucose", "They turn these into sugar, glucose, which is their food."),
        p("oxygen", "They give off oxygen."),
        grades="3-5,6-8",
    ),
    _k(
        "Why do we have seasons on Earth?",
        "k12_science",
        "Earth science",
        p(
            "tilt of the axis",
            "The Earth's axis is tilted.",
            weight=1.5,
            wrong=(
                "We have seasons because the Earth is closer to the Sun in summer and farther "
                "away in winter.",
            ),
        ),
        p(
            "orbit",
            "As the Earth orbits the Sun over a year, each hemisphere leans towards the Sun for "
            "part of the year and away for the rest.",
        ),
        p(
            "sunlight angle",
            "When a hemisphere leans towards the Sun, sunlight hits it more directly and the days "
            "are longer, so it is warmer.",
            weight=1.5,
        ),
        grades="6-8",
    ),
    _k(
        "What happens to water when it boils, and why?",
        "k12_science",
        "Physical science",
        p(
            "heat energy",
            "Heating gives the water molecules more energy, so they move faster and break away "
            "from each other.",
            weight=1.5,
        ),
        p(
            "liquid to gas",
            "The liquid water turns into a gas, water vapour or steam, as bubbles.",
            weight=1.5,
            wrong=("When water boils it splits into hydrogen and oxygen gas.",),
        ),
        p(
            "100 degrees Celsius",
            "At sea level water boils at 100 degrees Celsius.",
        ),
        grades="3-5,6-8",
    ),
    _k(
        "What do plants need to grow?",
        "k12_science",
        "Living things",
        p("sunlight", "Plants need light from the sun."),
        p("water", "Plants need water."),
        p("air", "Plants need air."),
        p("soil", "Plants need soil, which gives them what they need to grow."),
        grades="k-2",
    ),
    _k(
        "What happens to an ice cube if you leave it in the sun, and why?",
        "k12_science",
        "States of matter",
        p(
            "it melts",
            "The ice cube melts and turns into water.",
            weight=1.5,
            wrong=("The ice cube gets bigger in the sun.",),
        ),
        p("heat from the sun", "It melts because the sun warms it up."),
        p("solid to liquid", "Ice is a solid, and it changes into a liquid, water."),
        grades="k-2",
    ),
    _k(
        "Pick an animal. What does it need to stay alive?",
        "k12_science",
        "Living things",
        p("food", "It needs food to eat."),
        p("water", "It needs water to drink."),
        p("air", "It needs air to breathe."),
        p("shelter", "It needs a safe place to live, like a nest, a burrow or a den."),
        grades="k-2",
    ),
    _k(
        "Why does the Moon seem to change shape during the month?",
        "k12_science",
        "Space",
        p(
            "lit by the Sun",
            "The Moon does not make its own light: the Sun lights up half of it.",
            weight=1.5,
        ),
        p(
            "we see a different part",
            "As the Moon goes around the Earth, we see different amounts of its lit half.",
            weight=1.5,
            wrong=("The shadow of the Earth covers part of the Moon and makes its phases.",),
        ),
        p(
            "about a month",
            "It takes about a month to go through all the phases, from new moon to full moon "
            "and back.",
        ),
        grades="3-5,6-8",
    ),
    _k(
        "What is a food chain? Give an example.",
        "k12_science",
        "Ecosystems",
        p(
            "energy passes along",
            "A food chain shows how energy passes from one living thing to another when it is "
            "eaten.",
            weight=1.5,
        ),
        p("starts with a plant", "It starts with a plant, which makes its own food from sunlight."),
        p("example", "For example, grass is eaten by a rabbit, and the rabbit is eaten by a fox."),
        grades="3-5",
    ),
    _k(
        "What is the difference between an element and a compound? Give an example of each.",
        "k12_science",
        "Chemistry",
        p("element", "An element is made of only one kind of atom.", weight=1.5),
        p(
            "compound",
            "A compound is two or more elements chemically bonded together.",
            weight=1.5,
            wrong=("A compound is a mixture you can separate again just by filtering it.",),
        ),
        p("examples", "For example, oxygen is an element and water is a compound."),
        grades="9-12",
    ),
    _k(
        "Explain Newton's second law of motion and give an everyday example.",
        "k12_science",
        "Physics",
        p(
            "force equals mass times acceleration",
            "Force equals mass times acceleration.",
            weight=1.5,
        ),
        p(
            "more force, more acceleration",
            "The harder you push something, the faster it speeds up.",
        ),
        p(
            "more mass, less acceleration",
            "A heavier object needs more force to speed up by the same amount.",
            wrong=("A heavier object speeds up faster when you push it with the same force.",),
        ),
        p(
            "example",
            "For example, an empty shopping cart is easier to push and speeds up faster than a "
            "full one.",
        ),
        grades="9-12",
    ),
    _k(
        "How does natural selection lead to evolution?",
        "k12_science",
        "Evolution",
        p("variation", "Individuals in a population differ from each other in their traits."),
        p(
            "inherited traits",
            "Parents pass their traits on to their offspring through their genes.",
        ),
        p(
            "survive and reproduce",
            "Individuals with helpful traits are more likely to survive and have offspring.",
            weight=1.5,
        ),
        p(
            "over many generations",
            "Over many generations the helpful traits become more common, so the species changes.",
            weight=1.5,
            wrong=(
                "Animals change their bodies during their lives because they need to, and pass "
                "the change on.",
            ),
        ),
        grades="9-12",
    ),
    _k(
        "What is the main idea of a story you read recently, and how do you know?",
        "k12_english",
        "Reading comprehension",
        p("main idea", "The main idea of the story is what the author wants us to understand."),
        p(
            "evidence from the text",
            "I know because of what happens in the story, for example a particular scene.",
            weight=1.5,
        ),
        grades="3-5",
    ),
    _k(
        "Describe your favourite place using three vivid details.",
        "k12_english",
        "Descriptive writing",
        p("senses", "What you can see, hear, smell or feel in that place."),
        p("details", "Specific details that make the place easy to picture."),
        grades="3-5",
    ),
    _k(
        "What is the difference between a fact and an opinion? Give an example of each.",
        "k12_english",
        "Critical reading",
        p(
            "fact can be checked",
            "A fact is something that can be checked and proved true.",
            weight=1.5,
            wrong=("A fact is something most people agree with.",),
        ),
        p(
            "opinion is a belief",
            "An opinion is what someone thinks or feels, and can't be proved.",
        ),
        p(
            "examples",
            "For example, a fact is that water freezes at 0 degrees, and an opinion is "
            "that winter is the best season.",
        ),
        grades="3-5,6-8",
    ),
    _k(
        "Tell me about your favourite story. Who is in it, and what happens?",
        "k12_english",
        "Retelling",
        p("characters", "The story is about a character, like a girl, a bear or a dragon."),
        p("what happens", "First something happens, then there is a problem."),
        p("ending", "At the end of the story the problem is solved."),
        grades="k-2",
    ),
    _k(
        "When you write a sentence, how do you show where it starts and where it ends?",
        "k12_english",
        "Writing conventions",
        p("capital letter", "A sentence starts with a capital letter.", weight=1.5),
        p(
            "full stop",
            "It ends with a full stop, or a question mark or an exclamation mark.",
            weight=1.5,
            wrong=("A sentence ends with a comma.",),
        ),
        p("example", "For example: The cat sat on the mat."),
        grades="k-2",
    ),
    _k(
        "What is your favourite animal, and why do you like it? Tell me two things about it.",
        "k12_english",
        "Speaking",
        p("names the animal", "My favourite animal is a dog, a cat or an elephant."),
        p("reason", "I like it because it is friendly, funny or strong."),
        p("two details", "It has soft fur and a long tail, and it likes to play."),
        grades="k-2",
    ),
    _k(
        "How would you persuade your school to start a new club? What would you say?",
        "k12_english",
        "Persuasive writing",
        p("clear position", "Say clearly what you want: the school should start the club."),
        p(
            "reasons",
            "Give reasons, such as that it helps students learn or make friends.",
            weight=1.5,
        ),
        p(
            "evidence or examples",
            "Back the reasons up with evidence or examples, like how many students want to join.",
        ),
        p(
            "answer objections",
            "Answer what the other side might say, such as what it costs or who would run it.",
        ),
        grades="6-8",
    ),
    _k(
        "What is the theme of a book you have read, and which moment in the book shows it?",
        "k12_english",
        "Literary analysis",
        p(
            "theme is a message",
            "The theme is the message or lesson about life the book shares, like friendship or "
            "courage.",
            weight=1.5,
            wrong=("The theme is a summary of what happens in the plot.",),
        ),
        p(
            "moment as evidence",
            "A particular moment in the book shows the theme, for example when a character "
            "makes a hard choice.",
            weight=1.5,
        ),
        p("explain the link", "That moment shows the theme because of what the character learns."),
        grades="6-8",
    ),
    _k(
        "Choose a symbol from a novel or play you have studied. What does it represent, and how "
        "does the author use it?",
        "k12_english",
        "Literary analysis",
        p(
            "names the symbol",
            "The symbol is an object, place or image in the text, like the green light in The "
            "Great Gatsby.",
        ),
        p(
            "what it represents",
            "It represents a bigger idea, such as hope, desire or loss.",
            weight=1.5,
        ),
        p(
            "evidence from the text",
            "The author brings it back at key moments, and a quotation from the text shows it.",
        ),
        p("effect on meaning", "It deepens the theme and shows how a character changes."),
        grades="9-12",
    ),
    _k(
        "What makes a thesis statement strong? Give an example.",
        "k12_english",
        "Essay writing",
        p(
            "arguable claim",
            "A strong thesis makes a claim that someone could argue against, not just a fact.",
            weight=1.5,
            wrong=("A thesis just states the topic of the essay.",),
        ),
        p("specific", "It is specific and focused rather than vague."),
        p("previews the reasons", "It previews the main reasons the essay will use to prove it."),
        p(
            "example",
            "For example: school uniforms should be optional because they limit self-expression "
            "and cost families money.",
        ),
        grades="9-12",
    ),
    _k(
        "How do you decide whether a source is reliable enough to use in a research essay?",
        "k12_english",
        "Research skills",
        p("author", "Check who wrote it and whether they are an expert on the subject."),
        p("evidence", "Check that it gives evidence and cites its own sources."),
        p(
            "purpose and bias",
            "Ask why it was written and whether it is biased or trying to sell something.",
            weight=1.5,
        ),
        p("date", "Check when it was published and whether it is still up to date."),
        p("cross-check", "Compare it with other sources to see whether they agree."),
        grades="9-12",
    ),
)

_CRITERIA = {q.text.lower(): q.criteria for q in BANK}


def criteria_for(question: Question) -> tuple[KeyPoint, ...]:
    """The question's key points in full: the bank's, where it is a bank question with the same
    key points; otherwise each label alone (a tenant's key points are statements); with none, the
    sentences of the tenant's ideal answer, if it wrote one."""
    known = {k.label: k for k in _CRITERIA.get(question.text.lower(), ())}
    own = stated if question.source == "custom" else bare
    points = tuple(known.get(label) or own(label) for label in question.key_points)
    if points or not question.ideal_answer:
        return points
    return from_ideal_answer(question.ideal_answer)


def scoring_basis(question: Question) -> str:
    """What an answer to the question is scored against, for a reviewer: the catalogue's key
    points, the tenant's (or its ideal answer), key points the plan derived (CV, job description,
    focus areas), or, with none, what the question itself asks for."""
    if question.key_points:
        if question.source == "bank" or question.text.lower() in _CRITERIA:
            return "catalogue_key_points"
        return "tenant_key_points" if question.source == "custom" else "derived_key_points"
    if question.ideal_answer:
        return "tenant_ideal_answer"
    return "question_structure"
