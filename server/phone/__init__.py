"""The phone channel: interviews over a phone call through Twilio (voice webhook, Media Streams,
outbound calls), run by the same voice loop as the browser. See README "Phone".

`routes` is built on first use: the REST API imports `server.phone.outbound` while
`server.stream` (which the Media Streams module builds on) may still be loading.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def __getattr__(name: str) -> list[BaseRoute]:
    if name == "routes":
        from server.phone import media, webhook

        return [*webhook.routes, *media.routes]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
