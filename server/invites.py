"""Invite links: who may open a session by link, and how many.

An interview's link works only when the tenant turned it on (`invite_sessions` > 0, which is also
how many sessions the link may open in all) and while the tenant's key is not revoked. Sessions
opened by link are rate-limited per client address (shared with the demo page) and per interview,
and count toward the tenant's daily quota like any other.
"""

from __future__ import annotations

import ipaddress

from server import interviews, tenants
from server.interviews import StoredInterview
from server.security import ratelimit
from server.settings import Settings
from server.storage import keys
from server.storage.store import Redis

# Take one of the link's sessions, atomically: never more than the cap, even under a burst.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""


class InviteRefused(Exception):
    """The link opens nothing now: `status` and `code` say why, for the page shown instead."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


def link(settings: Settings, interview_id: str) -> str:
    """The interview's invite link (`/join/{interview_id}`, server/api/join.py)."""
    return f"{settings.base_url()}/join/{interview_id}"


def _not_found() -> InviteRefused:
    # One answer for "no such interview", "link off" and "key revoked": the link tells nothing.
    return InviteRefused(404, "invite_not_found", "This interview link is not valid.")


def client_address(host: str | None) -> str:
    """What the per-client limit counts: the address, or its /64 for IPv6 (one host's share)."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    return str(ip)


async def limit_client(redis: Redis, settings: Settings, host: str | None) -> None:
    """429 (InviteRefused) when this client opened too many sessions by link this minute."""
    prefix = keys.invite_client_rate(client_address(host))
    try:
        await ratelimit.hit(redis, prefix, settings.invite_rate_limit_per_minute)
    except ratelimit.LimitExceeded as exc:
        raise InviteRefused(
            429,
            "rate_limited",
            "Too many interviews started from here; try again in a minute.",
            retry_after_s=exc.retry_after_s,
        ) from exc


async def interview_for_link(redis: Redis, interview_id: str) -> StoredInterview:
    """The interview behind a link that works: it exists, its link is on, its tenant's key is
    not revoked. InviteRefused(404) otherwise."""
    interview = await interviews.find(redis, interview_id)
    if interview is None or interview.invite_sessions <= 0:
        raise _not_found()
    tenant = await tenants.get_tenant(redis, interview.tenant_id)
    if tenant is None or tenant.revoked:
        raise _not_found()
    return interview


async def take(redis: Redis, settings: Settings, interview: StoredInterview) -> None:
    """Count one session opened by the link: the per-interview rate, then the link's cap."""
    limit = settings.invite_interview_rate_limit_per_minute
    if interview.invite_rate_per_minute:  # the link's own rate, under the server's
        limit = min(limit, interview.invite_rate_per_minute)
    try:
        await ratelimit.hit(redis, keys.invite_rate(interview.id), limit)
    except ratelimit.LimitExceeded as exc:
        raise InviteRefused(
            429,
            "rate_limited",
            "Many candidates are starting right now; try again in a minute.",
            retry_after_s=exc.retry_after_s,
        ) from exc
    taken = await redis.eval(
        _TAKE, 1, keys.interview_invites(interview.id), interview.invite_sessions
    )
    if not taken:
        raise InviteRefused(
            403, "invite_used_up", "This interview link has been used as often as it may be."
        )


async def give_back(redis: Redis, interview_id: str) -> None:
    """A session the link took but could not open (e.g. the tenant's daily quota)."""
    await redis.decr(keys.interview_invites(interview_id))
