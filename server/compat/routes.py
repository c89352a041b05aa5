"""Every product's endpoints, mounted beside the native API (`server/api/__init__.py`) at the
products' own paths, which do not collide with ours."""

from __future__ import annotations

from starlette.routing import BaseRoute

from server.compat import cvjd, liya, micro1, onecompiler, zenhire
from server.http.endpoint import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = (
    *cvjd.ENDPOINTS,
    *micro1.ENDPOINTS,
    *zenhire.ENDPOINTS,
    *liya.ENDPOINTS,
    *onecompiler.ENDPOINTS,
)
# Before the native room's routes (server/app.py): the OneCompiler room takes a user's token.
ROOM_ROUTES: list[BaseRoute] = [*onecompiler.room_routes]
