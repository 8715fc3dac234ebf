"""The `northstar` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from app.cli_support import EXIT_CODES, console, out, run_command
from app.cli_support import load_settings as _settings
from app.cli_users import add_user_commands, cmd_user
from app.settings import Settings


def migrate_database(settings: Settings) -> None:
    """Bring the database schema up to date (idempotent). Works from a source checkout and
    from an installed distribution alike: the migrations ship as the `migrations` package."""
    from alembic import command
    from alembic.config import Config

    import migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate_database(_settings("create"))
    console.print("Database is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.limits import server_options
    from app.main import create_app

    settings = _settings()
    app = create_app(settings, run_scheduler=False if args.no_scheduler else None)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        **server_options(settings),
    )
    return 0


def cmd_scheduler(_args: argparse.Namespace) -> int:
    from app.api.context import ServiceContext
    from app.logging import configure_logging

    settings = _settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    context = ServiceContext.build(settings)
    scheduler = context.make_scheduler()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler.start()
    console.print("Scheduler running; Ctrl+C to stop.")
    stop.wait()
    scheduler.shutdown(wait=True)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from app.cli_sync import run_sync

    return run_sync(args.source, trigger="cli", full=args.full, since=None, streams=args.stream)


def cmd_backfill(args: argparse.Namespace) -> int:
    from app.cli_sync import run_sync

    # The first day starts at midnight in the reporting zone, so the day is held whole.
    since = datetime.combine(args.since, datetime.min.time(), tzinfo=_settings().tz)
    since = since.astimezone(UTC)
    return run_sync(args.source, trigger="backfill", full=True, since=since, streams=args.stream)


def cmd_apikey(args: argparse.Namespace) -> int:
    from app.api.context import ServiceContext
    from app.security.apikeys import create_api_key, list_api_keys, revoke_api_key
    from app.security.models import KeyScope

    context = ServiceContext.build(_settings())
    with context.db.session() as session:
        if args.apikey_command == "create":
            created = create_api_key(session, name=args.name, scope=KeyScope(args.scope))
            console.print(
                f"Created {created.scope.value} key #{created.id} ({created.name}). "
                "It is shown once; store it now:"
            )
            out.print(created.key, highlight=False)
        elif args.apikey_command == "list":
            for key in list_api_keys(session):
                state = "revoked" if key.revoked_at else "active"
                out.print(f"#{key.id}  {key.prefix}…  {key.scope:<5}  {state:<7}  {key.name}")
        elif not revoke_api_key(session, args.id):
            console.print(f"[red]No active key #{args.id}.[/red]")
            return 2
        else:
            console.print(f"Key #{args.id} revoked.")
    return 0


def cmd_source(args: argparse.Namespace) -> int:
    """`source list`, and `source add`: the source is checked against its PSA at once and
    synced on schedule only once the check passes (exit 1 when it does not)."""
    import asyncio

    from app.api.context import ServiceContext
    from app.errors import NorthstarError
    from app.sources.checks import SourceChecker
    from app.sources.service import create_source, list_sources

    settings = _settings()
    context = ServiceContext.build(settings)
    try:
        with context.db.session() as session:
            if args.source_command == "list":
                for s in list_sources(session):
                    out.print(f"#{s.id}  {s.name:<30} {s.kind:<12} {s.status}")
                    if s.status_message and s.status != "active":
                        out.print(f"     {s.status_message}", soft_wrap=True, highlight=False)
                return 0
            raw = args.config
            config = json.loads(Path(raw[1:]).read_text() if raw.startswith("@") else raw)
            source = create_source(
                session,
                context.cipher,
                name=args.name,
                kind=args.kind,
                config=config,
                fast_interval_minutes=settings.default_fast_interval_minutes,
                slow_interval_minutes=settings.default_slow_interval_minutes,
                live_interval_seconds=settings.default_live_interval_seconds,
            )
            source_id, name = source.id, source.name
        console.print(f"Added source #{source_id} ({name}). Checking it…")
        outcome = asyncio.run(SourceChecker.of(context).check(source_id))
    except (NorthstarError, json.JSONDecodeError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/red]")
        return 2
    if outcome.ok:
        console.print(f"[green]{outcome.message}[/green] It is synced on schedule from now on.")
        return 0
    console.print(f"[red]The check failed:[/red] {outcome.message}", soft_wrap=True)
    console.print(
        "The source stays unverified and is not synced until its check passes: fix the "
        f"setting and check it again (POST /api/v1/sources/{source_id}/check).",
        soft_wrap=True,
    )
    return 1


def cmd_kpis(args: argparse.Namespace) -> int:
    from app.api.context import ServiceContext
    from app.errors import NorthstarError
    from app.kpis.rollup import rebuild
    from app.sources.service import find_source, list_sources

    settings = _settings()
    context = ServiceContext.build(settings)
    try:
        with context.db.session() as session:
            sources = [find_source(session, args.source)] if args.source else list_sources(session)
            for source in sources:
                days = rebuild(session, source.id, settings.tz, since=args.since)
                console.print(f"{source.name}: {days:,} days of KPIs rebuilt.")
    except NorthstarError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 2
    return 0


def cmd_genkey(_args: argparse.Namespace) -> int:
    from app.security.crypto import generate_key

    out.print(generate_key(), highlight=False)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(_settings("create"), host=args.host, port=args.port, serve=not args.no_serve)


def cmd_healthcheck(args: argparse.Namespace) -> int:
    from app.healthcheck import check_health

    healthy, message = check_health(_settings("none"), port=args.port, timeout=args.timeout)
    if not healthy:
        console.print(message, style="red", highlight=False, soft_wrap=True)
        return 1
    out.print(message, highlight=False, soft_wrap=True)
    return 0


def cmd_bi(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine

    from app.bi.sqlviews import create_readonly_user
    from app.errors import NorthstarError

    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        if engine.dialect.name != "postgresql":
            console.print(
                "SQL views for BI tools are a PostgreSQL feature, and this Northstar uses "
                f"{engine.dialect.name}. Use the CSV exports or /metrics instead, or move to "
                "PostgreSQL (see docs/bi.md)."
            )
            return 2
        login = create_readonly_user(engine, args.name, args.password)
    except NorthstarError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 2
    finally:
        engine.dispose()
    console.print(
        f"Read-only login {login.user} can SELECT these views and nothing else: "
        f"{', '.join(login.views)}. Paste into Metabase or Grafana (PostgreSQL):"
    )
    for label, value in (
        ("Host", login.host),
        ("Port", login.port),
        ("Database", login.database),
        ("User", login.user),
        ("Password", login.password),
    ):
        out.print(f"{label + ':':<10} {value}", highlight=False)
    console.print(
        "If the BI tool runs on another machine, use this server's address as seen from "
        "there, and allow the login in pg_hba.conf."
    )
    if login.can_create_tables:
        console.print(
            "[yellow]This PostgreSQL lets every login create tables in the schema (the "
            "default before version 15). The BI login cannot change Northstar's data, but "
            "to stop it adding tables run: REVOKE CREATE ON SCHEMA public FROM PUBLIC;[/yellow]"
        )
    return 0


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2025-01-31") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="northstar",
        description="Northstar: your PSA's numbers against your plan.",
        epilog=EXIT_CODES,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    serve = add("serve", cmd_serve, "Run the API (and the scheduler, unless --no-scheduler).")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="API only; run `northstar scheduler` elsewhere."
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    add("scheduler", cmd_scheduler, "Run scheduled syncs only (no API).")
    add(
        "migrate",
        cmd_migrate,
        "Create or upgrade the database schema (and, on PostgreSQL, the database itself "
        "if it is missing and the user may create databases).",
    )
    sync = add("sync", cmd_sync, "Sync a source now, with a live progress display.")
    sync.add_argument("source", help="The source's id or name.")
    sync.add_argument("--full", action="store_true", help="Re-read everything, ignoring cursors.")
    sync.add_argument("--stream", action="append", help="Only this stream (repeatable).")
    backfill = add("backfill", cmd_backfill, "Re-read a source's history from a date.")
    backfill.add_argument("source", help="The source's id or name.")
    backfill.add_argument("--since", type=_parse_date, required=True, help="First day, YYYY-MM-DD.")
    backfill.add_argument("--stream", action="append", help="Only this stream (repeatable).")
    apikey = add("apikey", cmd_apikey, "Create, list or revoke API keys.")
    keys = apikey.add_subparsers(dest="apikey_command", required=True)
    create = keys.add_parser("create", help="Create a key; it is printed once.")
    create.add_argument("--scope", choices=["read", "admin"], default="read")
    create.add_argument("--name", default="unnamed")
    keys.add_parser("list", help="List keys (never the keys themselves).")
    revoke = keys.add_parser("revoke", help="Revoke a key by its id.")
    revoke.add_argument("id", type=int)
    add_user_commands(
        add("user", cmd_user, "Add, list, disable or enable the people who sign in to the pages.")
    )
    source = add("source", cmd_source, "Add or list PSA sources.")
    sources = source.add_subparsers(dest="source_command", required=True)
    source_add = sources.add_parser("add", help="Add a source.")
    source_add.add_argument("--name", required=True)
    source_add.add_argument("--kind", required=True, help="connectwise or autotask")
    source_add.add_argument("--config", required=True, help="JSON settings, or @file.json")
    sources.add_parser("list", help="List sources.")
    kpis = add("kpis", cmd_kpis, "Maintain the KPI store.")
    kpi_commands = kpis.add_subparsers(dest="kpis_command", required=True)
    kpi_rebuild = kpi_commands.add_parser(
        "rebuild", help="Recompute KPI rollups from the facts (after changing the time zone)."
    )
    kpi_rebuild.add_argument("--source", help="Only this source (id or name).")
    kpi_rebuild.add_argument("--since", type=_parse_date, help="Only from this day, YYYY-MM-DD.")
    bi = add("bi", cmd_bi, "Connect BI tools: a read-only PostgreSQL login for the bi_* views.")
    bi_commands = bi.add_subparsers(dest="bi_command", required=True)
    readonly = bi_commands.add_parser(
        "create-readonly-user",
        help="Create (or update) a login that can only read the bi_* views; prints what to "
        "paste into Metabase or Grafana.",
    )
    readonly.add_argument(
        "--name", default="northstar_bi", help="Role name (default: %(default)s)."
    )
    readonly.add_argument(
        "--password", help="The login's password (default: a new random one, printed once)."
    )
    add("genkey", cmd_genkey, "Print a new encryption key for NORTHSTAR_ENCRYPTION_KEY.")
    demo = add("demo", cmd_demo, "Set up a demo with the built-in PSA simulators and serve it.")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--no-serve", action="store_true", help="Set up and sync, then exit.")
    health = add(
        "healthcheck",
        cmd_healthcheck,
        "Ask the running service (NORTHSTAR_HOST, NORTHSTAR_PORT) whether it is healthy; "
        "exit 0 if so, 1 if not (for Docker's HEALTHCHECK and uptime checks).",
    )
    health.add_argument("--port", type=int, help="Default: NORTHSTAR_PORT.")
    health.add_argument("--timeout", type=float, default=5.0, help="Seconds (default: 5).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
