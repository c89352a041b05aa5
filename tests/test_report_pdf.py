"""Issue 15, item 6: `GET /v1/sessions/{id}/report.pdf`, rendered from the stored report, checked
by rendering it: `pdftotext` for what it says (scores, evidence quotes, per-question feedback,
integrity time ranges, the reviewer's override beside the machine's values, versions) and
`pdftoppm` for page 1 as a PNG that is not blank."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from server.review import report_pdf
from server.settings import Settings
from server.storage import keys
from tests.api_support import Api, bearer, running_app
from tests.test_finish_paths import _answered_voice_session


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with running_app(settings) as running:
        yield running


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: `make setup` installs poppler-utils")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, session_id: str) -> str:
    """The PDF's text as laid out (a table row stays one line), footers left out, whitespace
    (line wraps, column gaps) collapsed."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    raw = subprocess.run(
        [_tool("pdftotext"), "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    footer = re.compile(rf"^Viva Voce · session {re.escape(session_id)} page \d+$")
    lines = [
        line
        for line in raw.replace("\f", "\n").splitlines()
        if not footer.match(" ".join(line.split()))
    ]
    return " ".join(" ".join(lines).split())


def first_page_png(pdf: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
         str(tmp_path / "page1")],
        check=True,
    )  # fmt: skip
    return tmp_path / "page1.png"


def assert_not_blank(png: Path) -> None:
    with Image.open(png) as image:
        gray = image.convert("L")
        width, height = gray.size
        assert width > 400 and height > 600  # A4 at 60 dpi: 496 x 702
        dark = sum(gray.histogram()[:128])
    assert dark / (width * height) > 0.01, "page 1 is (nearly) blank"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _get_pdf(api: Api, session_id: str, headers: dict[str, str]) -> bytes:
    response = api.client.get(f"/v1/sessions/{session_id}/report.pdf", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert f'filename="{session_id}-report.pdf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    return response.content


@pytest.mark.models
def test_the_pdf_shows_the_report_and_the_reviewers_override(api: Api, tmp_path: Path) -> None:
    headers = api.tenant()
    session_id = _answered_voice_session(api, headers)
    assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
    report: dict[str, Any] = json.loads(
        str(api.run(api.redis.get, keys.session_report(session_id)))
    )

    before = pdf_text(_get_pdf(api, session_id, headers), tmp_path, session_id)
    assert "Not reviewed by a person yet" in before
    assert "Needs a person: fraud_signals.multiple_speakers, partial" in before

    review: dict[str, Any] = {
        "reviewer": "hm-7",
        "reason": "Listened to answer two: the other voice was a colleague at the door.",
        "decision": "advance",
        "status": "completed",
        "overall_score": 71,
        "competencies": {"Ownership": 83},
    }
    posted = api.client.post(f"/v1/sessions/{session_id}/review", headers=headers, json=review)
    assert posted.status_code == 201, posted.text
    pdf = _get_pdf(api, session_id, headers)
    text = pdf_text(pdf, tmp_path, session_id)

    # Who and what.
    assert session_id in text and "behavioral-1" in text
    # The machine's assessment, unchanged.
    overall = report["overall_score"]
    assert f"Overall score {overall}/100 ({report['verdict']})" in text
    assert _flat(report["summary"]) in text
    # The reviewer's decision, beside the machine's values.
    assert (
        "Reviewer hm-7" in text and _flat(review["reason"]) in text and "Decision advance" in text
    )
    assert "Status partial completed completed" in text
    assert f"Overall score {overall}/100 71/100 71/100" in text
    ownership = next(c for c in report["competencies"] if c["name"] == "Ownership")
    machine_ownership = report_pdf.score_text(ownership["score"])
    assert f"Ownership {machine_ownership} 83/100 83/100" in text
    # Scores with their evidence quotes (turn numbers).
    for competency in report["competencies"]:
        row = f"{competency['name']} {competency['weight']} {report_pdf.score_text(competency['score'])}"
        assert row in text, row
        for evidence in competency["evidence"]:
            assert f"“{_flat(evidence['quote'])}” (turn {evidence['turn']})" in text
    # Per-question feedback and key points.
    assert report["questions"]
    for q in report["questions"]:
        assert f"Question {q['index'] + 1}: {_flat(q['question'])}" in text
        assert f"Score {q['score']}/100 · rating {q['rating']}/5" in text
        assert f"Feedback: {_flat(q['feedback'])}" in text
        assert f"Why: {_flat(q['explanation'])}" in text
        for point in q["key_points"]:
            state = "found" if point["found"] else "missed"
            assert f"[{state}] {_flat(point['point'])}" in text
    # Integrity signals with their time ranges.
    speakers = report["fraud_signals"]["multiple_speakers"]
    assert speakers["detected"] and speakers["ranges"]
    assert "Another voice on the candidate's microphone: DETECTED" in text
    ranges = ", ".join(report_pdf.time_range(r) for r in speakers["ranges"])
    assert f"at {ranges} (session time)" in text
    assert "Too little of the candidate's own speech: not detected" in text
    assert f"cefr estimate {report['language']['cefr_estimate']}" in text
    # Versions of the engine, rubric and models.
    assert f"Rubric version {report['rubric_version']}" in text
    assert f"Engine {report['engine']}" in text
    assert f"Model: embedding {report['model_versions']['embedding']}" in text

    assert_not_blank(first_page_png(pdf, tmp_path))


@pytest.mark.models
def test_no_pdf_before_the_report_nor_for_another_tenant(api: Api) -> None:
    headers = api.tenant()
    created = api.client.post(
        "/v1/sessions", headers=headers, json={"interview_id": "behavioral-1", "mode": "chat"}
    ).json()
    session_id, token = created["session"]["id"], created["token"]
    url = f"/v1/sessions/{session_id}/report.pdf"
    running = api.client.get(url, headers=headers)
    assert running.status_code == 409
    assert running.json()["error"]["code"] == "session_not_finished"
    # The candidate's token does not open it; another tenant does not see it.
    assert api.client.get(url, headers=bearer(token)).status_code == 401
    assert api.client.get(url, headers=api.tenant("Stranger")).status_code == 404
    assert api.client.get("/v1/sessions/ses_nope/report.pdf", headers=headers).status_code == 404

    assert api.client.post(f"/v1/sessions/{session_id}/end", headers=headers).is_success
    assert api.client.get(url, headers=headers).status_code == 200
    assert api.client.get(url, headers=api.tenant("Stranger")).status_code == 404
    # Finished but its report not stored (yet): 404.
    api.run(api.redis.delete, keys.session_report(session_id))
    missing = api.client.get(url, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


LOW_CONFIDENCE: dict[str, Any] = {
    "status": "low_confidence",
    "overall_score": None,
    "verdict": "Not enough evidence to score",
    "summary": "Only 4 words of candidate answers: too little to score. No score is given.",
    "competencies": [
        {"name": "communication", "weight": 0.5, "score": None, "explanation": "Not enough evidence.", "evidence": []},
    ],
    "strengths": [],
    "improvements": [],
    "questions": [],
    "coverage": {"planned": 3, "asked": 1, "answered": 0, "candidate_words": 4},
    "engine": "structured",
    "engine_version": "",
    "rubric_version": "r-test",
    "model_versions": {"embedding": "minilm@test"},
    "channel": "chat",
    "weights": {"communication": 0.5},
}  # fmt: skip


def test_any_report_renders_also_without_dejavu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report with no score, no question and no integrity section; names outside ASCII; and
    the built-in Helvetica where DejaVu is not installed. Sections the PDF does not know are
    printed as they are."""
    context = report_pdf.PdfContext(
        session_id="ses_unit",
        interview_id="behavioral-1",
        generated_at=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        interview_title="Tell me about yourself",
        candidate_name="Zoë Ångström",
        external_id="c-42",
        mode="chat",
        flags=("low_confidence",),
    )
    text = pdf_text(report_pdf.render(LOW_CONFIDENCE, context), tmp_path, "ses_unit")
    assert report_pdf.fonts()[0] == "DejaVuSans"  # Debian's fonts-dejavu-core is installed
    assert "Zoë Ångström (external id c-42)" in text
    assert "Overall score no score (Not enough evidence to score)" in text
    assert "No question was answered." in text
    assert "Integrity signals None: the answers were typed" in text
    assert 'weights {"communication": 0.5}' in text
    assert "Rubric version r-test" in text

    monkeypatch.setattr(report_pdf, "_fonts", ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique"))
    pdf = report_pdf.render(LOW_CONFIDENCE, context)
    text = pdf_text(pdf, tmp_path, "ses_unit")
    assert "Zoë Ångström" in text and "Needs a person: low_confidence" in text
    assert_not_blank(first_page_png(pdf, tmp_path))


def test_clock_and_time_ranges() -> None:
    assert report_pdf.clock(0) == "0:00.0"
    assert report_pdf.clock(62.44) == "1:02.4"
    assert report_pdf.time_range({"start_s": 125.0, "end_s": 131.25}) == "2:05.0–2:11.2"


def test_no_stored_text_breaks_the_pdf(tmp_path: Path) -> None:
    """Issue 24, #6: a 5 000-character reviewer's reason in a table cell taller than a page was a
    LayoutError (500 until the next review). Long text in any cell now splits across pages;
    a word longer than a line wraps."""
    context = report_pdf.PdfContext(
        session_id="ses_long",
        interview_id="behavioral-1",
        generated_at=datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
        interview_title="Tell me about yourself",
        candidate_name="Sam",
        external_id=None,
        mode="chat",
        flags=(),
    )
    words = " ".join(f"word{i}" for i in range(3000))  # about 24 000 characters
    review = {
        "reviewer": "hm-" + "x" * 3000,  # one word, far wider than its cell
        "at": "2026-12-06T12:00:00+00:00",
        "decision": "advance",
        "reason": words,
        "status": {"machine": "low_confidence", "reviewer": "completed", "final": "completed"},
        "overall_score": {"machine": None, "reviewer": 70, "final": 70},
        "competencies": [{"name": words, "machine": None, "reviewer": 70, "final": 70}],
    }
    report = {**LOW_CONFIDENCE, "summary": words, "custom": words}
    pdf = report_pdf.render(report, context, review)
    text = pdf_text(pdf, tmp_path, "ses_long")
    assert "Reviewer's decision" in text and "Reviewer hm-xxx" in text
    assert "word0 word1" in text and "word2999" in text  # the long texts' start and end
