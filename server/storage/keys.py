"""Every Redis key the server uses, in one place.

All keys start with `viva:`. Per-session keys share the `viva:session:{id}` prefix so that
deleting a session is one SCAN over that prefix plus the index entries listed here.

Hash tags (Redis Cluster, docs/deploy.md): in the session's keys, the deletion marker and the
demographics, the braces around the session id are literal (`viva:session:{ses_0a1b}:turns`):
a cluster hashes only what is between them, so a session's keys share one slot and its scripts
and MULTIs run on a cluster. The same for the webhook queue, `viva:{webhooks}`. Stores written
before this (key names version 1) are renamed by `viva migrate-keys` (server/storage/migrate.py);
`viva:schema` holds the version.

| key | type | what |
| --- | --- | --- |
| `viva:tenant:{tenant_id}` | hash | tenant record: name, created_at, revoked, key_prefix |
| `viva:tenants` | set | all tenant ids |
| `viva:apikey:{sha256(key)}` | string | tenant id for an API key (the key itself is never stored) |
| `viva:session:{id}` | hash | session record: tenant, status, mode, plan, token hash, expiry |
| `viva:session:{id}:turns` | list | completed turns (JSON), append-once by index |
| `viva:session:{id}:stream` | string | the connection streaming the session now: `{ticket}.{connection id}` (server/ownership.py) |
| `viva:session:{id}:stream:seq` | string | the session's last connection ticket (INCR): a newer connection may take an older one's place, never the reverse |
| `viva:session:{id}:clock` | string | epoch seconds of the first stream: zero of session time |
| `viva:session:{id}:token:{sha256(token)}` | string | session id for a session token; TTL = token expiry (under the session: every lookup knows its id) |
| `viva:session:{id}:report` | string | the report (JSON), once the session finished |
| `viva:session:{id}:audit` | stream | append-only audit log: created, started, scored, reviewed... |
| `viva:session:{id}:webhooks` | list | webhook delivery log (JSON per attempt) |
| `viva:session:{id}:reviews` | list | reviewers' decisions (JSON), latest last, each with its report's digest (server/review/reviews.py) |
| `viva:session:{id}:recordings` | hash | track locations (segments): fields `candidate`, `full` |
| `viva:session:{id}:integrity` | list | speaker evidence and answers' words, one base64 `.npz` per save |
| `viva:session:{id}:connects:{minute}` | string | stream connections to the session this minute; expires |
| `viva:session:{id}:ratelimit:{minute}` | string | requests made with the session token this minute |
| `viva:session:{id}:whiteboard` | hash | the system-design whiteboard's latest state: `board` (JSON shapes and arrows), `at`, `session_s`, `version` (server/api/whiteboard.py) |
| `viva:session:{id}:whiteboard:snapshots` | list | every saved whiteboard state (JSON with `at` and `session_s`), the latest 200 |
| `viva:session:{id}:revoked` | hash | `count`, `reason`, `at` of the latest signal to close the session's sockets (server/security/revocation.py) |
| `viva:demographics:{id}` | string | a session's self-reported demographic categories (JSON), for bias audits only; outside the session's prefix, read by server/review/demographics.py alone, erased with the session (server/storage/erasure.py) |
| `viva:deleted:{id}` | string | deletion marker, set before a session's keys go; every writer checks it (server/storage/guard.py); expires after a day |
| `viva:tenant:{tenant_id}:sessions` | zset | the tenant's session ids by creation time (index) |
| `viva:tenant:{tenant_id}:interviews` | zset | the tenant's interview ids by creation time (index) |
| `viva:tenant:{tenant_id}:audit` | stream | tenant-level audit: sessions deleted (id only, no content), review rules set |
| `viva:interview:{id}` | string | an interview (JSON) with its tenant id |
| `viva:interview:{id}:invites` | string | sessions the interview's invite link opened (its cap: `invite_sessions`) |
| `viva:interview:{id}:invites:ratelimit:{minute}` | string | invite-link sessions opened this minute; expires |
| `viva:invite:client:{address}:{minute}` | string | sessions one client address opened by invite or demo link this minute; expires |
| `viva:ratelimit:{tenant_id}:{minute}` | string | requests the tenant made this minute; expires |
| `viva:quota:{tenant_id}:{day}` | string | sessions the tenant created on this UTC day; expires |
| `viva:{webhooks}` | stream | webhook deliveries to make (consumer group `deliverers`); `{webhooks}` is a hash tag |
| `viva:sessions:open` | zset | unfinished sessions by the time of their last stored turn (idle expiry) |
| `viva:{webhooks}:retry` | zset | failed deliveries (JSON) by the time of their next attempt |
| `viva:schema` | string | the key names' version: 2 (hash tags); a server refuses to start on another (server/storage/migrate.py) |
| `viva:demo` | hash | the local demo tenant `make run` provisions: `tenant_id`, `api_key` in plain text (server/demo.py; loopback only by default) |
| `viva:phone:pin:{hmac(pin)}` | string | session id for a phone session's PIN (HMAC-SHA256 under the server key); TTL `VIVA_PHONE_PIN_TTL_S`, at most the token's (server/phone/credentials.py) |
| `viva:phone:stream:{sha256(token)}` | string | one-time stream token of a call (JSON: session, call, numbers); read once; expires in 2 min |
| `viva:phone:ticket:{ticket}` | string | outbound call ticket in the webhook URL given to Twilio (JSON: session, number, call sid); read once |
| `viva:phone:call:{call_sid}:pin_tries` | string | wrong PINs keyed on this call; expires |
| `viva:phone:caller:{sha256(number)}:pin_tries` | string | wrong PINs from one caller number this hour; expires |
| `viva:phone:pin_guesses:[anonymous:]{hour}` | string | wrong PINs the server took in that clock hour (all, or from withheld numbers); expires after 2 h |
| `viva:phone:session:{id}:pin` | string | keyed hash of the session's live PIN, to revoke it; expires with it |
| `viva:phone:call:{call_sid}:connected` | string | the call was connected once (one stream per CallSid); expires after 6 h |
| `viva:phone:stream_url:{nonce}` | string | call sid of a one-time stream URL (its last path segment); read once; expires in 2 min |
| `viva:phone:session:{id}:calls` | string | outbound calls made for the session (`VIVA_PHONE_CALLS_PER_SESSION`); expires after 30 days |
| `viva:phone:tenant:{tenant_id}:calls:{day}` | string | outbound calls a tenant made that UTC day (`VIVA_PHONE_CALLS_PER_TENANT_PER_DAY`); expires after 2 days |
| `viva:phone:audit` | stream | PIN lock-outs (scope, call sid, masked caller); capped at about 10 000 entries |
| `viva:compat:user:{user_id}` | hash | a user of the OneCompiler-compatible API: tenant, name, email, external id, plan, daily quota, token hash (server/compat/onecompiler.py) |
| `viva:compat:usertoken:{sha256(token)}` | string | user id for a user's API token (the token itself is never stored) |
| `viva:compat:user:{user_id}:quota:{day}` | string | sessions the user created on this UTC day; expires |
| `viva:tenant:{tenant_id}:compat-users` | hash | the tenant's users by external id (or id) |
| `viva:session:{id}:code` | list | the coding round's runs and submissions (JSON: time, session seconds, language, code, status, per-test pass/fail), oldest first (server/code.py) |
| `viva:problem:{id}` | string | a tenant's coding problem (JSON) with its tenant id (server/code.py) |
| `viva:tenant:{tenant_id}:problems` | zset | the tenant's problem ids by creation time |
| `viva:tenant:{tenant_id}:code:leases` | zset | the tenant's code runs queued or running, in every process: lease id -> expiry (ms, the store's clock); the key expires with its last lease (server/code_queue.py) |

Pub/sub channels (not keys): `viva:revoked:{id}`, a session's sockets must close (the message is
the reason); `viva:owners`, a connection took a session over (the message is `{id} {owner}`,
every process with a live stream listens: server/ownership.py).

Tenant hash fields beyond the record: `webhook_secret`, `rate_limit_per_minute`,
`daily_session_quota` (the last two override the settings' defaults), `review_rules` (JSON: the
tenant's review-queue rules, server/review/reviews.py), `webhook_format` (`zenhire`: webhooks' `data`
in ZenHire's shape, server/compat/zenhire.py).
"""

from __future__ import annotations

PREFIX = "viva:"
TENANTS = PREFIX + "tenants"
OPEN_SESSIONS = PREFIX + "sessions:open"


def tenant(tenant_id: str) -> str:
    return f"{PREFIX}tenant:{tenant_id}"


def api_key(key_hash: str) -> str:
    return f"{PREFIX}apikey:{key_hash}"


def session_prefix(session_id: str) -> str:
    """`viva:session:{<id>}`: the braces are literal, a hash tag (Redis Cluster hashes only what
    is between them), so every key of the session is in one slot."""
    return f"{PREFIX}session:{{{session_id}}}"


def session(session_id: str) -> str:
    """hash: the session record (see server/sessions.py)."""
    return session_prefix(session_id)


def session_turns(session_id: str) -> str:
    """list: completed turns as JSON, index i at position i (append-once)."""
    return f"{session_prefix(session_id)}:turns"


def session_token(session_id: str, token_hash: str) -> str:
    """string: session id for a session token's SHA-256; expires with the token. Under the
    session (its slot, and the erase's SCAN): every lookup knows the session id."""
    return f"{session_prefix(session_id)}:token:{token_hash}"


def session_stream_owner(session_id: str) -> str:
    """string: `{ticket}.{connection id}` of the connection streaming this session now."""
    return f"{session_prefix(session_id)}:stream"


def session_stream_seq(session_id: str) -> str:
    """string: the session's last connection ticket (INCR), which orders its connections."""
    return f"{session_prefix(session_id)}:stream:seq"


OWNERS_CHANNEL = PREFIX + "owners"  # pub/sub: `{session id} {owner}` when a session is claimed
# pub/sub: `{session id} {signal}` for the process streaming the session (`code_submitted`).
SIGNALS_CHANNEL = PREFIX + "signals"


def session_clock(session_id: str) -> str:
    """string: wall-clock time (epoch seconds) of the session's first stream; the zero of the
    session-relative seconds in turns and word timestamps."""
    return f"{session_prefix(session_id)}:clock"


def session_report(session_id: str) -> str:
    """string: the session's report as JSON."""
    return f"{session_prefix(session_id)}:report"


def session_audit(session_id: str) -> str:
    """stream: the session's append-only audit log."""
    return f"{session_prefix(session_id)}:audit"


def session_webhooks(session_id: str) -> str:
    """list: one JSON entry per webhook delivery attempt for this session."""
    return f"{session_prefix(session_id)}:webhooks"


def session_reviews(session_id: str) -> str:
    """list: reviewers' decisions as JSON, latest last (server/review/reviews.py)."""
    return f"{session_prefix(session_id)}:reviews"


def session_recordings(session_id: str) -> str:
    """hash: WAV file paths of the session, fields `candidate` and `full`."""
    return f"{session_prefix(session_id)}:recordings"


def session_integrity(session_id: str) -> str:
    """list: base64 `.npz` deltas of the integrity evidence (pipeline/integrity/persist.py)."""
    return f"{session_prefix(session_id)}:integrity"


def session_revoked(session_id: str) -> str:
    """hash: `count`, `reason`, `at` of the signals to close the session's sockets."""
    return f"{session_prefix(session_id)}:revoked"


def session_whiteboard(session_id: str) -> str:
    """hash: the whiteboard's latest state: `board`, `at`, `session_s`, `version`."""
    return f"{session_prefix(session_id)}:whiteboard"


def session_whiteboard_snapshots(session_id: str) -> str:
    """list: the whiteboard's saved states as JSON, oldest first, capped."""
    return f"{session_prefix(session_id)}:whiteboard:snapshots"


def revoked_channel(session_id: str) -> str:
    """pub/sub channel: the session's sockets must close; the message is the reason."""
    return f"{PREFIX}revoked:{session_id}"


def session_deleted(session_id: str) -> str:
    """string: the session is being (or was) erased; outside the session's prefix, so the erase
    leaves it for writers still running to see."""
    return f"{PREFIX}deleted:{{{session_id}}}"


def demographics(session_id: str) -> str:
    """string: the session's self-reported demographic categories (JSON). Apart from the
    session's keys: only server/review/demographics.py reads it, never the scoring code."""
    return f"{PREFIX}demographics:{{{session_id}}}"


def session_connects(session_id: str, minute: int) -> str:
    """stream connections to the session in one minute (reconnect loops are refused)."""
    return f"{session_prefix(session_id)}:connects:{minute}"


def session_rate(session_id: str) -> str:
    """prefix of the per-minute request counters of one session token."""
    return f"{session_prefix(session_id)}:ratelimit"


def tenant_sessions(tenant_id: str) -> str:
    """zset: the tenant's session ids scored by creation time."""
    return f"{PREFIX}tenant:{tenant_id}:sessions"


def tenant_code_leases(tenant_id: str) -> str:
    """zset: a lease per code run of the tenant queued or running, scored by its expiry (ms on
    the store's clock); one key, so the run queue's script touches one slot."""
    return f"{tenant(tenant_id)}:code:leases"


def tenant_interviews(tenant_id: str) -> str:
    """zset: the tenant's interview ids scored by creation time."""
    return f"{PREFIX}tenant:{tenant_id}:interviews"


def tenant_audit(tenant_id: str) -> str:
    """stream: tenant-level audit entries (e.g. a session was deleted)."""
    return f"{PREFIX}tenant:{tenant_id}:audit"


def interview(interview_id: str) -> str:
    """string: one interview as JSON."""
    return f"{PREFIX}interview:{interview_id}"


def interview_invites(interview_id: str) -> str:
    """string: how many sessions the interview's invite link has opened."""
    return f"{PREFIX}interview:{interview_id}:invites"


def invite_rate(interview_id: str) -> str:
    """prefix of the per-minute counters of sessions opened by the interview's invite link."""
    return f"{interview_invites(interview_id)}:ratelimit"


def invite_client_rate(address: str) -> str:
    """prefix of the per-minute counters of sessions one client address opened by link."""
    return f"{PREFIX}invite:client:{address}"


def tenant_rate(tenant_id: str) -> str:
    """prefix of the tenant's per-minute request counters."""
    return f"{PREFIX}ratelimit:{tenant_id}"


def session_quota(tenant_id: str, day: int) -> str:
    """string: sessions created by the tenant on UTC day `day` (days since the epoch)."""
    return f"{PREFIX}quota:{tenant_id}:{day}"


# `{webhooks}`: a hash tag, the queue and its retries in one slot (their scripts use both).
WEBHOOKS = PREFIX + "{webhooks}"
WEBHOOK_GROUP = "deliverers"
WEBHOOK_RETRIES = PREFIX + "{webhooks}:retry"

# string: the key names' version. 2: the hash-tagged names above (`viva migrate-keys` renames an
# older store's keys, server/storage/migrate.py); a server refuses to start on another version.
SCHEMA = PREFIX + "schema"
SCHEMA_VERSION = 2


# -- issue 13: the phone channel (server/phone/) --------------------------------------------


def phone_pin(pin_hash: str) -> str:
    """string: session id for the keyed hash of a phone session's PIN; expires."""
    return f"{PREFIX}phone:pin:{pin_hash}"


def phone_stream_token(token_hash: str) -> str:
    """string: a call's one-time Media Streams token (JSON); deleted when read."""
    return f"{PREFIX}phone:stream:{token_hash}"


def phone_ticket(ticket: str) -> str:
    """string: an outbound call's ticket (JSON: session, number, call sid); deleted when read."""
    return f"{PREFIX}phone:ticket:{ticket}"


def phone_call_pin_tries(call_sid: str) -> str:
    """string: wrong PINs keyed on one call."""
    return f"{PREFIX}phone:call:{call_sid}:pin_tries"


def phone_caller_pin_tries(number_hash: str) -> str:
    """string: wrong PINs from one caller number (its SHA-256) in the current hour."""
    return f"{PREFIX}phone:caller:{number_hash}:pin_tries"


def phone_pin_guesses(hour: int, *, anonymous: bool = False) -> str:
    """string: wrong PINs the whole server took in one clock hour (or, `anonymous`, those from
    callers with no caller ID); expires after 2 h."""
    return f"{PREFIX}phone:pin_guesses:{'anonymous:' if anonymous else ''}{hour}"


def phone_session_pin(session_id: str) -> str:
    """string: the keyed hash of the session's live PIN (to revoke it); expires with the PIN."""
    return f"{PREFIX}phone:session:{session_id}:pin"


def phone_call_connected(call_sid: str) -> str:
    """string: the call was connected to a stream once (a replayed webhook is not); expires."""
    return f"{PREFIX}phone:call:{call_sid}:connected"


def phone_stream_nonce(nonce: str) -> str:
    """string: call sid of a one-time stream URL; read once; expires in 2 min."""
    return f"{PREFIX}phone:stream_url:{nonce}"


def phone_session_calls(session_id: str) -> str:
    """string: outbound calls made for the session (capped); expires after 30 days."""
    return f"{PREFIX}phone:session:{session_id}:calls"


def phone_tenant_calls(tenant_id: str, day: int) -> str:
    """string: outbound calls a tenant made on a UTC day (days since the epoch); expires."""
    return f"{PREFIX}phone:tenant:{tenant_id}:calls:{day}"


def phone_audit() -> str:
    """stream: phone events that belong to no session (PIN lock-outs); capped."""
    return f"{PREFIX}phone:audit"


# -- issue 14: users of the OneCompiler-compatible API (server/compat/onecompiler.py) -------


def compat_user(user_id: str) -> str:
    """hash: one user of the OneCompiler-compatible API (tenant, profile, plan, token hash)."""
    return f"{PREFIX}compat:user:{user_id}"


def compat_user_token(token_hash: str) -> str:
    """string: user id for the SHA-256 of a user's API token."""
    return f"{PREFIX}compat:usertoken:{token_hash}"


def compat_user_quota(user_id: str, day: int) -> str:
    """string: sessions the user created on UTC day `day` (days since the epoch)."""
    return f"{compat_user(user_id)}:quota:{day}"


def tenant_compat_users(tenant_id: str) -> str:
    """hash: the tenant's users of the OneCompiler-compatible API, by external id (or id)."""
    return f"{PREFIX}tenant:{tenant_id}:compat-users"
