"""The Northstar of bench/freshness.py: `northstar serve` on a fresh SQLite store, its
source over the simulator, and the KPI values the benchmark watches."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from backfill import connector_specs, source_config  # bench/ is on sys.path
from cryptography.fernet import Fernet
from load_server import start_server, stop_server

from app.cli import migrate_database
from app.db import Database
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings


@dataclass
class Northstar:
    """A running `northstar serve` (scheduler included) and its admin key."""

    base: str
    key: str
    processes: list[Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def stop(self) -> None:
        stop_server(self.processes)


def start_northstar(workdir: Path, port: int, *, push: bool) -> Northstar:
    """Migrate a fresh store, make an admin key, and serve. With `push`, Northstar's public
    address is set, which is what makes it register callbacks and webhooks with the PSAs."""
    url = f"sqlite:///{workdir / 'northstar.db'}"
    encryption_key = Fernet.generate_key().decode()
    migrate_database(
        Settings(_env_file=None, database_url=url, encryption_key=encryption_key)  # type: ignore[call-arg]
    )
    db = Database(url)
    with db.session() as session:
        key = create_api_key(session, name="freshness bench", scope=KeyScope.ADMIN).key
    db.dispose()
    base = f"http://127.0.0.1:{port}"
    settings = {"NORTHSTAR_REPORTING_TIMEZONE": "UTC"}  # the simulator's changes are UTC days
    if push:
        settings["NORTHSTAR_PUBLIC_BASE_URL"] = base
    processes = start_server(
        url, encryption_key, port, workdir / "northstar.log", split=False, settings=settings
    )
    return Northstar(base, key, processes)


def create_source(northstar: Northstar, vendor: str, simulator_base: str) -> int:
    """The source, added through the API as an owner would (the tenant's default budget)."""
    config = source_config(vendor, simulator_base)
    config.pop("requests_per_hour", None)  # the backfill bench's speed setting: not here
    answer = httpx.post(
        f"{northstar.base}/api/v1/sources",
        json={"name": f"bench {vendor}", "kind": vendor, "config": config},
        headers=northstar.headers,
        timeout=120,
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def source_state(northstar: Northstar, source_id: int) -> dict[str, Any]:
    answer = httpx.get(
        f"{northstar.base}/api/v1/sources/{source_id}", headers=northstar.headers, timeout=60
    )
    answer.raise_for_status()
    return dict(answer.json())


def wait_first_sync(northstar: Northstar, vendor: str, source_id: int, limit_s: float) -> float:
    """Seconds until the first sync is over, printing progress: every stream has succeeded
    once, and then the tickets stream once more. The second read is a live tick, which the
    scheduler starts only after the first sync's job (its KPI rollup included) has ended:
    changes made before that would wait for the rollup, which is not what is measured."""
    streams = set(connector_specs(vendor))
    began = time.monotonic()
    shown, all_done_at = "", None
    while time.monotonic() - began < limit_s:
        state = source_state(northstar, source_id)
        done = {s["stream"]: s["last_success_at"] for s in state["streams"] if s["last_success_at"]}
        if all_done_at is None and streams <= set(done) and state["coverage"]["synced_until"]:
            all_done_at = max(done.values())
        ticked = all_done_at is not None and done["tickets"] > all_done_at
        line = (
            f"  first sync: {len(set(done) & streams)} of {len(streams)} streams done"
            + (", rollup and first live tick" if all_done_at else "")
            + ("" if not ticked else ", done")
        )
        if line != shown:
            print(f"{line} ({time.monotonic() - began:.0f} s)", flush=True)
            shown = line
        if ticked:
            return time.monotonic() - began
        time.sleep(3)
    raise RuntimeError(f"the first sync did not finish within {limit_s:.0f} s")


async def kpi_measure(
    http: httpx.AsyncClient, source_id: int, kpi: str, client: int, day: date, measure: str
) -> float | None:
    """`measure` (`value` or `sample_size`) of `kpi` for the PSA's client `client` on `day`;
    None when Northstar has no value for that day yet (not covered or not synced)."""
    for attempt in range(3):
        try:
            answer = await http.get(
                f"/api/v1/kpis/{kpi}/values",
                params={
                    "grain": "day",
                    "from": day.isoformat(),
                    "to": (day + timedelta(days=1)).isoformat(),
                    "source": source_id,
                    "client": str(client),
                },
            )
            if answer.status_code == 503:  # busy: its Retry-After is seconds, ours is short
                await asyncio.sleep(1 + attempt)
                continue
            answer.raise_for_status()
            break
        except httpx.TransportError:
            await asyncio.sleep(1 + attempt)
    else:
        return None
    row = answer.json()["values"][0]
    if row["reason"]:
        return None
    return float(row[measure] or 0)
