"""Self-reported demographic categories of a session, kept for bias audits only.

Stored apart from the session (`viva:demographics:{id}`, outside the `viva:session:{id}` prefix
the scoring reads), written and read only here, and erased with the session
(server/storage/erasure.py). Never an input to scoring: tests/test_import_boundaries.py checks that no
scoring module can import this one, and that only the audit modules do.

The categories are those of the EEO-1 Component 1 report, which the NYC Local Law 144 rules
(6 RCNY § 5-301) use for bias audits: sex, race/ethnicity, and their intersections. Each is
optional: not given (or given as `unknown`) counts as unknown, which audits count apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from server.storage import guard, keys
from server.storage.store import Redis

UNKNOWN = "unknown"
Sex = Literal["female", "male", "unknown"]
RaceEthnicity = Literal[
    "hispanic_or_latino",
    "white",
    "black_or_african_american",
    "native_hawaiian_or_other_pacific_islander",
    "asian",
    "american_indian_or_alaska_native",
    "two_or_more_races",
    "unknown",
]
# The categories an audit counts: the wire types' values but "unknown" (one list, not two).
SEX_CATEGORIES = tuple(c for c in get_args(Sex) if c != UNKNOWN)
RACE_ETHNICITY_CATEGORIES = tuple(c for c in get_args(RaceEthnicity) if c != UNKNOWN)


class Demographics(BaseModel):
    """What the candidate reported; anything not reported is `unknown`."""

    model_config = ConfigDict(extra="forbid")
    sex: Sex = Field("unknown", description="self-reported; `unknown` when not given")
    race_ethnicity: RaceEthnicity = Field(
        "unknown", description="self-reported (EEO-1 categories); `unknown` when not given"
    )


class StoredDemographics(Demographics):
    recorded_at: float


async def store(redis: Redis, session_id: str, demographics: Demographics) -> float | None:
    """Keep the session's categories (replacing earlier ones) while the session lives: the time
    recorded, None when the session is gone or being erased."""
    stored = StoredDemographics(**demographics.model_dump(), recorded_at=time.time())
    kept = await guard.set_value(
        redis, session_id, keys.demographics(session_id), stored.model_dump_json()
    )
    return stored.recorded_at if kept else None


async def load_many(
    redis: Redis, session_ids: Sequence[str]
) -> dict[str, StoredDemographics | None]:
    """Each session's categories; None where none were recorded."""
    if not session_ids:
        return {}
    # GETs in a pipeline that is not a transaction, not one MGET: each session's key is in its
    # own slot on a Redis Cluster (the cluster client sends each GET to its node).
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.get(keys.demographics(session_id))
        raw = await pipe.execute()
    return {
        session_id: StoredDemographics.model_validate(json.loads(value)) if value else None
        for session_id, value in zip(session_ids, raw, strict=True)
    }
