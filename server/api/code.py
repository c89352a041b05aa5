"""The coding round's routes (docs/coding-round.md): languages, tenants' problems, a session's
problem, its runs and submissions."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError
from starlette.responses import Response

from pipeline.coding.problems import Example, Problem, ProblemFields, ProblemLimits, bank
from pipeline.coding.sandbox import (
    MAX_CODE_BYTES,
    Language,
    RunResult,
    SandboxError,
    Status,
    UnknownLanguage,
    available_languages,
    language,
)
from server import code, code_queue, ownership
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from server.interviews import CodingRound
from server.runtime import CODE_SUBMITTED, VoiceRuntime
from server.sessions import SessionRecord, SessionStore
from server.storage import audit_trail

log = logging.getLogger(__name__)
TAG = "coding"
QUEUE_RETRY_S = 2


# -- models ----------------------------------------------------------------------------------


class LanguageView(BaseModel):
    id: str = Field(description="what `language` takes in a run")
    name: str
    version: str
    source_file: str = Field(description="the file the code is saved as (Java: class Main)")

    @classmethod
    def of(cls, lang: Language) -> LanguageView:
        return cls(id=lang.id, name=lang.name, version=lang.version_hint, source_file=lang.source)


class Languages(BaseModel):
    languages: list[LanguageView]


class VisibleTest(BaseModel):
    name: str
    input: str = Field(description="given on standard input")
    output: str = Field(description="expected on standard output")


class ProblemView(BaseModel):
    """A problem as the candidate sees it: never the hidden tests or a reference solution."""

    id: str
    title: str
    difficulty: str
    tags: list[str]
    statement: str
    input_format: str
    output_format: str
    examples: list[Example]
    tests: list[VisibleTest] = Field(description="the visible tests a run checks")
    hidden_tests: int = Field(description="how many hidden tests a submission also checks")
    limits: ProblemLimits

    @classmethod
    def of(cls, p: Problem) -> ProblemView:
        return cls(
            id=p.id,
            title=p.title,
            difficulty=p.difficulty,
            tags=p.tags,
            statement=p.statement,
            input_format=p.input_format,
            output_format=p.output_format,
            examples=p.examples,
            tests=[
                VisibleTest(name=t.name, input=t.input, output=t.output)
                for t in p.tests
                if not t.hidden
            ],
            hidden_tests=sum(t.hidden for t in p.tests),
            limits=p.limits,
        )


class LastCode(BaseModel):
    language: str
    code: str
    at: float = Field(description="epoch seconds of the run that sent it")


class SessionProblem(BaseModel):
    problem: ProblemView
    languages: list[LanguageView] = Field(description="the languages this session may use")
    starter: dict[str, str] = Field(description="starter code per language (reads the input)")
    required: bool = Field(description="the interview expects a submission")
    only: bool = Field(description="the coding question is the only one")
    question_index: int | None = Field(description="the plan question the coding round is")
    last_code: LastCode | None = Field(description="the latest code run, to restore the editor")


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = Field(
        min_length=1, max_length=32, description="an id of GET /v1/code/languages"
    )
    code: str = Field(
        min_length=1, max_length=MAX_CODE_BYTES, description=f"at most {MAX_CODE_BYTES} bytes"
    )
    stdin: str | None = Field(
        None, max_length=65_536, description="also run once on this input; its output is returned"
    )
    submit: bool = Field(
        False, strict=True, description="true: also run the hidden tests (the submission)"
    )


class TestView(BaseModel):
    name: str
    passed: bool
    time_ms: int
    hidden: bool
    outcome: str | None = Field(
        None,
        description="visible tests only: passed, wrong_answer, runtime_error, timeout, memory, "
        "output_limit, skipped",
    )
    stdout: str | None = Field(None, description="visible tests only: what the program printed")


class RunOut(BaseModel):
    status: Status = Field(
        description="ok: every test passed (and the custom input ran); failed: a wrong answer "
        "or a runtime error; timeout, memory, output_limit: a limit was hit (later tests are "
        "skipped); error: it did not compile, or the sandbox failed"
    )
    tests: list[TestView]
    stdout: str = Field(
        description="of the custom input run, else of the first failing visible test"
    )
    stderr: str = Field(description="likewise; compiler messages when status is error")
    time_ms: int = Field(description="from the request to the result, compile included")
    kind: Literal["run", "submission"]
    visible_passed: int
    visible_total: int
    hidden_passed: int
    hidden_total: int


class RunRecord(BaseModel):
    at: float
    session_s: float | None = Field(description="seconds on the transcript's clock")
    kind: Literal["run", "submission"]
    problem_id: str
    language: str
    code: str
    status: str
    time_ms: int
    visible_passed: int
    visible_total: int
    hidden_passed: int
    hidden_total: int


class Runs(BaseModel):
    session_id: str
    runs: list[RunRecord]


class ProblemSummary(BaseModel):
    id: str
    title: str
    difficulty: str
    tags: list[str]
    source: Literal["bank", "tenant"]
    visible_tests: int
    hidden_tests: int
    languages_with_reference: list[str]

    @classmethod
    def of(cls, p: Problem) -> ProblemSummary:
        return cls(
            id=p.id,
            title=p.title,
            difficulty=p.difficulty,
            tags=p.tags,
            source=p.source,
            visible_tests=sum(not t.hidden for t in p.tests),
            hidden_tests=sum(t.hidden for t in p.tests),
            languages_with_reference=sorted(p.reference),
        )


class ProblemList(BaseModel):
    bank: list[ProblemSummary]
    own: list[ProblemSummary]


class ProblemCreated(BaseModel):
    problem_id: str
    problem: Problem


class ProblemDetail(BaseModel):
    summary: ProblemSummary
    problem: ProblemView = Field(description="as candidates see it")
    full: Problem | None = Field(description="yours only: every test and reference solution")


# -- handlers --------------------------------------------------------------------------------


async def check_round(call: Call[Any, Any], coding: CodingRound | None) -> None:
    """400 when an interview's coding round names a problem neither the bank's nor yours."""
    unknown = await code.unknown_problems(call.redis, call.tenant.tenant_id, coding)
    if unknown:
        message = f"no problem {', '.join(unknown)} (GET /v1/problems)"
        raise BadRequest("Unknown problem.", fields={"coding.problems": message})


def _queue_full() -> TooManyRequests:
    return TooManyRequests(
        "Too many code runs of yours are queued; try again in a moment.",
        retry_after_s=QUEUE_RETRY_S,
        code="run_queue_full",
    )


def _runner(call: Call[Any, Any]) -> code_queue.CodeRunner:
    state = call.request.app.state
    runner: code_queue.CodeRunner | None = getattr(state, "code_runner", None)
    if runner is None:
        settings = call.services.settings
        runner = code_queue.CodeRunner(
            call.redis, settings.code_concurrency, settings.code_queue_per_tenant
        )
        state.code_runner = runner
    return runner


async def get_languages(call: Call[None, None]) -> Languages:
    return Languages(languages=[LanguageView.of(lang) for lang in available_languages()])


async def _session_problem(
    call: Call[Any, Any], record: SessionRecord
) -> tuple[dict[str, Any], Problem]:
    coding = record.extra.get("coding")
    if not coding:
        raise Conflict("This interview has no coding round.", code="no_coding_round")
    problem = await code.get_problem(call.redis, record.tenant_id, coding["problem_id"])
    if problem is None:
        raise Conflict("The session's problem was deleted.", code="problem_deleted")
    return coding, problem


def _allowed(coding: dict[str, Any]) -> list[Language]:
    allowed = coding.get("languages") or []
    return [lang for lang in available_languages() if not allowed or lang.id in allowed]


async def get_session_problem(call: Call[None, None]) -> SessionProblem:
    record = await session_for(call)
    coding, problem = await _session_problem(call, record)
    languages = _allowed(coding)
    runs = await code.stored_runs(call.redis, record.id)
    last = runs[-1] if runs else None
    return SessionProblem(
        problem=ProblemView.of(problem),
        languages=[LanguageView.of(lang) for lang in languages],
        starter={lang.id: problem.starter_for(lang.id) for lang in languages},
        required=bool(coding.get("required")),
        only=bool(coding.get("only")),
        question_index=code.coding_question_index(record.plan),
        last_code=LastCode(language=last["language"], code=last["code"], at=last["at"])
        if last
        else None,
    )


def _language(coding: dict[str, Any], language_id: str) -> Language:
    try:
        lang = language(language_id)
    except UnknownLanguage as exc:
        raise BadRequest(str(exc), fields={"language": str(exc)}, code="unknown_language") from exc
    allowed = coding.get("languages") or []
    if allowed and lang.id not in allowed:
        message = f"this interview takes {', '.join(allowed)}"
        raise BadRequest(
            "Language not allowed.", fields={"language": message}, code="language_not_allowed"
        )
    return lang


def _test_view(t: Any) -> TestView:
    if t.hidden:  # pass or fail only: nothing of its input, expected or actual output
        return TestView(name=t.name, passed=t.passed, time_ms=t.time_ms, hidden=True)
    return TestView(
        name=t.name,
        passed=t.passed,
        time_ms=t.time_ms,
        hidden=False,
        outcome=t.outcome,
        stdout=t.stdout,
    )


async def post_run(call: Call[RunIn, None]) -> RunOut:
    started = time.monotonic()
    record = await session_for(call)
    coding, problem = await _session_problem(call, record)
    if record.is_finished:
        raise Conflict("The interview is over.", code="session_finished")
    sessions = SessionStore(call.redis)
    if await sessions.consent(record.id) is None:
        raise Conflict(
            "The candidate has not consented to the disclosure yet.", code="consent_required"
        )
    body = call.body
    lang = _language(coding, body.language)
    if len(body.code.encode()) > MAX_CODE_BYTES:
        message = f"at most {MAX_CODE_BYTES} bytes"
        raise BadRequest("The code is too large.", fields={"code": message}, code="code_too_large")
    if await code.run_count(call.redis, record.id) >= code.RUNS_KEPT:
        raise TooManyRequests(
            f"A session may run code {code.RUNS_KEPT} times.",
            retry_after_s=3600,
            code="too_many_runs",
        )
    runner = _runner(call)
    try:
        result = await runner.run(
            record.tenant_id,
            lang.id,
            body.code,
            problem.cases(hidden=body.submit),
            stdin=body.stdin,
            limits=problem.sandbox_limits,
        )
    except code_queue.QueueFull as exc:
        raise _queue_full() from exc
    except SandboxError:
        log.exception("the sandbox failed for session %s", record.id)
        result = RunResult(
            "error", [], "", "The sandbox failed to start; this is not your code's fault.", 0
        )
    now = time.time()
    session_s = await code.session_seconds(call.redis, record.id, now)
    # In a thread: the entry reads the code's syntax tree for its complexity (tens of ms for a
    # large submission), and live voice sessions share this event loop.
    entry = await asyncio.to_thread(
        code.run_entry,
        result,
        language=lang.id,
        code=body.code,
        submit=body.submit,
        custom_input=body.stdin is not None,
        at=now,
        session_s=session_s,
        problem_id=problem.id,
    )
    if not await code.store_run(call.redis, record.id, entry):
        raise NotFound(f"No session {record.id}.")
    if body.submit:
        await _answer_submitted(call, record.id)
        await audit_trail.record(
            call.redis,
            record.id,
            "code_submitted",
            call.caller.actor,
            language=lang.id,
            status=result.status,
            hidden_passed=entry["hidden_passed"],
            hidden_total=entry["hidden_total"],
        )
    return RunOut(
        status=result.status,
        tests=[_test_view(t) for t in result.tests],
        stdout=result.stdout,
        stderr=result.stderr,
        time_ms=round((time.monotonic() - started) * 1000),
        kind=entry["kind"],
        visible_passed=entry["visible_passed"],
        visible_total=entry["visible_total"],
        hidden_passed=entry["hidden_passed"],
        hidden_total=entry["hidden_total"],
    )


async def _answer_submitted(call: Call[Any, Any], session_id: str) -> None:
    """A submission hands the coding answer in: the session's open spoken answer to the coding
    question, which silence does not end (pipeline/voice/turn_policy.py), ends as on
    `answer_done`, and the reply sees this submission (stored just before). The live session
    may run in another process: it hears of it through Redis (`ownership.signal`)."""
    runtime: VoiceRuntime | None = getattr(call.request.app.state, "voice_runtime", None)
    loop = runtime.live_loop(session_id) if runtime is not None else None
    if loop is not None:
        await loop.answer_submitted()
        return
    try:
        await ownership.signal(call.redis, session_id, CODE_SUBMITTED)
    except RedisError:  # the submission is stored: the candidate's answer_done still ends it
        log.warning("session %s: the submission could not be signalled", session_id)


async def get_runs(call: Call[None, None]) -> Runs:
    record = await session_for(call)
    runs = await code.stored_runs(call.redis, record.id)
    return Runs(session_id=record.id, runs=[RunRecord.model_validate(r) for r in runs])


async def create_problem(call: Call[ProblemFields, None]) -> ProblemCreated:
    await _check_references(call, call.body)
    problem = await code.create_problem(call.redis, call.tenant.tenant_id, call.body)
    return ProblemCreated(problem_id=problem.id, problem=problem)


async def _check_references(call: Call[Any, Any], fields: ProblemFields) -> None:
    """Each reference solution runs on every test, hidden ones too, before the problem is kept:
    one that fails means a wrong expected output (or a wrong solution), and every candidate
    would fail that test. 400 `reference_failed` names each language and its failing tests. A
    language this server cannot run is not checked here (nor offered to candidates)."""
    problem = Problem(**fields.model_dump(), id="check")
    cases, limits = problem.cases(hidden=True), problem.sandbox_limits
    runner = _runner(call)
    failures: dict[str, str] = {}
    for language_id, source in sorted(fields.reference.items()):
        try:
            lang = language(language_id)
        except UnknownLanguage:
            continue
        try:
            result = await runner.run(call.tenant.tenant_id, lang.id, source, cases, limits=limits)
        except code_queue.QueueFull as exc:
            raise _queue_full() from exc
        except SandboxError as exc:
            log.exception("the sandbox failed checking a reference solution")
            raise ServiceUnavailable(
                "The sandbox failed to start, so the reference solutions could not be checked; "
                "nothing was stored. Try again.",
                code="sandbox_unavailable",
            ) from exc
        if result.status != "ok":
            failures[f"reference.{language_id}"] = _failure(result)
    if failures:
        raise BadRequest(
            "A reference solution does not pass the problem's tests; nothing was stored.",
            fields=failures,
            code="reference_failed",
        )


def _failure(result: RunResult) -> str:
    """The failing tests and the error's last line ("SyntaxError: …"), if it printed one."""
    failed = [t for t in result.tests if not t.passed]
    names = ", ".join(f"{t.name} ({t.outcome})" for t in failed[:5])
    if len(failed) > 5:
        names += f" and {len(failed) - 5} more"
    error = result.stderr.strip().splitlines()[-1:]
    return "; ".join([f"{result.status}: {names or 'no test ran'}", *(e[:200] for e in error)])


async def list_problems(call: Call[None, None]) -> ProblemList:
    own = await code.own_problems(call.redis, call.tenant.tenant_id)
    return ProblemList(
        bank=[ProblemSummary.of(p) for p in bank()], own=[ProblemSummary.of(p) for p in own]
    )


async def get_problem(call: Call[None, None]) -> ProblemDetail:
    problem_id = call.path("problem_id")
    problem = await code.get_problem(call.redis, call.tenant.tenant_id, problem_id)
    if problem is None:
        raise NotFound(f"No problem {problem_id}.")
    return ProblemDetail(
        summary=ProblemSummary.of(problem),
        problem=ProblemView.of(problem),
        full=problem if problem.source == "tenant" else None,
    )


async def delete_problem(call: Call[None, None]) -> Response:
    problem_id = call.path("problem_id")
    if not await code.delete_problem(call.redis, call.tenant.tenant_id, problem_id):
        raise NotFound(f"No problem {problem_id} of yours.")
    return Response(status_code=204)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/v1/code/languages",
        get_languages,
        "The languages code can run in on this server",
        TAG,
        response=Languages,
    ),
    Endpoint(
        "GET",
        "/v1/problems",
        list_problems,
        "The problem bank and your own problems",
        TAG,
        response=ProblemList,
    ),
    Endpoint(
        "POST",
        "/v1/problems",
        create_problem,
        "Add a problem of your own (for interviews' `coding.problems`); each reference "
        "solution must pass every test (else 400 `reference_failed`)",
        TAG,
        body=ProblemFields,
        response=ProblemCreated,
        status=201,
        errors=(503,),
    ),
    Endpoint(
        "GET",
        "/v1/problems/{problem_id}",
        get_problem,
        "A problem: as candidates see it, and all of it when it is yours",
        TAG,
        response=ProblemDetail,
    ),
    Endpoint(
        "DELETE",
        "/v1/problems/{problem_id}",
        delete_problem,
        "Delete a problem of yours (sessions already given it answer 409 to runs)",
        TAG,
        status=204,
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/code/problem",
        get_session_problem,
        "The session's coding problem, its languages and starter code",
        TAG,
        auth="session",
        response=SessionProblem,
        errors=(409,),
    ),
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/code/runs",
        post_run,
        "Run the code on the visible tests (submit: also the hidden ones)",
        TAG,
        auth="candidate",
        body=RunIn,
        response=RunOut,
        errors=(409,),
    ),
    Endpoint(
        "GET",
        "/v1/sessions/{session_id}/code/runs",
        get_runs,
        "The session's runs and submissions, time-stamped, with their code",
        TAG,
        auth="session",
        response=Runs,
    ),
)
