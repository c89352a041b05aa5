"""The report as a PDF (ReportLab): the same report object the API returns, laid out to share.

Scores with their evidence quotes, per-question feedback with the key points found and missed,
the integrity signals with their time ranges, the reviewer's decision beside the machine's
values (never instead of them), and the versions of the engine, rubric and models. Any other
section the report carries is printed as it is, so nothing in the report is left out.

Text is set in DejaVu Sans (Debian's `fonts-dejavu-core`) when it is installed, which covers
accented Latin, Greek and Cyrillic; else in the PDF's built-in Helvetica (Latin-1 only).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FAMILY = "DejaVuSans"
# PDFs render on threads of their own, not the default pool that scoring runs on: a burst of PDF
# requests queues here and never delays a score (issue 24, #6).
RENDER_THREADS = 2
_RENDERER = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="viva-pdf")
# A table row taller than a page splits inside its cells, so that no stored text (a reviewer's
# reason, a summary, a competency name) can make the layout fail (issue 24, #6).
SPLIT_IN_ROW = 1
# Report keys laid out in their own sections; any other key goes under "Other report fields".
LAID_OUT = frozenset(
    {
        "status",
        "overall_score",
        "verdict",
        "summary",
        "competencies",
        "strengths",
        "improvements",
        "questions",
        "coverage",
        "inputs_used",
        "inputs_excluded",
        "engine",
        "engine_version",
        "rubric_version",
        "model_versions",
        "fraud_signals",
        "language",
        "channel",
        "scoring",
    }
)
SIGNAL_TITLES = {
    "multiple_speakers": "Another voice on the candidate's microphone",
    "reading_detected": "Reading answers aloud",
    "too_little_speech": "Too little of the candidate's own speech",
}
INK, MUTED, RULE, SHADE = colors.HexColor("#1f2328"), colors.HexColor("#5b636c"), colors.HexColor("#c9d1d9"), colors.HexColor("#f0f3f6")  # fmt: skip
FLAG = colors.HexColor("#9a3412")

_fonts_lock = threading.Lock()
_fonts: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class PdfContext:
    """What the report itself does not hold: whose session it is, and when."""

    session_id: str
    interview_id: str
    generated_at: datetime
    interview_title: str | None = None
    candidate_name: str | None = None
    external_id: str | None = None
    mode: str | None = None
    finished_at: datetime | None = None
    flags: Sequence[str] = field(default_factory=tuple)  # why it needs a person (reviews.flags)


def fonts() -> tuple[str, str, str]:
    """(regular, bold, italic) font names: DejaVu Sans when installed, else Helvetica."""
    global _fonts
    with _fonts_lock:
        if _fonts is None:
            _fonts = _register_dejavu() or ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique")
        return _fonts


def _register_dejavu() -> tuple[str, str, str] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if not (regular.is_file() and bold.is_file()):
            continue
        italic = folder / "DejaVuSans-Oblique.ttf"  # fonts-dejavu-extra; else upright
        pdfmetrics.registerFont(TTFont(FAMILY, str(regular)))
        pdfmetrics.registerFont(TTFont(f"{FAMILY}-Bold", str(bold)))
        italic_name = f"{FAMILY}-Oblique" if italic.is_file() else FAMILY
        if italic.is_file():
            pdfmetrics.registerFont(TTFont(italic_name, str(italic)))
        pdfmetrics.registerFontFamily(
            FAMILY,
            normal=FAMILY,
            bold=f"{FAMILY}-Bold",
            italic=italic_name,
            boldItalic=f"{FAMILY}-Bold",
        )
        return FAMILY, f"{FAMILY}-Bold", italic_name
    return None


class _Styles:
    def __init__(self) -> None:
        regular, bold, italic = fonts()
        base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK)
        self.body = base
        self.title = ParagraphStyle("title", base, fontName=bold, fontSize=18, leading=22)
        self.h2 = ParagraphStyle(
            "h2",
            base,
            fontName=bold,
            fontSize=13,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        )
        self.h3 = ParagraphStyle(
            "h3",
            base,
            fontName=bold,
            fontSize=10.5,
            leading=13,
            spaceBefore=6,
            spaceAfter=2,
            keepWithNext=1,
        )
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED)
        self.quote = ParagraphStyle(
            "quote", base, fontName=italic, leftIndent=10, textColor=INK, spaceAfter=1
        )
        self.bullet = ParagraphStyle("bullet", base, leftIndent=10, bulletIndent=2)
        self.cell = ParagraphStyle("cell", base, fontSize=8.5, leading=10.5, alignment=TA_LEFT)
        self.cell_bold = ParagraphStyle("cell_bold", self.cell, fontName=bold)
        self.flag = ParagraphStyle("flag", base, textColor=FLAG)
        self.bold_font = bold
        self.regular_font = regular


def _text(value: object) -> str:
    """Escaped for ReportLab's paragraph markup."""
    return escape("" if value is None else str(value))


def _plain(value: object) -> str:
    """A report value as a reader would write it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def score_text(score: object) -> str:
    return "no score" if score is None else f"{score}/100"


def clock(seconds: float) -> str:
    """Session time as m:ss.s (62.4 -> 1:02.4)."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def time_range(r: Mapping[str, Any]) -> str:
    return f"{clock(r['start_s'])}–{clock(r['end_s'])}"


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class _Builder:
    def __init__(
        self, report: Mapping[str, Any], context: PdfContext, review: Mapping[str, Any] | None
    ) -> None:
        self.report = report
        self.context = context
        self.review = review
        self.s = _Styles()
        self.story: list[Flowable] = []

    # -- helpers --------------------------------------------------------------------------

    def p(self, markup: str, style: ParagraphStyle | None = None) -> None:
        self.story.append(Paragraph(markup, style or self.s.body))

    def h2(self, title: str) -> None:
        self.p(_text(title), self.s.h2)

    def bullets(self, items: Iterable[object]) -> None:
        for item in items:
            self.story.append(Paragraph(_text(item), self.s.bullet, bulletText="•"))

    def table(
        self,
        rows: Sequence[Sequence[object]],
        widths: Sequence[float],
        *,
        header: bool = True,
    ) -> Table:
        cells = [
            [
                c
                if isinstance(c, Flowable)
                else Paragraph(_text(c), self.s.cell_bold if header and i == 0 else self.s.cell)
                for c in row
            ]
            for i, row in enumerate(rows)
        ]
        table = Table(
            cells, colWidths=list(widths), repeatRows=1 if header else 0, splitInRow=SPLIT_IN_ROW
        )
        style = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
        table.setStyle(TableStyle(style))
        return table

    def pairs(self, rows: Sequence[tuple[str, object]]) -> None:
        cells = [[Paragraph(_text(k), self.s.cell_bold), Paragraph(_text(v), self.s.cell)] for k, v in rows]  # fmt: skip
        table = Table(cells, colWidths=[45 * mm, 129 * mm], splitInRow=SPLIT_IN_ROW)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        self.story.append(table)

    # -- sections -------------------------------------------------------------------------

    def build(self) -> list[Flowable]:
        self.header()
        self.outcome()
        self.reviewer()
        self.competencies()
        self.strengths()
        self.questions()
        self.integrity()
        self.provenance()
        self.other_fields()
        return self.story

    def header(self) -> None:
        c = self.context
        self.p("Interview report", self.s.title)
        if c.interview_title:
            self.p(_text(c.interview_title), self.s.h3)
        candidate = c.candidate_name or "—"
        if c.external_id:
            candidate += f" (external id {c.external_id})"
        channel = self.report.get("channel")
        self.story.append(Spacer(0, 4))
        self.pairs(
            [
                ("Candidate", candidate),
                ("Session", c.session_id),
                ("Interview", c.interview_id),
                ("Mode", f"{c.mode or '—'}" + (f", heard via {channel}" if channel else "")),
                ("Finished", _when(c.finished_at)),
                ("Generated", _when(c.generated_at)),
            ]
        )

    def outcome(self) -> None:
        r = self.report
        self.h2("Machine assessment")
        verdict = f" ({r['verdict']})" if r.get("verdict") else ""
        self.pairs(
            [
                ("Status", r.get("status")),
                ("Overall score", score_text(r.get("overall_score")) + verdict),
                ("Summary", r.get("summary") or "—"),
            ]
        )
        if self.context.flags:
            self.p("<b>Needs a person:</b> " + _text(", ".join(self.context.flags)), self.s.flag)

    def reviewer(self) -> None:
        self.h2("Reviewer's decision")
        review = self.review
        if review is None:
            self.p("Not reviewed by a person yet: every value in this report is the machine's.")
            return
        self.pairs(
            [
                ("Reviewer", review["reviewer"]),
                ("Recorded", _when(review["at"])),
                ("Decision", review.get("decision") or "—"),
                ("Reason", review["reason"]),
            ]
        )
        rows: list[list[object]] = [["", "Machine", "Reviewer", "Final"]]
        status = review["status"]
        rows.append(["Status", status["machine"], status["reviewer"] or "—", status["final"]])
        overall = review["overall_score"]
        rows.append(
            [
                "Overall score",
                score_text(overall["machine"]),
                "—" if overall["reviewer"] is None else score_text(overall["reviewer"]),
                score_text(overall["final"]),
            ]
        )
        for c in review["competencies"]:
            rows.append(
                [
                    c["name"],
                    score_text(c["machine"]),
                    "—" if c["reviewer"] is None else score_text(c["reviewer"]),
                    score_text(c["final"]),
                ]
            )
        self.story.append(Spacer(0, 3))
        self.story.append(self.table(rows, [58 * mm, 38 * mm, 38 * mm, 40 * mm]))
        self.p(
            "The machine's values are kept unchanged beside the reviewer's; the sections below "
            "are the machine report.",
            self.s.small,
        )

    def _reviewer_scores(self) -> dict[str, int | None]:
        if self.review is None:
            return {}
        return {c["name"]: c["reviewer"] for c in self.review["competencies"]}

    def competencies(self) -> None:
        competencies = self.report.get("competencies") or []
        if not competencies:
            return
        self.h2("Competencies")
        overrides = self._reviewer_scores()
        rows: list[list[object]] = [["Competency", "Weight", "Score", "Reviewer", "Explanation"]]
        for c in competencies:
            override = overrides.get(c.get("name"))
            rows.append(
                [
                    c.get("name"),
                    c.get("weight"),
                    score_text(c.get("score")),
                    "—" if override is None else score_text(override),
                    c.get("explanation") or "",
                ]
            )
        self.story.append(self.table(rows, [32 * mm, 18 * mm, 20 * mm, 22 * mm, 82 * mm]))
        for c in competencies:
            evidence = c.get("evidence") or []
            if not evidence:
                continue
            block: list[Flowable] = [
                Paragraph(f"Evidence: {_text(c.get('name'))}", self.s.h3),
                *(self._quote(e) for e in evidence),
            ]
            self.story.append(KeepTogether(block))

    def _quote(self, evidence: Mapping[str, Any]) -> Paragraph:
        return Paragraph(
            f"“{_text(evidence.get('quote'))}” <font color='#5b636c'>(turn "
            f"{_text(evidence.get('turn'))})</font>",
            self.s.quote,
        )

    def strengths(self) -> None:
        for key, title in (("strengths", "Strengths"), ("improvements", "To improve")):
            items = self.report.get(key) or []
            if items:
                self.h2(title)
                self.bullets(items)

    def questions(self) -> None:
        questions = self.report.get("questions") or []
        self.h2("Questions and feedback")
        if not questions:
            self.p("No question was answered.")
            return
        for q in questions:
            number = int(q.get("index", 0)) + 1
            block: list[Flowable] = [
                Paragraph(f"Question {number}: {_text(q.get('question'))}", self.s.h3)
            ]
            facts = [f"Score {score_text(q.get('score'))}"]
            if q.get("rating") is not None:
                facts.append(f"rating {q['rating']}/5")
            if q.get("skill"):
                facts.append(f"skill {q['skill']}")
            block.append(Paragraph(_text(" · ".join(facts)), self.s.small))
            self.story.append(KeepTogether(block))
            if q.get("feedback"):
                self.p(f"<b>Feedback:</b> {_text(q['feedback'])}")
            if q.get("explanation"):
                self.p(f"<b>Why:</b> {_text(q['explanation'])}")
            for label, key in (("Strengths", "strengths"), ("To improve", "improvements")):
                if q.get(key):
                    self.p(f"<b>{label}:</b> " + _text("; ".join(map(str, q[key]))))
            for point in q.get("key_points") or []:
                self._key_point(point)
            if q.get("answer"):
                self.p(f"<b>Answer:</b> {_text(q['answer'])}", self.s.small)

    def _key_point(self, point: Mapping[str, Any]) -> None:
        state = "found" if point.get("found") else "missed"
        line = f"[{state}] {_text(point.get('point'))}"
        if point.get("evidence"):
            e = point["evidence"]
            line += f": “{_text(e.get('quote'))}” (turn {_text(e.get('turn'))})"
        if point.get("contradicted_by"):
            e = point["contradicted_by"]
            line += f"; contradicted by “{_text(e.get('quote'))}” (turn {_text(e.get('turn'))})"
        self.story.append(Paragraph(line, self.s.bullet, bulletText="•"))

    def integrity(self) -> None:
        self.h2("Integrity signals")
        signals = self.report.get("fraud_signals")
        if not isinstance(signals, Mapping):
            self.p("None: the answers were typed, nothing was heard to check.")
        else:
            for name, signal in signals.items():
                if isinstance(signal, Mapping):
                    self._signal(name, signal)
            if signals.get("note"):
                self.p(_text(signals["note"]), self.s.small)
        language = self.report.get("language")
        if isinstance(language, Mapping):
            self.p("Language", self.s.h3)
            if not language.get("available"):
                self.p(_text(language.get("reason") or "not available"))
            else:
                rows = [
                    (k.replace("_", " "), _plain(v))
                    for k, v in language.items()
                    if k not in ("available", "cefr_basis")
                ]
                self.pairs(rows)
                basis = language.get("cefr_basis") or []
                if basis:
                    table_rows: list[list[object]] = [["CEFR criterion", "Value", "Suggests"]]
                    table_rows += [[b.get("criterion"), b.get("value"), b.get("suggests")] for b in basis]  # fmt: skip
                    self.story.append(self.table(table_rows, [70 * mm, 40 * mm, 40 * mm]))

    def _signal(self, name: str, signal: Mapping[str, Any]) -> None:
        detected = signal.get("detected") is True
        title = SIGNAL_TITLES.get(name, name.replace("_", " "))
        state = "DETECTED" if detected else "not detected"
        if signal.get("enabled") is False:
            state = "not enabled"
        self.p(f"{_text(title)}: <b>{state}</b>", self.s.flag if detected else self.s.body)
        details: list[str] = []
        ranges = signal.get("ranges")
        if ranges:
            details.append("at " + ", ".join(time_range(r) for r in ranges) + " (session time)")
        for key, value in signal.items():
            if key in ("detected", "enabled", "ranges"):
                continue
            if isinstance(value, Mapping):
                value = ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
            details.append(f"{key.replace('_', ' ')}: {_plain(value)}")
        self.bullets(details)

    def provenance(self) -> None:
        r = self.report
        self.h2("How this was scored")
        rows: list[tuple[str, object]] = [
            ("Engine", " ".join(str(v) for v in (r.get("engine"), r.get("engine_version")) if v) or "—"),
            ("Rubric version", r.get("rubric_version") or "—"),
        ]  # fmt: skip
        for model, version in (r.get("model_versions") or {}).items():
            rows.append((f"Model: {model}", version))
        scoring = r.get("scoring")
        if isinstance(scoring, Mapping):  # the rubric and the weights that scored this report
            weights = scoring.get("weights") or {}
            source = scoring.get("weights_source")
            label = f"Weights ({source})" if source else "Weights"
            rows.append((label, ", ".join(f"{k} {v}" for k, v in weights.items()) or "—"))
            rest = {k: v for k, v in scoring.items() if k not in ("weights", "weights_source")}
            if rest.get("rubric_version") == r.get("rubric_version"):
                rest.pop("rubric_version")
            rows += [(k.replace("_", " "), _plain(v)) for k, v in rest.items()]
        coverage = r.get("coverage") or {}
        if coverage:
            rows.append(("Coverage", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in coverage.items())))  # fmt: skip
        if r.get("inputs_used"):
            rows.append(("Inputs used", "; ".join(map(str, r["inputs_used"]))))
        if r.get("inputs_excluded"):
            rows.append(("Never used", "; ".join(map(str, r["inputs_excluded"]))))
        self.pairs(rows)

    def other_fields(self) -> None:
        others = {k: v for k, v in self.report.items() if k not in LAID_OUT}
        if not others:
            return
        self.h2("Other report fields")
        self.pairs(
            [
                (k, v if isinstance(v, str | int | float) else json.dumps(v, ensure_ascii=False))
                for k, v in others.items()
            ]
        )


def render(
    report: Mapping[str, Any], context: PdfContext, review: Mapping[str, Any] | None = None
) -> bytes:
    """The PDF of `report` (as stored), with `review` (a `ReviewView` as JSON) if any."""
    builder = _Builder(report, context, review)
    story = builder.build()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Interview report {context.session_id}",
        author="Viva Voce",
        subject=context.interview_title or context.interview_id,
        creator="Viva Voce",
        invariant=1,
    )
    font = builder.s.regular_font

    def footer(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(18 * mm, 9 * mm, f"Viva Voce · session {context.session_id}")
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


async def render_async(
    report: Mapping[str, Any], context: PdfContext, review: Mapping[str, Any] | None = None
) -> bytes:
    """`render` on the PDF threads (`RENDER_THREADS`), not the event loop's default pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_RENDERER, render, report, context, review)
