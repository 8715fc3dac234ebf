"""What `bench/backfill.py` reports: per-stream request and wall floors with their targets,
totals, and the steady-state requests per hour.

Floors, per stream of a first sync:

- requests: ⌈records ÷ page size⌉ (at least 1: even an empty stream must ask), plus the
  floor of the related entities its pages carry (Autotask: ServiceLevelAgreementResults in
  the tickets stream, ResourceDailyAvailabilities in resources, ContractServiceUnits in
  contracts; ⌈rows served ÷ page size⌉, as the simulator counted them), plus, for ConnectWise
  agreements, one additions call per agreement with a recurring billing cycle (ConnectWise
  has no list of all additions). An id sweep the runner skipped (it read nothing) has a floor
  of 0 and makes 0 requests.
- wall: ⌈floor requests ÷ concurrency⌉ × latency: a round trip takes one latency and the
  connector keeps at most `concurrency` requests in flight for the stream (ConnectWise: its
  `concurrency` windows; Autotask: `concurrency_per_entity`, per entity).

Targets: requests ≤ 1.05 × floor + 20 (whole sync); each stream's wall ≤ 1.5 × its wall
floor + its ingest (normalise + store) time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from app.ingest.runner import StreamOutcome, SyncResult
from connectors.sdk import StreamMode, StreamSpec

PAGE = {"connectwise": 1000, "autotask": 500}

# Entities the Autotask issue lists as part of its streams ("Resources with
# ResourceDailyAvailabilities", "ServiceLevelAgreementResults", "Contracts with
# ContractServiceUnits") that the connector reads as related rows of a stream's pages, and
# the stream whose floor (requests and wall) they count toward.
RELATED_ENTITIES: dict[str, dict[str, str]] = {
    "autotask": {
        "ResourceDailyAvailabilities": "resources",
        "ServiceLevelAgreementResults": "tickets",
        "ContractServiceUnits": "contracts",
    }
}

# Streams each of whose records the connector must ask about once more, because the PSA keeps
# their children per parent with no list of all of them: ConnectWise's agreement additions
# (`/finance/agreements/{id}/additions`, one call per agreement with a recurring billing
# cycle). The value names the simulator's count of such parents (`/__bench/world`).
PER_PARENT: dict[str, dict[str, str]] = {"connectwise": {"agreements": "agreements_recurring"}}

REQUEST_SLACK, REQUEST_FACTOR, WALL_FACTOR = 20, 1.05, 1.5


def concurrency(vendor: str) -> int:
    """Requests the connector keeps in flight for one stream, from its default config (the
    benchmark's sources set none)."""
    if vendor == "connectwise":
        from connectors.connectwise.config import ConnectWiseConfig
        from connectors.sdk import SourceHttpLimits

        windows = int(ConnectWiseConfig.model_fields["concurrency"].default)
        return min(windows, SourceHttpLimits().max_concurrency)
    from connectors.autotask.config import AutotaskConfig

    return int(AutotaskConfig.model_fields["concurrency_per_entity"].default)


def skipped_sweep(outcome: StreamOutcome, spec: StreamSpec) -> bool:
    """An id sweep the runner skipped: it succeeded without a request (a sweep that reads
    makes at least one)."""
    return (
        spec.mode is StreamMode.ID_SWEEP
        and outcome.status.value == "succeeded"
        and outcome.requests == 0
        and outcome.pages == 0
    )


def chained_wall_floor(floor: int, in_flight: int, latency: float) -> float:
    """The wall floor of a keyset-paged read that cannot know its pages before one answer
    came back: the first request alone (a first page, or a count), then the rest at full
    concurrency. `wall_floor_s` assumes every request of the floor in flight from the start,
    which no reader can do without guessing where pages begin."""
    if floor <= 1:
        return floor * latency
    return (1 + math.ceil((floor - 1) / in_flight)) * latency


def stream_rows(
    result: Iterable[StreamOutcome],
    vendor: str,
    specs: Mapping[str, StreamSpec],
    latency: float,
    related: Mapping[str, int],
    world: Mapping[str, int],
) -> dict[str, dict[str, Any]]:
    """Per stream: requests and their floor, wall time and its floor and target."""
    page, in_flight = PAGE[vendor], concurrency(vendor)
    related_of = RELATED_ENTITIES.get(vendor, {})
    parents_of = PER_PARENT.get(vendor, {})
    rows: dict[str, dict[str, Any]] = {}
    for outcome in result:
        spec = specs[outcome.stream]
        skipped = skipped_sweep(outcome, spec)
        own = 0 if skipped else max(1, math.ceil(outcome.records / (spec.page_size or page)))
        carried = {
            entity: math.ceil(related.get(entity, 0) / page)
            for entity, stream in related_of.items()
            if stream == outcome.stream
        }
        parents = 0 if skipped else world.get(parents_of.get(outcome.stream, ""), 0)
        floor = own + sum(carried.values()) + parents
        wall_floor = math.ceil(floor / in_flight) * latency
        target = WALL_FACTOR * wall_floor + outcome.store_seconds
        chained = chained_wall_floor(floor, in_flight, latency)
        chained_target = WALL_FACTOR * chained + outcome.store_seconds
        row: dict[str, Any] = {
            "status": outcome.status.value,
            "records": outcome.records,
            "requests": outcome.requests,
            "request_floor": floor,
            "request_floor_own_pages": own,
        }
        if carried:
            row["request_floor_related"] = carried
        if parents:
            row["request_floor_one_per_parent"] = parents
        row |= {
            "wall_s": round(outcome.wall_seconds, 2),
            "wall_floor_s": round(wall_floor, 2),
            "ingest_s": round(outcome.store_seconds, 2),
            "wall_target_s": round(target, 2),
            "wall_target_met": outcome.wall_seconds <= target,
            "wall_floor_chained_s": round(chained, 2),
            "wall_target_chained_s": round(chained_target, 2),
            "wall_target_chained_met": outcome.wall_seconds <= chained_target,
        }
        if skipped:
            row["skipped_sweep"] = True
        if outcome.warnings:
            row["warnings"] = list(outcome.warnings)
        rows[outcome.stream] = row
    return rows


def report(
    result: SyncResult,
    vendor: str,
    specs: Mapping[str, StreamSpec],
    latency: float,
    wall: float,
    related: Mapping[str, int] | None = None,
    world: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The whole sync: per-stream rows, then totals against the issue's targets."""
    related, world = related or {}, world or {}
    streams = stream_rows(result, vendor, specs, latency, related, world)
    # The sync's one-off requests (codebase, zone, tenant usage) come before any stream:
    # counted in the sync's requests, timed apart from every stream's wall.
    requests = sum(s["requests"] for s in streams.values()) + result.setup_requests
    own = sum(s["request_floor_own_pages"] for s in streams.values())
    carried = sum(sum(s.get("request_floor_related", {}).values()) for s in streams.values())
    parents = sum(s.get("request_floor_one_per_parent", 0) for s in streams.values())
    floor = own + carried + parents
    records = sum(s["records"] for s in streams.values())
    store = sum(o.store_seconds for o in result)
    ingest = store + result.kpi_seconds
    wall_floor = sum(s["wall_floor_s"] for s in streams.values())
    wall_target = WALL_FACTOR * wall_floor + ingest
    totals: dict[str, Any] = {
        "records": records,
        "requests": requests,
        "setup": {"requests": result.setup_requests, "wall_s": round(result.setup_seconds, 2)},
        "request_floor_of_streams": own,
    }
    if related:
        totals["related_rows"] = dict(related)
        totals["request_floor_with_related"] = own + carried
    if parents:
        # The headline floor for ConnectWise: one additions call per recurring agreement.
        totals["request_floor_one_per_parent"] = floor
    totals |= {
        "request_floor": floor,
        "request_target": round(floor * REQUEST_FACTOR + REQUEST_SLACK, 1),
        "request_target_met": requests <= floor * REQUEST_FACTOR + REQUEST_SLACK,
        "wall_s": round(wall, 1),
        "wall_floor_s": round(wall_floor, 1),
        "wall_target_s": round(wall_target, 1),
        "wall_target_met": wall <= wall_target,
        "streams_wall_target_met": all(s["wall_target_met"] for s in streams.values()),
        "store_s": round(store, 1),
        "kpi_rollup_s": round(result.kpi_seconds, 1),
        "ingest_s": round(ingest, 1),
        "ingest_records_per_s": round(records / ingest) if ingest else None,
    }
    return {"streams": streams, **totals}


def steady_state(
    fast_tick: int,
    hourly_tick: int,
    fast_minutes: int,
    slow_minutes: int,
    additions: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Requests per hour with nothing changing: the fast streams every `fast_minutes`, the
    slow ones (in the same sync) every `slow_minutes`, plus the extra cost of ConnectWise's
    additions re-read spread over its interval."""
    fast_per_hour = 60 / fast_minutes
    slow_per_hour = 60 / slow_minutes
    per_hour = (fast_per_hour - slow_per_hour) * fast_tick + slow_per_hour * hourly_tick
    if additions is not None:
        per_hour += additions["extra_requests"] / additions["interval_hours"]
    return {
        "fast_ticks_per_hour": fast_per_hour,
        "slow_ticks_per_hour": slow_per_hour,
        "requests_fast_tick": fast_tick,
        "requests_fast_and_slow_tick": hourly_tick,
        "additions_reread": None if additions is None else dict(additions),
        "requests_per_hour": round(per_hour, 1),
        "requests_per_day": round(per_hour * 24),
    }


def markdown_streams(full: Mapping[str, Any]) -> str:
    """The per-stream table of a first sync, as RESULTS.md shows it."""
    lines = [
        "| stream | records | requests | request floor | wall | wall floor | ingest "
        "| wall target (1.5 × floor + ingest) | met | chained floor | chained target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in full["streams"].items():
        if s.get("skipped_sweep"):
            lines.append(f"| {name} | skipped (read nothing) | 0 | 0 |{' – |' * 8}")
            continue
        extra = [f"{k} {v}" for k, v in s.get("request_floor_related", {}).items()]
        if s.get("request_floor_one_per_parent"):
            extra.append(f"additions {s['request_floor_one_per_parent']:,}")
        floor = f"{s['request_floor']:,}"
        if extra:
            floor += f" (own pages {s['request_floor_own_pages']} + {' + '.join(extra)})"
        lines.append(
            f"| {name} | {s['records']:,} | {s['requests']:,} | {floor} | {s['wall_s']:.2f} s "
            f"| {s['wall_floor_s']:.2f} s | {s['ingest_s']:.2f} s | {s['wall_target_s']:.2f} s "
            f"| {'yes' if s['wall_target_met'] else '**no**'} "
            f"| {s['wall_floor_chained_s']:.2f} s | {s['wall_target_chained_s']:.2f} s "
            f"| {'yes' if s['wall_target_chained_met'] else '**no**'} |"
        )
    return "\n".join(lines)


def markdown_routes(routes: Mapping[str, int]) -> str:
    """Requests per PSA resource, as the simulator answered them."""
    lines = ["| PSA resource | requests |", "|---|---|"]
    lines += [f"| `{route}` | {count:,} |" for route, count in routes.items()]
    lines.append(f"| total | {sum(routes.values()):,} |")
    return "\n".join(lines)
