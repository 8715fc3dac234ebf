"""`/alerts/channels/{id}`: what was sent to a channel, newest first, as the API's
delivery history gives it (`GET /api/v1/alerts/channels/{id}/deliveries`): sent, failed with
the reason, or waiting to be tried again, with every attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from fastapi.responses import Response

from app.alerts.models import AlertChannel
from app.alerts.schemas import DeliveryOut
from app.people.principal import Person
from app.web.planning.fields import planning_page
from app.web.render import moment_words

STATUS_LOOK = {"sent": "on_track", "failed": "off_track", "pending": "at_risk"}
STATUS_WORDS = {
    "sent": "Sent",
    "failed": "Failed",
    "pending": "Waiting to be tried again",
    "sending": "Being sent",
}
PURPOSE_WORDS = {
    "event": "Alert",
    "test": "Test message",
    "digest": "Weekly digest",
    "review": "Quarterly review",
}


def delivery_state(delivery: DeliveryOut) -> str:
    """One delivery in a few words: "Test message sent 2026-12-03 06:50 UTC"."""
    what = PURPOSE_WORDS.get(delivery.purpose, delivery.purpose)
    if delivery.status == "sent":
        return f"{what} sent {moment_words(delivery.sent_at)}"
    state = STATUS_WORDS.get(delivery.status, delivery.status).lower()
    reason = f" ({delivery.last_error})" if delivery.last_error else ""
    return f"{what} {state}{reason}"


def _badge(status: str) -> str:
    look = STATUS_LOOK.get(status, "no_data")
    return f"<span class='status {look}'>{escape(STATUS_WORDS.get(status, status))}</span>"


def _attempt(entry: dict[str, Any]) -> str:
    at = entry.get("at")
    try:
        when = moment_words(datetime.fromisoformat(str(at))) if at else ""
    except ValueError:
        when = str(at)
    return (
        f"<li>{escape(when)}: {escape(str(entry.get('result', '')))}, then "
        f"{escape(str(entry.get('next', '')))}</li>"
    )


def _row(delivery: DeliveryOut) -> str:
    attempts = "".join(_attempt(entry) for entry in delivery.history)
    due = (
        f"<br><span class='muted'>Next try {moment_words(delivery.next_attempt_at)}</span>"
        if delivery.status == "pending"
        else ""
    )
    return (
        f"<tr id='delivery-{delivery.id}'><td>{moment_words(delivery.created_at)}</td>"
        f"<td>{escape(PURPOSE_WORDS.get(delivery.purpose, delivery.purpose))}: "
        f"{escape(delivery.title)}</td><td>{_badge(delivery.status)}{due}</td>"
        f"<td>{escape(delivery.last_error or '')}</td>"
        f"<td>{delivery.attempts}" + (f"<ul>{attempts}</ul>" if attempts else "") + "</td></tr>"
    )


def _tested(rows: Sequence[DeliveryOut], tested: str) -> str:
    """After "Send a test message": what the channel answered."""
    found = next((d for d in rows if str(d.id) == tested and d.purpose == "test"), None)
    if found is None:
        return ""
    if found.status == "sent":
        return (
            "<p class='status on_track form-problem' role='status'>The test message was "
            "sent: the channel accepted it.</p>"
        )
    return (
        "<p class='status off_track form-problem' role='alert'>The test message was not "
        f"delivered: {escape(found.last_error or 'no answer')}. "
        + (
            f"It is tried again {moment_words(found.next_attempt_at)}."
            if found.status == "pending"
            else "It is not tried again: check the channel's settings."
        )
        + "</p>"
    )


def deliveries_page(
    person: Person,
    channel: AlertChannel,
    rows: Sequence[DeliveryOut],
    tested: str,
    quarter: str,
) -> Response:
    table = (
        "<table><thead><tr><th scope='col'>Queued</th><th scope='col'>Message</th>"
        "<th scope='col'>Status</th><th scope='col'>Why it failed</th>"
        "<th scope='col'>Attempts</th></tr></thead><tbody>"
        + "".join(_row(d) for d in rows)
        + "</tbody></table>"
        if rows
        else "<p>Nothing has been sent to this channel yet.</p>"
    )
    body = (
        f"<section aria-labelledby='history-title'><h2 id='history-title'>Deliveries to "
        f"{escape(channel.name)}</h2>{_tested(rows, tested)}"
        "<p>Newest first, the last 100. A channel that is busy or down is tried again "
        "(up to 8 attempts); a refused one is not.</p>"
        f"{table}<p><a href='/alerts#channel-{channel.id}'>Back to the alerts</a></p></section>"
    )
    return planning_page(person, f"Deliveries to {channel.name}", body, quarter)
