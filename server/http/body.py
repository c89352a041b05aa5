"""Request bodies read with a cap: a declared `Content-Length` over it is refused before anything
is read, and a streamed (chunked) body is refused as soon as it grows past it."""

from __future__ import annotations

from starlette.requests import Request

from server.http.errors import BadRequest, PayloadTooLarge


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def check_declared_length(request: Request, limit: int) -> None:
    """PayloadTooLarge when the request says its body is over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError as exc:
        raise BadRequest("The Content-Length header is not a number.") from exc
    if length > limit:
        raise _too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, never holding more than `limit` bytes of it."""
    check_declared_length(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)
