"""A code submission over REST hands the coding answer in (issue 25): the live session's voice
loop is told (`VoiceLoop.answer_submitted`, which ends the open spoken answer to the coding
question: tests/test_voice_open_ended.py), in this process directly, in another through Redis
(`ownership.signal`, heard by that process's owner watch); a run that is not a submission tells
nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import cast

import pytest

from pipeline.voice.loop import VoiceLoop
from server.runtime import Connection, VoiceRuntime
from server.settings import Settings
from tests.api_support import Api, running_app
from tests.test_code_api import _bank, _coding_session, _problem, _run


class LiveLoop:
    """Stands for the session's running voice loop."""

    def __init__(self) -> None:
        self.submitted = 0

    async def answer_submitted(self) -> None:
        self.submitted += 1


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(
        VIVA_DATA_DIR=tmp_path_factory.mktemp("code-turn") / "data",
        REDIS_URL=None,
        VIVA_PRELOAD_MODELS=False,
        VIVA_SESSION_RATE_LIMIT_PER_MINUTE=1000,
    )
    with running_app(settings) as running:
        yield running


def test_a_submission_ends_the_live_sessions_open_answer(api: Api) -> None:
    _, session_id, token = _coding_session(api)
    problem = _bank(_problem(api, session_id, token)["problem"]["id"])
    runtime: VoiceRuntime = api.client.app.state.voice_runtime  # type: ignore[attr-defined]
    live = LiveLoop()
    runtime.streams[session_id] = Connection(loop=cast(VoiceLoop, live))
    try:
        code = problem.reference["python"]
        ran = _run(api, session_id, token, language="python", code=code, submit=False)
        assert ran.status_code == 200, ran.text
        assert live.submitted == 0  # running the visible tests is not handing the answer in
        done = _run(api, session_id, token, language="python", code=code, submit=True)
        assert done.status_code == 200, done.text
        assert live.submitted == 1
    finally:
        del runtime.streams[session_id]


def test_a_submission_reaches_a_live_session_in_another_process(api: Api) -> None:
    _, session_id, token = _coding_session(api)
    problem = _bank(_problem(api, session_id, token)["problem"]["id"])
    other = VoiceRuntime(api.client.app.state.services)  # type: ignore[attr-defined]
    live, elsewhere = LiveLoop(), LiveLoop()
    other.streams[session_id] = Connection(loop=cast(VoiceLoop, live))
    other.streams["ses_another"] = Connection(loop=cast(VoiceLoop, elsewhere))
    api.run(other._watching)  # that process's owner watch, listening
    try:
        code = problem.reference["python"]
        done = _run(api, session_id, token, language="python", code=code, submit=True)
        assert done.status_code == 200, done.text
        for _ in range(200):
            if live.submitted:
                break
            api.run(asyncio.sleep, 0.01)
        assert live.submitted == 1 and elsewhere.submitted == 0
    finally:
        api.run(other.close)


def test_a_submission_with_no_live_stream_anywhere_is_only_stored(api: Api) -> None:
    _, session_id, token = _coding_session(api)
    problem = _bank(_problem(api, session_id, token)["problem"]["id"])
    code = problem.reference["python"]
    done = _run(api, session_id, token, language="python", code=code, submit=True)
    assert done.status_code == 200, done.text
    assert done.json()["kind"] == "submission"
