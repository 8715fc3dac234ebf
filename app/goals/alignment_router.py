"""`/api/v1/alignment`, `/goals/{id}/alignment`, `/reviews/{quarter}`: is the plan working?"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from app.api.context import ServiceContext
from app.api.deps import ContextDep, ReadKey, SessionDep
from app.api.params import IdPath, check_period_year, day_query, period_year
from app.api.tabular import CSV_RESPONSES, csv_response, wants_csv
from app.errors import InvalidInput
from app.goals import service
from app.goals.config import get_thresholds
from app.goals.evaluate import SPARKLINE_PERIODS, AlignmentEngine
from app.goals.review_render import to_html, to_markdown
from app.goals.reviews import build_review
from app.goals.scorecard import scorecard, source_histories
from app.goals.views import (
    GoalAlignmentOut,
    ObjectiveAlignmentOut,
    ReviewOut,
    ScorecardOut,
    ThresholdsOut,
)
from app.inputs import Day, date_problem

router = APIRouter(tags=["alignment"])

AsOf = Annotated[
    Day | None,
    day_query("Evaluate as known on this day (default: today, reporting time zone)."),
]


def _as_of(context: ServiceContext, as_of: date | None) -> date:
    today = datetime.now(context.settings.tz).date()
    if as_of is None:
        return today
    if as_of > today:
        raise InvalidInput(
            f"as_of ({as_of}) is in the future; alignment looks at today ({today}) or back.",
            code="as_of_in_future",
        )
    problem = date_problem(as_of)
    if problem:
        message = f"`as_of`: {problem}"
        raise InvalidInput(
            message,
            code="date_out_of_range",
            details=[{"field": "query.as_of", "problem": message}],
        )
    return as_of


SCORECARD_COLUMNS = [
    "objective_id",
    "objective",
    "goal_id",
    "goal",
    "kpi",
    "kind",
    "baseline",
    "target",
    "low",
    "high",
    "due_date",
    "window_start",
    "window_end",
    "current_value",
    "progress",
    "progress_raw",
    "expected_progress",
    "pace",
    "held",
    "judged",
    "status",
    "reason",
    "sample_size",
    "forecast_value",
    "forecast_low",
    "forecast_high",
    "forecast_probability",
    "forecast_meets_target",
    "forecast_note",
    "forecast_available_from",
    "recorded_on",
]


def _flat(objectives: list[ObjectiveAlignmentOut]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for objective in objectives:
        for goal in objective.goals:
            forecast = goal.forecast
            rows.append(
                {
                    "objective_id": objective.id,
                    "objective": objective.title,
                    "goal_id": goal.goal_id,
                    "goal": goal.title,
                    "kpi": goal.kpi.key,
                    "kind": goal.kind.value,
                    "baseline": goal.baseline,
                    "target": goal.target,
                    "low": goal.low,
                    "high": goal.high,
                    "due_date": goal.due_date,
                    "window_start": goal.window.start if goal.window else None,
                    "window_end": goal.window.end if goal.window else None,
                    "current_value": goal.current_value,
                    "progress": goal.progress,
                    "progress_raw": goal.progress_raw,
                    "expected_progress": goal.expected_progress,
                    "pace": goal.pace,
                    "held": goal.record.held if goal.record else None,
                    "judged": goal.record.judged if goal.record else None,
                    "status": goal.status.value,
                    "reason": goal.reason,
                    "sample_size": goal.sample_size,
                    "forecast_value": forecast.projected_value if forecast else None,
                    "forecast_low": forecast.low if forecast else None,
                    "forecast_high": forecast.high if forecast else None,
                    "forecast_probability": forecast.probability if forecast else None,
                    "forecast_meets_target": forecast.meets_target if forecast else None,
                    "forecast_note": goal.forecast_note,
                    "forecast_available_from": goal.forecast_available_from,
                    "recorded_on": goal.recorded_on,
                }
            )
        rows += _flat(objective.objectives)
    return rows


@router.get(
    "/alignment",
    response_model=ScorecardOut,
    summary="The scorecard: is the plan on track?",
    responses=CSV_RESPONSES,
)
def get_scorecard(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    as_of: AsOf = None,
    sparkline: Annotated[
        int, Query(ge=0, le=60, description="How many periods of KPI history per goal.")
    ] = SPARKLINE_PERIODS,
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="`csv`: one row per goal.")
    ] = None,
    include_archived: Annotated[
        bool, Query(description="true: archived objectives and goals too.")
    ] = False,
) -> Any:
    """Every objective (nested under its parent) with its goals: current value, baseline,
    target, progress (raw and clamped), expected progress, status, forecast, next milestone,
    latest check-in and a short KPI series for a sparkline.

    An objective's progress is the weighted mean of its children's; its status is its worst
    child's (missed < off track < at risk < on track < achieved), with goals without data counted
    apart. Each goal says which window its current value covers and why its status is what
    it is. For a past `as_of` with a daily snapshot, a goal's value, progress, status and
    forecast are the ones recorded that day (`recorded_on`): what was known then. Archived
    objectives (with everything beneath them) and goals are left out unless
    `include_archived=true`."""
    day = _as_of(context, as_of)
    thresholds = get_thresholds()
    engine = AlignmentEngine(session, thresholds=thresholds, tz=context.settings.tz)
    objectives = scorecard(engine, day, sparkline=sparkline, include_archived=include_archived)
    if wants_csv(request, format):
        return csv_response(_flat(objectives), SCORECARD_COLUMNS, f"scorecard-{day}.csv")
    card = ScorecardOut(
        as_of=day,
        timezone=context.settings.reporting_timezone,
        thresholds=ThresholdsOut(
            on_track_pace=thresholds.on_track_pace,
            at_risk_pace=thresholds.at_risk_pace,
            at_risk_margin=thresholds.at_risk_margin,
        ),
        sources=source_histories(engine),
        objectives=objectives,
    )
    # Already validated: serialised once here rather than checked again against the
    # response model, which costs as much as building it on a 50-goal plan.
    return Response(card.model_dump_json(), media_type="application/json")


@router.get(
    "/goals/{goal_id}/alignment",
    response_model=GoalAlignmentOut,
    summary="One goal in depth, as of any day",
    responses={404: {"description": "No such goal (`goal_not_found`)."}},
)
def goal_alignment(
    goal_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    as_of: AsOf = None,
    sparkline: Annotated[int, Query(ge=0, le=400)] = SPARKLINE_PERIODS,
) -> Any:
    """The goal as it stood on `as_of`: the window measured, the value, progress against
    the plan, the status and its reason, the forecast and how it was made, and each
    milestone hit, missed or pending. When the daily snapshot of `as_of` exists, the
    headline numbers are the ones it recorded (`recorded_on` says so)."""
    day = _as_of(context, as_of)
    goal = service.get_goal(session, goal_id)
    engine = AlignmentEngine(session, thresholds=get_thresholds(), tz=context.settings.tz)
    return engine.evaluate_goals([goal], day, sparkline=sparkline)[goal.id]


def _review_format(request: Request, format: str | None) -> str:
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return "html"
    if "text/markdown" in accept:
        return "markdown"
    return "json"


@router.get(
    "/reviews/{quarter}",
    response_model=ReviewOut,
    summary="The quarterly review",
    responses={
        200: {"content": {"text/html": {}, "text/markdown": {}}},
        422: {"description": "Not a quarter (`invalid_quarter`), or one not started yet."},
    },
)
def quarterly_review(
    quarter: str,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    format: Annotated[
        Literal["json", "markdown", "html"] | None,
        Query(description="Or send `Accept: text/html` or `Accept: text/markdown`."),
    ] = None,
) -> Any:
    """For a quarter such as `2025-Q4`: each goal's status at the start and the end (read
    from that day's snapshot when one was taken, so it shows what was known then), the KPI
    change, milestones due in the quarter (hit, missed or pending), the check-ins made, and
    the goals whose status changed. JSON, or a report to read or paste: Markdown or HTML."""
    today = datetime.now(context.settings.tz).date()
    year = period_year(quarter)
    if year is not None and year > today.year:
        # Past 2100 its dates cannot even be worked out; it has not started either way.
        raise InvalidInput(
            f"{quarter.strip()} has not started yet (today is {today}); review a past or the "
            "current quarter.",
            code="quarter_not_started",
        )
    check_period_year(quarter, "path.quarter")
    review = build_review(
        session,
        quarter,
        today=today,
        timezone=context.settings.reporting_timezone,
        tz=context.settings.tz,
        thresholds=get_thresholds(),
    )
    chosen = _review_format(request, format)
    if chosen == "html":
        return HTMLResponse(to_html(review))
    if chosen == "markdown":
        return PlainTextResponse(to_markdown(review), media_type="text/markdown; charset=utf-8")
    return review
