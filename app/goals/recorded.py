"""A goal's verdict written to, and read back from, its daily snapshot (docs/goals.md §2.8:
history is read, not recomputed over data that has changed since)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.goals.alignment import Status
from app.goals.models import AlignmentSnapshot
from app.goals.views import (
    EvidenceOut,
    ForecastOut,
    GoalAlignmentOut,
    MilestoneStatusOut,
    RecordOut,
)

# The verdict's fields kept in the snapshot's `detail`, beside its own columns.
DETAIL_FIELDS = (
    "sample_size",
    "progress_explanation",
    "record",
    "evidence",
    "forecast_note",
    "forecast_available_from",
    "milestones",
)


def snapshot_of(result: GoalAlignmentOut, day: date) -> AlignmentSnapshot:
    """The row that records `result` as the verdict of `day`."""
    return AlignmentSnapshot(
        goal_id=result.goal_id,
        day=day,
        status=result.status.value,
        progress=result.progress,
        progress_raw=result.progress_raw,
        expected_progress=result.expected_progress,
        pace=result.pace,
        reason=result.reason,
        current_value=result.current_value,
        window_start=result.window.start if result.window else None,
        window_end=result.window.end if result.window else None,
        baseline=result.baseline,
        forecast=result.forecast.model_dump(mode="json") if result.forecast else None,
        detail=result.model_dump(mode="json", include=set(DETAIL_FIELDS)),
    )


def _forecast(row: AlignmentSnapshot) -> ForecastOut | None:
    if not row.forecast:
        return None
    try:
        return ForecastOut.model_validate(row.forecast)
    except ValueError:
        return None  # a snapshot from before forecasts were ranges: not shown as one


def recorded_update(row: AlignmentSnapshot, current: GoalAlignmentOut) -> dict[str, Any]:
    """The fields of `current` that the snapshot `row` recorded."""
    status = Status(row.status)
    window = current.window
    if window is not None and row.window_start and row.window_end:
        window = window.model_copy(update={"start": row.window_start, "end": row.window_end})
    detail = row.detail or {}
    record = detail.get("record")
    evidence = detail.get("evidence")
    milestones = (
        [MilestoneStatusOut.model_validate(m) for m in detail["milestones"]]
        if "milestones" in detail
        else current.milestones
    )
    return {
        "milestones": milestones,
        "next_milestone": next((m for m in milestones if m.status == "pending"), None),
        "recorded_on": row.day,
        "status": status,
        "status_words": status.words,
        "reason": row.reason or current.reason,
        "current_value": row.current_value,
        "sample_size": detail.get("sample_size"),
        "progress": row.progress,
        "progress_raw": row.progress_raw,
        "expected_progress": row.expected_progress,
        "pace": row.pace,
        "baseline": row.baseline,
        "window": window,
        "progress_explanation": detail.get("progress_explanation"),
        "record": RecordOut.model_validate(record) if record else None,
        "evidence": EvidenceOut.model_validate(evidence) if evidence else None,
        "forecast": _forecast(row),
        "forecast_note": detail.get("forecast_note"),
        "forecast_available_from": _day(detail.get("forecast_available_from")),
    }


def _day(stored: Any) -> date | None:
    """A date kept in the snapshot's JSON `detail` (as ISO text) back as a date."""
    if isinstance(stored, str):
        try:
            return date.fromisoformat(stored)
        except ValueError:
            return None
    return stored if isinstance(stored, date) else None


def apply_snapshots(session: Session, evaluated: dict[int, GoalAlignmentOut], as_of: date) -> None:
    """Replace each computed verdict by the one the daily snapshot of `as_of` recorded,
    where there is one."""
    if not evaluated:
        return
    for row in session.scalars(
        select(AlignmentSnapshot).where(
            AlignmentSnapshot.day == as_of, AlignmentSnapshot.goal_id.in_(list(evaluated))
        )
    ):
        current = evaluated[row.goal_id]
        evaluated[row.goal_id] = current.model_copy(update=recorded_update(row, current))
