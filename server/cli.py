"""The `viva` command: `viva serve`, `viva doctor`, `viva keys create|list|revoke|...`,
`viva migrate-keys`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from server import demo, tenants, webhooks
from server.security import ratelimit
from server.settings import get_settings
from server.storage.store import Redis, Store


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from models.registry import ModelRegistry
    from server.app import create_app
    from server.services import model_config

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    demo_url = None
    if settings.demo == "off":
        settings = settings.model_copy(update={"demo_enabled": False})
    elif demo.wanted(settings, host) and settings.demo_api_key:  # the operator's demo tenant
        settings = settings.model_copy(update={"demo_enabled": True})
    elif demo.to_provision(settings, host):
        tenant = asyncio.run(demo.provision(settings, host, port))
        state = "provisioned" if tenant.created else "kept"
        print(
            f"Local demo tenant {tenant.tenant_id} {state} (VIVA_DEMO=off turns the demo off)",
            flush=True,
        )
        settings = settings.model_copy(
            update={"demo_enabled": True, "demo_api_key": tenant.api_key}
        )
    if settings.demo_enabled:
        demo_url = demo.page_url(settings, host, port)
    registry = ModelRegistry(model_config(settings))
    config = uvicorn.Config(
        create_app(settings, models=registry),
        host=host,
        port=port,
        log_level=settings.log_level,
        ws_max_size=1 << 20,
    )
    server = uvicorn.Server(config)
    base = demo.page_url(settings, host, port).removesuffix(demo.DEMO_PATH)
    announce = threading.Thread(
        target=_announce,
        args=(server, registry, settings.preload_models, demo_url, base),
        daemon=True,
    )
    announce.start()
    server.run()
    return 0


def _announce(
    server: Any, registry: Any, preloading: bool, demo_url: str | None, base: str
) -> None:
    """Once the socket listens and the models are in (or failed), print the one URL to open."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    while preloading and not all(s["ready"] or s.get("error") for s in registry.status().values()):
        if server.should_exit:
            return
        time.sleep(0.2)
    failed = [name for name, s in registry.status().items() if s.get("error")]
    lines = [""]
    if failed:
        lines.append(
            f"  Models that failed to load: {', '.join(failed)}. Run `.venv/bin/viva doctor`."
        )
    if demo_url:
        lines += ["  Viva Voce is ready. Open the demo:", "", f"      {demo_url}", ""]
        lines.append(f"  API: {base}/v1 (docs at {base}/docs); health: {base}/readyz")
    else:
        lines.append(f"  Viva Voce is ready: API at {base}/v1, docs at {base}/docs")
    print("\n".join([*lines, ""]), flush=True)


def _doctor(args: argparse.Namespace) -> int:
    from server.ops import doctor

    settings = get_settings()
    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    return doctor.run(doctor.default_checks(settings, models=not args.no_models))


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


def _migrate_keys(args: argparse.Namespace) -> int:
    """Rename the store's keys to the hash-tagged names (server/storage/migrate.py)."""
    from server.storage import migrate

    async def action(redis: Redis) -> int:
        result = await migrate.migrate(redis)
        print(f"renamed {result.renamed} keys")
        if result.conflicts:
            print(
                f"{len(result.conflicts)} keys not renamed, their new name exists already "
                f"(viva:schema left unset): {', '.join(result.conflicts[:10])}",
                file=sys.stderr,
            )
            return 1
        print("viva:schema = 2: the servers of this version may start")
        return 0

    return _with_redis(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viva", description="Viva Voce interview server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)
    doctor = sub.add_parser(
        "doctor", help="check Python, Debian packages, models, Redis and the port; say what to fix"
    )
    doctor.add_argument("--host", default=None)
    doctor.add_argument("--port", type=int, default=None)
    doctor.add_argument("--no-models", action="store_true", help="skip loading the models")
    doctor.set_defaults(func=_doctor)

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
    sub.add_parser(
        "migrate-keys",
        help="rename the keys to their hash-tagged names (Redis Cluster); run with every viva "
        "process stopped; idempotent",
    ).set_defaults(func=_migrate_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
