"""Bias audits: a session's self-reported demographic categories, and the impact ratios of an
interview's scores by the NYC Local Law 144 method (server/review/bias_audits.py).

The categories go in through `POST /v1/sessions/{id}/demographics`, are kept apart from the
session (server/review/demographics.py) and come out only as counts and rates, here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from server import interviews
from server.api.schemas import timestamp
from server.catalogue import builtin_interview
from server.http.access import session_for
from server.http.endpoint import Call, Endpoint
from server.http.errors import BadRequest, NotFound
from server.review import demographics
from server.review.bias_audits import (
    EXCLUDE_BELOW_SHARE,
    FOUR_FIFTHS,
    CategoryRate,
    ImpactRatios,
    Subject,
    Table,
    impact_ratios,
)
from server.review.demographics import UNKNOWN, Demographics
from server.sessions import SessionStore
from server.storage import audit_trail, keys
from server.storage.store import Redis

TAG = "audits"
FINISHED = ("completed", "partial", "low_confidence")
BATCH = 200
METHOD = (
    "NYC Local Law 144 (6 RCNY § 5-301), for a tool that scores: the sample is the interview's "
    "finished sessions with an overall score (the machine's, never a reviewer's override); "
    "scoring rate = share of a category's sessions scoring above the sample median; impact ratio "
    "= scoring rate / the highest scoring rate of the table; categories under "
    f"{float(EXCLUDE_BELOW_SHARE):.0%} of the sample are excluded from the ratios; unknown "
    f"categories are counted apart; a ratio under {float(FOUR_FIFTHS)} needs attention. "
    "Small cells are suppressed: a category (or the unknowns) with fewer sessions than the "
    "server's minimum group (VIVA_AUDIT_MIN_GROUP) shows no figures and is left out of the "
    "ratios, and so is the next smallest when one alone would be; the median is not shown for a "
    "sample under that size. Periods are whole UTC days (since rounded down, until up), at least "
    "VIVA_AUDIT_MIN_WINDOW_DAYS long."
)


class DemographicsRecorded(Demographics):
    session_id: str
    recorded_at: datetime


class ImpactRatioQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interview_id: str = Field(min_length=1, max_length=100, description="yours or a catalogue id")
    since: datetime | None = Field(
        None, description="sessions created at or after (ISO 8601; UTC without a zone)"
    )
    until: datetime | None = Field(None, description="sessions created before (ISO 8601)")


class CategoryView(BaseModel):
    sex: str | None = Field(description="null in the race/ethnicity table")
    race_ethnicity: str | None = Field(description="null in the sex table")
    sessions: int | None = Field(description="null when suppressed")
    above_median: int | None = Field(
        description="sessions scoring above the sample median; null when suppressed"
    )
    share: float | None = Field(description="of the sample; null when suppressed")
    scoring_rate: float | None = Field(description="above_median / sessions; null without any")
    impact_ratio: float | None = Field(
        description="scoring rate / the table's highest; null when excluded"
    )
    excluded: bool = Field(
        description="under 2 % of the sample, or suppressed: left out of the ratios"
    )
    needs_attention: bool = Field(description="impact ratio under 0.8 (four-fifths rule)")
    suppressed: bool = Field(
        description="fewer sessions than the minimum group (but some): no figures shown"
    )


class TableView(BaseModel):
    categories: list[CategoryView]
    unknown: int | None = Field(
        description="sessions whose category is unknown (for an intersection, either part); "
        "null when suppressed"
    )
    highest_scoring_rate: float | None = Field(description="the impact ratios' denominator")


class SampleView(BaseModel):
    scored: int = Field(description="finished sessions with an overall score: the sample")
    unscored: int = Field(description="finished without a score (low confidence): left out")
    unfinished: int = Field(description="not finished yet: left out")
    with_demographics: int = Field(description="sessions of the sample with categories recorded")


class Attention(BaseModel):
    table: str = Field(description="sex | race_ethnicity | intersectional")
    sex: str | None
    race_ethnicity: str | None
    impact_ratio: float


class ImpactRatioReport(BaseModel):
    interview_id: str
    since: datetime | None
    until: datetime | None
    method: str
    sessions: SampleView
    median_score: float | None
    sex: TableView
    race_ethnicity: TableView
    intersectional: TableView
    needs_attention: list[Attention] = Field(description="every ratio under 0.8")


@dataclass(frozen=True)
class Sample:
    scored: list[tuple[str, float]]  # (session id, overall score)
    unscored: int
    unfinished: int


async def record_demographics(call: Call[Demographics, None]) -> DemographicsRecorded:
    """Keep the candidate's self-reported categories apart from the session, for audits."""
    record = await session_for(call)
    recorded_at = await demographics.store(call.redis, record.id, call.body)
    if recorded_at is None:  # erased meanwhile
        raise NotFound(f"No session {record.id}.")
    # Which categories were reported stays out of the log: only that they were.
    await audit_trail.record(call.redis, record.id, "demographics_recorded", call.tenant.actor)
    return DemographicsRecorded(
        **call.body.model_dump(), session_id=record.id, recorded_at=timestamp(recorded_at)
    )


def _epoch(moment: datetime) -> float:
    """A time without a zone is UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _utc(moment: datetime) -> datetime:
    """A time without a zone is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _in_period(created_at: float, q: ImpactRatioQuery) -> bool:
    return (q.since is None or created_at >= _epoch(q.since)) and (
        q.until is None or created_at < _epoch(q.until)
    )


async def interview_sample(redis: Redis, tenant_id: str, q: ImpactRatioQuery) -> Sample | None:
    """The interview's sessions of the tenant in the period, with their overall scores; None
    when the tenant has none (of any state)."""
    ids = [s async for s in SessionStore(redis).tenant_session_ids(tenant_id)]
    mine: list[str] = []
    unfinished = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        async with redis.pipeline(transaction=False) as pipe:
            for session_id in batch:
                pipe.hmget(keys.session(session_id), ["interview_id", "created_at", "status"])
            fields = await pipe.execute()
        for session_id, (interview_id, created_at, status) in zip(batch, fields, strict=True):
            if interview_id != q.interview_id or not _in_period(float(created_at or 0), q):
                continue
            if status in FINISHED:
                mine.append(session_id)
            else:
                unfinished += 1
    if not mine and not unfinished:
        return None
    scored: list[tuple[str, float]] = []
    for start in range(0, len(mine), BATCH):
        batch = mine[start : start + BATCH]
        async with redis.pipeline(transaction=False) as pipe:  # not MGET: a slot per session
            for session_id in batch:
                pipe.get(keys.session_report(session_id))
            reports = await pipe.execute()
        for session_id, raw in zip(batch, reports, strict=True):
            score = json.loads(raw).get("overall_score") if raw else None
            if isinstance(score, int | float) and not isinstance(score, bool):
                scored.append((session_id, float(score)))
    return Sample(scored, len(mine) - len(scored), unfinished)


def _number(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _category(c: CategoryRate) -> CategoryView:
    if c.suppressed:
        return CategoryView(
            sex=c.sex,
            race_ethnicity=c.race_ethnicity,
            sessions=None,
            above_median=None,
            share=None,
            scoring_rate=None,
            impact_ratio=None,
            excluded=True,
            needs_attention=False,
            suppressed=True,
        )
    return CategoryView(
        sex=c.sex,
        race_ethnicity=c.race_ethnicity,
        sessions=c.sessions,
        above_median=c.above_median,
        share=float(c.share),
        scoring_rate=_number(c.scoring_rate),
        impact_ratio=_number(c.impact_ratio),
        excluded=c.excluded,
        needs_attention=c.needs_attention,
        suppressed=False,
    )


def _table(t: Table) -> TableView:
    return TableView(
        categories=[_category(c) for c in t.categories],
        unknown=None if t.unknown_suppressed else t.unknown,
        highest_scoring_rate=_number(t.highest_rate),
    )


def report_of(
    q: ImpactRatioQuery,
    sample: Sample,
    result: ImpactRatios,
    with_demographics: int,
    min_group: int = 1,
) -> ImpactRatioReport:
    small = 0 < len(sample.scored) < min_group  # the median would be a candidate's own score
    return ImpactRatioReport(
        interview_id=q.interview_id,
        since=q.since,
        until=q.until,
        method=METHOD,
        sessions=SampleView(
            scored=len(sample.scored),
            unscored=sample.unscored,
            unfinished=sample.unfinished,
            with_demographics=with_demographics,
        ),
        median_score=None if small else _number(result.median),
        sex=_table(result.table("sex")),
        race_ethnicity=_table(result.table("race_ethnicity")),
        intersectional=_table(result.table("intersectional")),
        needs_attention=[
            Attention(
                table=table,
                sex=c.sex,
                race_ethnicity=c.race_ethnicity,
                impact_ratio=float(c.impact_ratio or 0),
            )
            for table, c in result.needs_attention
        ],
    )


def subjects_of(
    scored: Sequence[tuple[str, float]],
    categories: dict[str, demographics.StoredDemographics | None],
) -> list[Subject]:
    subjects = []
    for session_id, score in scored:
        reported = categories.get(session_id)
        subjects.append(
            Subject(
                score,
                reported.sex if reported else UNKNOWN,
                reported.race_ethnicity if reported else UNKNOWN,
            )
        )
    return subjects


def coarse_period(q: ImpactRatioQuery, min_days: int, now: datetime) -> ImpactRatioQuery:
    """The period in whole UTC days (since rounded down, until up), at least `min_days` long
    (until defaults to now): a narrow window isolates a candidate (issue 24, #7)."""
    day = timedelta(days=1)

    def floor(moment: datetime) -> datetime:
        return _utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)

    since = floor(q.since) if q.since else None
    until = None
    if q.until:
        until = floor(q.until)
        until = until if until == _utc(q.until) else until + day
    if since is not None and (until or now) - since < min_days * day:
        raise BadRequest(
            "The audit period is too short.",
            fields={"since": f"periods are whole UTC days, at least {min_days} (until - since)"},
        )
    return q.model_copy(update={"since": since, "until": until})


async def get_impact_ratios(call: Call[None, ImpactRatioQuery]) -> ImpactRatioReport:
    settings = call.services.settings
    q = coarse_period(call.query, settings.audit_min_window_days, datetime.now(UTC))
    tenant_id = call.tenant.tenant_id
    sample = await interview_sample(call.redis, tenant_id, q)
    if sample is None:
        known = builtin_interview(q.interview_id) is not None or (
            await interviews.get(call.redis, tenant_id, q.interview_id) is not None
        )
        if not known:
            raise NotFound(
                f"No interview {q.interview_id}.",
                fields={"interview_id": "no such interview, yours or built-in, and no sessions"},
            )
        sample = Sample([], 0, 0)
    categories = await demographics.load_many(call.redis, [s for s, _ in sample.scored])
    min_group = settings.audit_min_group
    result = impact_ratios(subjects_of(sample.scored, categories), min_group=min_group)
    with_demographics = sum(v is not None for v in categories.values())
    return report_of(q, sample, result, with_demographics, min_group)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/v1/sessions/{session_id}/demographics",
        record_demographics,
        "Record the candidate's self-reported demographic categories (bias audits only)",
        TAG,
        body=Demographics,
        response=DemographicsRecorded,
        description="Kept apart from the session and never an input to scoring; posting again "
        "replaces them; erased with the session. Categories not given are `unknown`.",
    ),
    Endpoint(
        "GET",
        "/v1/audits/impact-ratios",
        get_impact_ratios,
        "Impact ratios of an interview's scores by sex, race/ethnicity and intersection (LL144)",
        TAG,
        query=ImpactRatioQuery,
        response=ImpactRatioReport,
        errors=(404,),
        description=METHOD,
    ),
)
