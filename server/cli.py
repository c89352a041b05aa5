"""The `viva` command: `viva serve`, `viva keys create|list|revoke`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from server import ratelimit, tenants, webhooks
from server.settings import get_settings
from server.store import Redis, Store


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        ws_max_size=1 << 20,
    )
    return 0


def _with_redis(action: Callable[[Redis], Awaitable[int]]) -> int:
    async def run() -> int:
        settings = get_settings()
        store = Store(settings.redis_url, settings.data_dir)
        await store.open()
        try:
            return await action(store.redis)
        finally:
            await store.close()

    return asyncio.run(run())


def _keys_create(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        try:
            tenant, api_key = await tenants.create_tenant(
                redis, args.name, tuple(args.embed_origin)
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"tenant  {tenant.id}  {tenant.name}", file=sys.stderr)
        for origin in tenant.embed_origins:
            print(f"embed origin  {origin}", file=sys.stderr)
        print(api_key)
        return 0

    return _with_redis(action)


def _keys_list(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        for t in await tenants.list_tenants(redis):
            state = "revoked" if t.revoked else "active"
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(t.created_at))
            print(f"{t.id}\t{t.name}\t{t.key_hint}…\t{state}\t{created}")
        return 0

    return _with_redis(action)


def _keys_revoke(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        if await tenants.revoke_tenant_key(redis, args.tenant_id):
            print(f"revoked {args.tenant_id}")
            return 0
        print(f"no tenant {args.tenant_id}", file=sys.stderr)
        return 1

    return _with_redis(action)


def _keys_origins(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        try:
            origins = tuple(tenants.normalize_origin(url) for url in args.origins)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        if not await tenants.set_embed_origins(redis, args.tenant_id, origins):
            print(f"no tenant {args.tenant_id}", file=sys.stderr)
            return 1
        print(" ".join(origins) or "(none: the room may only be framed by itself)")
        return 0

    return _with_redis(action)


def _keys_limits(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        if await tenants.get_tenant(redis, args.tenant_id) is None:
            print(f"no tenant {args.tenant_id}", file=sys.stderr)
            return 1
        await ratelimit.set_tenant_limits(
            redis,
            args.tenant_id,
            requests_per_minute=args.per_minute,
            daily_sessions=args.daily_sessions,
        )
        print(
            f"{args.tenant_id}: {args.per_minute} requests/min, {args.daily_sessions} sessions/day"
        )
        return 0

    return _with_redis(action)


def _keys_webhook_secret(args: argparse.Namespace) -> int:
    async def action(redis: Redis) -> int:
        if await tenants.get_tenant(redis, args.tenant_id) is None:
            print(f"no tenant {args.tenant_id}", file=sys.stderr)
            return 1
        if args.rotate:
            print(await webhooks.rotate_secret(redis, args.tenant_id))
        else:
            print(await webhooks.tenant_secret(redis, args.tenant_id))
        return 0

    return _with_redis(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viva", description="Viva Voce interview server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    keys_cmd = sub.add_parser("keys", help="manage tenants' API keys")
    keys_sub = keys_cmd.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a tenant and print its new API key")
    create.add_argument("name")
    create.add_argument(
        "--embed-origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin whose pages may frame the interview room (repeatable)",
    )
    create.set_defaults(func=_keys_create)
    keys_sub.add_parser("list", help="list tenants").set_defaults(func=_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a tenant's API key")
    revoke.add_argument("tenant_id")
    revoke.set_defaults(func=_keys_revoke)
    origins = keys_sub.add_parser("origins", help="set the origins that may frame the room")
    origins.add_argument("tenant_id")
    origins.add_argument("origins", nargs="*", metavar="URL")
    origins.set_defaults(func=_keys_origins)
    limits = keys_sub.add_parser("limits", help="set a tenant's rate limit and daily quota")
    limits.add_argument("tenant_id")
    limits.add_argument("--per-minute", type=int, required=True)
    limits.add_argument("--daily-sessions", type=int, required=True)
    limits.set_defaults(func=_keys_limits)
    secret = keys_sub.add_parser("webhook-secret", help="print (or rotate) the webhook secret")
    secret.add_argument("tenant_id")
    secret.add_argument("--rotate", action="store_true")
    secret.set_defaults(func=_keys_webhook_secret)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
