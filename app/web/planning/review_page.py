"""`/reviews/{quarter}`: the quarterly ritual, inside the site's shell and printable. It
opens with the stories recorded for the quarter, shows each objective's verdicts at the
start and end, the plan's changes, the milestones hit and missed and the check-ins, and ends
with what a win will feel like.

Its data is the review of `/api/v1/reviews/{quarter}` (`app.goals.reviews.build_review`),
read once and drawn here; nothing is computed again."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ContextDep, SessionDep
from app.api.params import check_period_year, period_year
from app.errors import InvalidInput, NorthstarError
from app.goals.config import get_thresholds
from app.goals.history import when_words
from app.goals.plan_schemas import PlanChangeOut, StoryOut
from app.goals.review_render import number, summary, target_text
from app.goals.reviews import build_review, parse_quarter
from app.goals.schemas import CheckInOut
from app.goals.stories import quarter_of
from app.goals.views import ReviewGoalOut, ReviewObjectiveOut, ReviewOut
from app.people.principal import Person
from app.web.pages import problem_page
from app.web.planning.access import last_quarter, reader, today
from app.web.render import header, page, status_badge

router = APIRouter(include_in_schema=False)

MILESTONE_WORDS = {"hit": "Hit", "missed": "Missed", "pending": "Pending", "no_data": "No data"}


def _change(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    if unit == "percent":
        return f"{sign}{number(value)} pts"
    return sign + number(value, unit)


def _story(story: StoryOut) -> str:
    kind = "An employee's story" if story.kind.value == "employee" else "A client's story"
    who = f", recorded by {escape(story.author)}" if story.author else ""
    return (
        f"<li><blockquote>{escape(story.text)}</blockquote>"
        f"<p class='muted'>{kind}, {story.date}{who}</p></li>"
    )


def _goal_row(goal: ReviewGoalOut) -> str:
    unit = goal.kpi.unit
    changed = " (changed)" if goal.status_changed else ""
    return (
        f"<tr><th scope='row'><a href='/goals/{goal.goal_id}'>{escape(goal.title)}</a></th>"
        f"<td>{escape(goal.kpi.name)}</td><td>{escape(target_text(goal))}</td>"
        f"<td>{escape(number(goal.start.value, unit))}</td>"
        f"<td>{escape(number(goal.end.value, unit))}</td>"
        f"<td>{escape(_change(goal.kpi_change, unit))}</td>"
        f"<td>{status_badge(goal.start.status.value)}</td>"
        f"<td>{status_badge(goal.end.status.value)}{changed}</td></tr>"
    )


def _check_in(check_in: CheckInOut, about: str) -> str:
    who = f" ({escape(check_in.author)})" if check_in.author else ""
    note = f": {escape(check_in.note)}" if check_in.note else ""
    return (
        f"<li>{escape(about)}, {check_in.date}{who}: confidence {check_in.confidence}/10{note}</li>"
    )


def _plan_change(change: PlanChangeOut, tz: tzinfo) -> str:
    when = when_words(change.at, tz)
    earlier = " (before the quarter)" if change.during_quarter is False else ""
    who = escape(change.by or "someone unrecorded")
    return f"<li>{when}{earlier}, {who}: {escape(change.words)}</li>"


def _list(title: str, items: list[str], empty: str) -> str:
    if not items:
        return f"<h4>{title}</h4><p class='muted'>{empty}</p>"
    return f"<h4>{title}</h4><ul>{''.join(items)}</ul>"


def _objective(objective: ReviewObjectiveOut, tz: tzinfo) -> str:
    tag = "h2" if objective.parent_id is None else "h3"
    about = []
    if objective.purpose:
        about.append(f"<p class='purpose'>{escape(objective.purpose)}</p>")
    facts = [
        f"Owner: {escape(objective.owner)}" if objective.owner else "",
        f"Horizon: {escape(objective.horizon)}" if objective.horizon else "",
        f"Archived on {objective.archived_on}" if objective.archived_on else "",
    ]
    if any(facts):
        about.append(f"<p class='muted'>{'. '.join(f for f in facts if f)}.</p>")
    verdicts = (
        f"<p>At the start of the quarter: {status_badge(objective.status_start.value)}; "
        f"at the end: {status_badge(objective.status_end.value)}</p>"
    )
    if objective.goals:
        table = (
            "<div class='scroll' tabindex='0' role='region' "
            f"aria-label='Goals of {escape(objective.title)}'><table><thead><tr>"
            "<th scope='col'>Goal</th><th scope='col'>KPI</th><th scope='col'>Target</th>"
            "<th scope='col'>Start</th><th scope='col'>End</th><th scope='col'>Change</th>"
            "<th scope='col'>Status at start</th><th scope='col'>Status at end</th></tr>"
            f"</thead><tbody>{''.join(_goal_row(g) for g in objective.goals)}</tbody></table>"
            "</div>"
        )
    else:
        table = "<p class='muted'>No goals of its own; its status comes from its children.</p>"
    milestones = [
        f"<li><span class='milestone {escape(m.status)}'>{MILESTONE_WORDS.get(m.status, m.status)}"
        f"</span> {escape(g.title)}: {escape(m.title or 'milestone')} due {m.due_date}"
        + (f", target {escape(number(m.target, g.kpi.unit))}" if m.target is not None else "")
        + (f" (value {escape(number(m.value, g.kpi.unit))})" if m.value is not None else "")
        + "</li>"
        for g in objective.goals
        for m in g.milestones
    ]
    check_ins = [_check_in(c, "The objective") for c in objective.check_ins] + [
        _check_in(c, g.title) for g in objective.goals for c in g.check_ins
    ]
    changes = [_plan_change(c, tz) for c in objective.plan_changes]
    return (
        f"<section class='objective' id='objective-{objective.id}'>"
        f"<{tag}>{escape(' › '.join(objective.path))}</{tag}>{''.join(about)}{verdicts}{table}"
        + _list("Milestones due this quarter", milestones, "None due this quarter.")
        + _list("Check-ins", check_ins, "No check-in this quarter.")
        + _list("Changes to the plan", changes, "No change to the plan.")
        + "</section>"
    )


def _neighbours(quarter: str, day: date) -> str:
    period = parse_quarter(quarter)
    before = quarter_of(period.start - timedelta(days=1))
    after = quarter_of(period.end)
    links = [f"<a href='/reviews/{before}' rel='prev'>← {before}</a>"]
    if period.end <= day:
        links.append(f"<a href='/reviews/{after}' rel='next'>{after} →</a>")
    if quarter != quarter_of(day):
        links.append(f"<a href='/reviews/{quarter_of(day)}'>This quarter</a>")
    return f"<nav class='quarters' aria-label='Quarters'>{' · '.join(links)}</nav>"


def review_page(review: ReviewOut, day: date, person: Person, previous: str, tz: tzinfo) -> str:
    """The review drawn for reading and printing; an editor also sees where to record."""
    stories = "".join(_story(s) for s in review.stories)
    record = (
        f"<p class='controls'><a href='/plan/stories/new?quarter={review.quarter}'>Record a "
        "story for this quarter</a></p>"
        if person.can_edit
        else ""
    )
    opening = (
        "<section class='stories' aria-labelledby='stories-title'>"
        "<h2 id='stories-title'>Stories of the quarter</h2>"
        + (
            f"<ul class='stories'>{stories}</ul>"
            if stories
            else "<p class='muted'>No story recorded for this quarter yet.</p>"
        )
        + f"{record}</section>"
    )
    wins = [
        f"<li><strong>{escape(' › '.join(o.path))}</strong>: {escape(o.win_feels_like)}</li>"
        for o in review.objectives
        if o.win_feels_like and o.win_feels_like.strip()
    ]
    later = [f"<li>{escape(g.title)} (written on {g.created_on})</li>" for g in review.added_later]
    body = (
        f"<section class='review-head'><h2>Quarterly review {escape(review.quarter)}</h2>"
        f"<p>From {review.start} to {review.end} (time zone {escape(review.timezone)}). "
        "Statuses at the start and the end are as known on those days.</p>"
        f"<p>{escape(summary(review))}</p>{_neighbours(review.quarter, day)}"
        f"<p class='muted controls'><a href='/api/v1/reviews/{review.quarter}?format=markdown'>"
        "As Markdown</a> · <a href='/api/v1/reviews/"
        f"{review.quarter}'>As JSON</a></p></section>"
        f"{opening}{''.join(_objective(o, tz) for o in review.objectives)}"
        + (
            "<section><h2>Added after the quarter (not graded in it)</h2>"
            f"<ul>{''.join(later)}</ul></section>"
            if later
            else ""
        )
        + "<section class='wins' aria-labelledby='wins-title'><h2 id='wins-title'>What a win "
        "will feel like</h2>"
        + (f"<ul>{''.join(wins)}</ul>" if wins else "<p class='muted'>No objective says yet.</p>")
        + "</section>"
    )
    top = header(
        "Northstar scorecard", context=f"{review.quarter}", last_quarter=previous, person=person
    )
    return page(f"Quarterly review {review.quarter}: Northstar", f"{top}<main>{body}</main>")


@router.get("/reviews/{quarter}", response_class=HTMLResponse)
def review_view(
    quarter: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    person = reader(request, session)
    if isinstance(person, Response):
        return person
    day = today(context)
    try:
        year = period_year(quarter)
        if year is not None and year > day.year:
            raise InvalidInput(
                f"{quarter.strip()} has not started yet (today is {day}); review a past or the "
                "current quarter.",
                code="quarter_not_started",
            )
        check_period_year(quarter, "path.quarter")
        review = build_review(
            session,
            quarter.strip().upper(),
            today=day,
            timezone=context.settings.reporting_timezone,
            tz=context.settings.tz,
            thresholds=get_thresholds(),
        )
    except NorthstarError as error:
        return problem_page(error)
    return HTMLResponse(
        review_page(review, day, person, last_quarter(context), context.settings.tz)
    )
