"""The weekly digest and the quarterly review, queued in the outbox when they are due.

A channel with a digest day and time (reporting time zone) gets, at the first run after that
moment each week, what changed since its last digest, what needs attention first (worst
first, with the alignment's sentence) and the check-ins due. When a quarter has closed, each
channel that wants it gets the quarter's review: its summary, and the review itself as an HTML
document (attached to e-mails, in the webhook's body, a link elsewhere).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.alerts.messages import Attachment, Message, Section
from app.alerts.models import AlertChannel
from app.alerts.outbox import enqueue
from app.alerts.texts import NO_LINK_NOTE
from app.goals.alignment import STATUS_ORDER, Status
from app.goals.archive import live_plan
from app.goals.config import get_thresholds
from app.goals.models import AlignmentSnapshot, CheckIn, Goal
from app.goals.review_render import summary, to_html
from app.goals.reviews import build_review
from app.settings import Settings

CHECK_IN_EVERY = timedelta(days=14)  # a goal in progress without a check-in this long is due
NEEDS_ATTENTION = (Status.MISSED, Status.OFF_TRACK, Status.AT_RISK)


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(day: date) -> str:
    return quarter_of(quarter_start(day) - timedelta(days=1))


def scheduled_day(channel: AlertChannel, local: datetime) -> date | None:
    """This week's digest day if its time has come, else None."""
    if channel.digest_weekday is None or channel.digest_time is None:
        return None
    day = local.date() - timedelta(days=local.isoweekday() - channel.digest_weekday)
    hour, minute = (int(part) for part in channel.digest_time.split(":"))
    if datetime.combine(day, time(hour, minute), tzinfo=local.tzinfo) > local:
        return None
    return day


def _latest(session: Session, goal_id: int, on_or_before: date) -> AlignmentSnapshot | None:
    return session.scalar(
        select(AlignmentSnapshot)
        .where(AlignmentSnapshot.goal_id == goal_id, AlignmentSnapshot.day <= on_or_before)
        .order_by(AlignmentSnapshot.day.desc())
        .limit(1)
    )


def _words(status: str) -> str:
    try:
        return Status(status).words
    except ValueError:
        return status


def digest_message(session: Session, settings: Settings, since: date, today: date) -> Message:
    yesterday = today - timedelta(days=1)
    changed, attention, due = [], [], []
    # Archived goals (or under an archived objective) are out of the plan: not in the digest.
    for goal in live_plan(session)[1]:
        now = _latest(session, goal.id, yesterday)
        then = _latest(session, goal.id, since)
        if now is None:
            continue
        if then is not None and then.status != now.status:
            changed.append(f"{goal.title}: {_words(then.status)} → {_words(now.status)}")
        if now.status in NEEDS_ATTENTION:
            attention.append((STATUS_ORDER.index(Status(now.status)), goal, now))
        if goal.start_date <= today <= goal.due_date:
            last = session.scalar(
                select(func.max(CheckIn.check_in_date)).where(CheckIn.goal_id == goal.id)
            )
            if last is None or last <= today - CHECK_IN_EVERY:
                due.append(f"{goal.title}: last check-in {last.isoformat() if last else 'never'}")
    attention.sort(key=lambda item: (item[0], item[1].id))
    base = settings.public_base_url.rstrip("/") if settings.public_base_url else None
    return Message(
        kind="digest",
        title=f"Northstar weekly digest, {today.isoformat()}",
        summary=(
            f"{len(changed)} goal(s) changed status since {since.isoformat()}; "
            f"{len(attention)} need(s) attention; {len(due)} check-in(s) due."
            + ("" if base else f" {NO_LINK_NOTE}")
        ),
        sections=[
            Section(
                heading="Needs attention first",
                lines=[
                    f"{g.title}: {_words(s.status)}. {s.reason or ''}".strip()
                    for _, g, s in attention
                ],
            ),
            Section(heading="What changed since the last digest", lines=changed),
            Section(heading="Check-ins due", lines=due),
        ],
        link=f"{base}/goals" if base else None,
        data={"since": since.isoformat(), "until": yesterday.isoformat()},
    )


def review_message(session: Session, settings: Settings, quarter: str, today: date) -> Message:
    review = build_review(
        session,
        quarter,
        today=today,
        timezone=settings.reporting_timezone,
        tz=settings.tz,
        thresholds=get_thresholds(),
    )
    base = settings.public_base_url.rstrip("/") if settings.public_base_url else None
    return Message(
        kind="quarterly_review",
        title=f"Quarterly review {quarter}",
        summary=summary(review),
        link=f"{base}/api/v1/reviews/{quarter}?format=html" if base else None,
        link_text="Open the review",
        attachment=Attachment(
            filename=f"northstar-review-{quarter}.html",
            content_type="text/html",
            text=to_html(review),
        ),
        data={"quarter": quarter},
    )


def enqueue_due_digests(session: Session, settings: Settings, *, now: datetime) -> int:
    """Queue the digests and reviews that are due as of `now`; how many."""
    local = now.astimezone(settings.tz)
    today = local.date()
    queued = 0
    for channel in session.scalars(select(AlertChannel).where(AlertChannel.enabled.is_(True))):
        day = scheduled_day(channel, local)
        if day is not None and (channel.digest_last_sent_on or date.min) < day:
            since = channel.digest_last_sent_on or day - timedelta(days=7)
            message = digest_message(session, settings, since, today)
            enqueue(
                session,
                channel,
                message,
                purpose="digest",
                key=f"ns-digest-{channel.id}-{day.isoformat()}",
                now=now,
            )
            channel.digest_last_sent_on = day
            queued += 1
        quarter = previous_quarter(today)
        if channel.send_quarterly_review and channel.review_last_quarter != quarter:
            if session.scalar(select(func.count(Goal.id))):
                message = review_message(session, settings, quarter, today)
                enqueue(
                    session,
                    channel,
                    message,
                    purpose="review",
                    key=f"ns-review-{channel.id}-{quarter}",
                    now=now,
                )
                queued += 1
            channel.review_last_quarter = quarter
    return queued
