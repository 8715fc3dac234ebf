"""`northstar demo` / `make demo`: a working Northstar on the embedded defaults.

It prepares the database, adds two sandbox PSAs (the MSP's ConnectWise, and the Autotask of
the company it just acquired) served by the built-in simulators with the year up to today,
syncs them with a progress display, writes down the example plan of docs/goals.md §4 (with the
team-confidence and NPS readings no PSA holds), prints an admin key and the addresses to
open, and serves. Running it again reuses the sources and the plan and syncs what changed.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from time import monotonic

from rich.console import Console
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.goals.examples import seed_example_plan, shift_months
from app.goals.models import Goal, Objective
from app.goals.snapshots import take_alignment_snapshots
from app.ingest.locks import source_sync_lock
from app.ingest.models import RunStatus
from app.ingest.runner import StreamOutcome, Trigger
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.kpis.periods import previous_quarter
from app.settings import Settings
from app.sources.checks import SourceChecker
from app.sources.models import Source, SourceStatus
from app.sources.service import create_source

# Outside a terminal (CI, logs) rich would wrap at 80 columns; tables need more.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


@dataclass(frozen=True, slots=True)
class DemoSource:
    name: str
    kind: str
    seed: int
    tickets: int


DEMO_SOURCES = (
    DemoSource("Northwind IT (ConnectWise sandbox)", "connectwise", seed=7, tickets=3000),
    DemoSource("Contoso Support (Autotask sandbox, acquired)", "autotask", seed=21, tickets=1200),
)


def ensure_demo_sources(context: ServiceContext) -> list[int]:
    """The demo's sources, created on first use and checked against their simulators (so
    they are scheduled like any PSA that passed its check); kinds without a simulator are
    skipped."""
    ids = []
    unverified = []
    settings = context.settings
    with context.db.session() as session:
        for demo in DEMO_SOURCES:
            existing = session.scalar(select(Source).where(Source.name == demo.name))
            if existing is not None:
                ids.append(existing.id)
                if existing.status == SourceStatus.UNVERIFIED:
                    unverified.append(existing.id)
                continue
            support = sandbox_support(demo.kind)
            if support is None:
                console.print(f"[yellow]No {demo.kind} simulator installed; skipping.[/yellow]")
                continue
            # The simulated year ends today, so the scorecard has this year's numbers.
            today = datetime.now(UTC).date()
            source = create_source(
                session,
                context.cipher,
                name=demo.name,
                kind=demo.kind,
                config=support.source_config(sandbox_base_url(demo.seed, demo.tickets, today)),
                fast_interval_minutes=settings.default_fast_interval_minutes,
                slow_interval_minutes=settings.default_slow_interval_minutes,
                live_interval_seconds=settings.default_live_interval_seconds,
            )
            ids.append(source.id)
            unverified.append(source.id)
    checker = SourceChecker.of(context)
    for source_id in unverified:
        outcome = asyncio.run(checker.check(source_id))
        if not outcome.ok:
            console.print(f"[red]A sandbox PSA failed its check:[/red] {outcome.message}")
    return ids


def sync_demo_sources(context: ServiceContext, source_ids: list[int]) -> list[StreamOutcome]:
    from app.progress import print_sync_summary, sync_progress

    outcomes: list[StreamOutcome] = []
    for source_id in source_ids:
        with source_sync_lock(context.db, source_id) as held:
            if not held:
                continue
            started = monotonic()
            with sync_progress(console) as progress:
                done = asyncio.run(
                    context.runner.sync_source(source_id, trigger=Trigger.CLI, progress=progress)
                )
            with context.db.session() as session:
                source = session.get(Source, source_id)
                name = source.name if source else str(source_id)
            print_sync_summary(console, name, done, monotonic() - started)
            outcomes.extend(done)
    return outcomes


def seed_demo_plan(context: ServiceContext) -> None:
    """The docs/goals.md §4 plan, its goals started five months ago, as if written down the
    week before they started and snapshotted every day since, the way a running Northstar
    would have: so the reviews of past quarters have the history they read."""
    settings = context.settings
    today = datetime.now(settings.tz).date()
    start = shift_months(today.replace(day=1), -5)
    written = start - timedelta(days=7)
    with context.db.session() as session:
        seeded = seed_example_plan(session, start=start, today=today, tz=settings.tz)
        if seeded is None:
            return
        moment = datetime.combine(written, time(9), tzinfo=settings.tz)
        session.execute(update(Goal).values(created_at=moment))
        session.execute(update(Objective).values(created_at=moment))
    day = written
    with console.status("Taking the plan's daily snapshots since it was written…"):
        while day < today:
            take_alignment_snapshots(context.db, settings, day)
            day += timedelta(days=1)


DEMO_OWNER_EMAIL = "owner@demo.example"


def demo_owner(session: Session) -> str:
    """The demo's owner, who can plan in the browser: made at the first demo, given a new
    random password at every one (returned, to be shown once)."""
    from app.people.principal import Role
    from app.people.users import create_user, find_user, reset_password

    password = secrets.token_urlsafe(12)
    if find_user(session, DEMO_OWNER_EMAIL) is None:
        create_user(
            session, email=DEMO_OWNER_EMAIL, name="Demo owner", role=Role.OWNER, password=password
        )
    else:
        reset_password(session, DEMO_OWNER_EMAIL, password)
    return password


def run_demo(settings: Settings, *, host: str | None, port: int | None, serve: bool) -> int:
    import uvicorn

    from app.cli import migrate_database
    from app.logging import configure_logging
    from app.main import create_app
    from app.security.apikeys import create_api_key
    from app.security.models import KeyScope

    configure_logging(log_format=settings.log_format, level="WARNING")
    migrate_database(settings)
    context = ServiceContext.build(settings)
    console.print("[bold]Syncing the sandbox PSAs…[/bold]")
    outcomes = sync_demo_sources(context, ensure_demo_sources(context))
    synced = all(o.status is RunStatus.SUCCEEDED for o in outcomes)
    seed_demo_plan(context)
    with context.db.session() as session:
        key = create_api_key(session, name="demo admin", scope=KeyScope.ADMIN)
        owner_password = demo_owner(session)
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}/api/v1"

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    say(f"\n[bold]Northstar is ready.[/bold] Admin API key (shown once): {key.key}")
    say(
        f"  Pages:         http://{host}:{port}/  sign in as {DEMO_OWNER_EMAIL} with the "
        f"password {owner_password} (shown once; a new one at every `make demo`)"
    )
    say(f"  API docs (click Authorize, paste the key): {base}/docs")
    say(f"  Scorecard:     curl -H 'X-API-Key: {key.key}' {base}/alignment")
    quarter = previous_quarter(datetime.now(settings.tz).date())
    say(f"  Last quarter:  {base}/reviews/{quarter}?format=html  (send the key as X-API-Key)")
    say(f"  Health:        {base}/health")
    say(f"  Your sources:  curl -H 'X-API-Key: {key.key}' {base}/sources")
    say(
        f"  SLA by month (the last 12):  curl -H 'X-API-Key: {key.key}' "
        f"'{base}/kpis/sla_response_pct/values?grain=month'"
    )
    if not serve:
        return 0 if synced else 1
    uvicorn.run(create_app(settings, context=context), host=host, port=port, log_config=None)
    return 0
