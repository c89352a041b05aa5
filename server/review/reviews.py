"""Human review of a report: which finished sessions need a person, and a reviewer's decision.

A session needs a person when its machine report is flagged (`flags`): an integrity signal
detected (`fraud_signals.*`), status `low_confidence` or `partial`, or the tenant's own rules
(an overall-score band, a competency floor) catch it. A reviewer's decision (`build_review`)
may override the status, the overall score and competency scores, always with a reason; the
machine report is never changed: the decision is stored beside it, with both values.

Reviews are append-only (`viva:session:{id}:reviews`, written through server/storage/guard.py); the
latest one is the session's review. Each records the digest of the report it was made on: a
partial session reinvited and scored again has a new report, which nobody has reviewed yet.
The tenant's rules are a field of its hash (`review_rules`); every change to them goes to the
tenant's audit log, every review to the session's.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from server.storage import guard, keys
from server.storage.store import Redis

EVENT_REVIEWED = "session.reviewed"
RULES_FIELD = "review_rules"  # in the tenant's hash
FinalStatus = Literal["completed", "partial", "low_confidence"]
Decision = Literal["advance", "hold", "reject"]
Score = Annotated[int, Field(strict=True, ge=0, le=100)]


class ReviewInvalid(ValueError):
    """A decision that does not fit the report; `fields` says why, per body field."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


# --- the tenant's rules -------------------------------------------------------------------


class ScoreBand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: Score
    max: Score

    @model_validator(mode="after")
    def _ordered(self) -> ScoreBand:
        if self.min > self.max:
            raise ValueError("min must not be above max")
        return self


class ReviewRules(BaseModel):
    """The tenant's own reasons for a person to look, beside the built-in flags (integrity
    signals, low_confidence, partial), which always apply."""

    model_config = ConfigDict(extra="forbid")
    score_band: ScoreBand | None = Field(
        None, description="an overall score within [min, max] (inclusive) needs a person"
    )
    competency_below: Score | None = Field(
        None, description="any competency scored under this needs a person"
    )


class ReviewRulesView(ReviewRules):
    updated_at: datetime | None = Field(None, description="null: never set")
    updated_by: str | None = None


async def get_rules(redis: Redis, tenant_id: str) -> ReviewRulesView:
    raw = await redis.hget(keys.tenant(tenant_id), RULES_FIELD)
    if not raw:
        return ReviewRulesView()
    stored = json.loads(raw)
    try:
        rules = ReviewRules.model_validate(stored.get("rules") or {})
    except ValidationError:  # written by an older version: as if unset, never a 500
        return ReviewRulesView()
    return ReviewRulesView(
        **rules.model_dump(),
        updated_at=datetime.fromtimestamp(float(stored["at"]), UTC),
        updated_by=stored.get("actor"),
    )


async def set_rules(redis: Redis, tenant_id: str, rules: ReviewRules, actor: str) -> None:
    now = time.time()
    value = json.dumps({"rules": rules.model_dump(mode="json"), "at": now, "actor": actor})
    await redis.hset(keys.tenant(tenant_id), RULES_FIELD, value)
    await redis.xadd(
        keys.tenant_audit(tenant_id),
        {
            "at": repr(now),
            "action": "review_rules_set",
            "actor": actor,
            "rules": json.dumps(rules.model_dump(mode="json")),
        },
    )


# --- which sessions need a person ---------------------------------------------------------


def flags(report: Mapping[str, Any], rules: ReviewRules) -> list[str]:
    """Why a finished session's report needs a person; empty when it does not.

    `fraud_signals.<signal>` for each integrity signal detected, `low_confidence`, `partial`,
    `second_opinion` (the configured LLM's rating disagrees with the rubric's),
    and the tenant's rules: `score_band`, `competency_below`."""
    found: list[str] = []
    signals = report.get("fraud_signals") or {}
    if isinstance(signals, Mapping):
        found += [
            f"fraud_signals.{name}"
            for name, signal in signals.items()
            if isinstance(signal, Mapping) and signal.get("detected") is True
        ]
    status = report.get("status")
    if status in ("low_confidence", "partial"):
        found.append(str(status))
    opinion = report.get("second_opinion")
    if isinstance(opinion, Mapping) and opinion.get("disagreement") is True:
        found.append("second_opinion")
    score = report.get("overall_score")
    band = rules.score_band
    if band is not None and isinstance(score, int) and band.min <= score <= band.max:
        found.append("score_band")
    floor = rules.competency_below
    scores = [c.get("score") for c in report.get("competencies") or []]
    if floor is not None and any(isinstance(s, int) and s < floor for s in scores):
        found.append("competency_below")
    return found


# --- a reviewer's decision ----------------------------------------------------------------


class StatusValues(BaseModel):
    machine: str = Field(description="the report's status, unchanged")
    reviewer: FinalStatus | None = Field(description="the reviewer's override; null: none")
    final: str = Field(description="the reviewer's where given, else the machine's")


class ScoreValues(BaseModel):
    machine: int | None = Field(description="the report's score, unchanged")
    reviewer: int | None = Field(description="the reviewer's override; null: none")
    final: int | None = Field(description="the reviewer's where given, else the machine's")


class CompetencyValues(ScoreValues):
    name: str


class ReviewView(BaseModel):
    """A reviewer's decision, with the machine's and the reviewer's values side by side."""

    id: str
    at: datetime
    reviewer: str = Field(description="who reviewed (your user id)")
    actor: str = Field(description="the API key that recorded it: tenant:{id}")
    reason: str
    decision: Decision | None
    status: StatusValues
    overall_score: ScoreValues
    competencies: list[CompetencyValues]
    overridden: list[str] = Field(
        description="what the reviewer changed: `status`, `overall_score`, `competencies.<name>`"
    )


def report_digest(report: Mapping[str, Any]) -> str:
    """Names the report a review was made on (a reinvited session gets a new one)."""
    canonical = json.dumps(report, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _machine_score(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def build_review(
    report: Mapping[str, Any],
    *,
    review_id: str,
    at: float,
    actor: str,
    reviewer: str,
    reason: str,
    decision: Decision | None = None,
    status: FinalStatus | None = None,
    overall_score: int | None = None,
    competencies: Mapping[str, int] | None = None,
) -> ReviewView:
    """The decision on `report`. ReviewInvalid when an override does not fit it: a competency the
    report has not, or an overall score for a status that has none (`low_confidence`)."""
    machine_status = str(report.get("status"))
    final_status = status or machine_status
    fields: dict[str, str] = {}
    if overall_score is not None and final_status == "low_confidence":
        fields["overall_score"] = (
            "a low_confidence report has no overall score: override `status` as well"
        )
    named = {str(c.get("name")): c for c in report.get("competencies") or []}
    overrides: dict[str, int] = {}
    for given, score in (competencies or {}).items():
        # The exact name, else the one name equal to it but for case ("Communication", a skill,
        # and "communication", the general competency, may both be there).
        folded = [n for n in named if n.casefold() == given.strip().casefold()]
        name = given if given in named else folded[0] if len(folded) == 1 else None
        if name is None and len(folded) > 1:
            fields[f"competencies.{given}"] = (
                f"ambiguous: give the exact name, one of {', '.join(folded)}"
            )
        elif name is None:
            choices = ", ".join(named) or "none"
            fields[f"competencies.{given}"] = (
                f"the report has no such competency (it has: {choices})"
            )
        elif name in overrides:
            fields[f"competencies.{given}"] = f"{name} is given twice"
        else:
            overrides[name] = score
    if fields:
        raise ReviewInvalid("The review does not fit the report.", fields)

    machine_overall = _machine_score(report.get("overall_score"))
    overridden = [
        *(["status"] if status is not None else []),
        *(["overall_score"] if overall_score is not None else []),
        *(f"competencies.{name}" for name in overrides),
    ]
    return ReviewView(
        id=review_id,
        at=datetime.fromtimestamp(at, UTC),
        reviewer=reviewer,
        actor=actor,
        reason=reason,
        decision=decision,
        status=StatusValues(machine=machine_status, reviewer=status, final=final_status),
        overall_score=ScoreValues(
            machine=machine_overall,
            reviewer=overall_score,
            final=overall_score if overall_score is not None else machine_overall,
        ),
        competencies=[
            CompetencyValues(
                name=name,
                machine=_machine_score(c.get("score")),
                reviewer=overrides.get(name),
                final=overrides.get(name, _machine_score(c.get("score"))),
            )
            for name, c in named.items()
        ],
        overridden=overridden,
    )


def audit_detail(review: ReviewView) -> dict[str, Any]:
    """The audit entry of a review: who, why, what changed, from what."""
    return {
        "review_id": review.id,
        "reviewer": review.reviewer,
        "reason": review.reason,
        "decision": review.decision,
        "overrides": {
            **({"status": review.status.reviewer} if review.status.reviewer else {}),
            **(
                {"overall_score": review.overall_score.reviewer}
                if review.overall_score.reviewer is not None
                else {}
            ),
            **(
                {"competencies": changed}
                if (
                    changed := {
                        c.name: c.reviewer for c in review.competencies if c.reviewer is not None
                    }
                )
                else {}
            ),
        },
        "machine": {
            "status": review.status.machine,
            "overall_score": review.overall_score.machine,
            "competencies": {c.name: c.machine for c in review.competencies},
        },
    }


async def store(
    redis: Redis, session_id: str, report: Mapping[str, Any], review: ReviewView
) -> bool:
    """Append the review while the session exists; False when it is gone or being erased."""
    entry = {"review": review.model_dump(mode="json"), "report_digest": report_digest(report)}
    return await guard.rpush(redis, session_id, keys.session_reviews(session_id), json.dumps(entry))


async def current(
    redis: Redis, session_id: str, report: Mapping[str, Any] | None
) -> ReviewView | None:
    """The latest review of this very report; None when it has none (or no report)."""
    if report is None:
        return None
    raw = await redis.lindex(keys.session_reviews(session_id), -1)
    if not raw:
        return None
    entry = json.loads(raw)
    if entry.get("report_digest") != report_digest(report):
        return None
    return ReviewView.model_validate(entry["review"])
