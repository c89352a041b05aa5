"""A code submission over REST hands the coding answer in (issue 25): the live session's voice
loop in this process is told (`VoiceLoop.answer_submitted`, which ends the open spoken answer to
the coding question: tests/test_voice_open_ended.py); a run that is not a submission, or a
session with no live stream here, tells nobody."""

from __future__ import annotations

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


def test_a_submission_with_no_live_stream_here_is_only_stored(api: Api) -> None:
    _, session_id, token = _coding_session(api)
    problem = _bank(_problem(api, session_id, token)["problem"]["id"])
    code = problem.reference["python"]
    done = _run(api, session_id, token, language="python", code=code, submit=True)
    assert done.status_code == 200, done.text
    assert done.json()["kind"] == "submission"
