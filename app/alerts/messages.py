"""What an alert says, and how it is written for each kind of channel.

A `Message` is stored with its event and delivery (JSON), so what is sent after a retry or a
restart is what was decided when the event happened. Renderers turn it into a Teams Adaptive
Card, Slack Block Kit, an e-mail (HTML and plain text) or the signed webhook's JSON body.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from typing import Any

from pydantic import BaseModel, Field

ADAPTIVE_CARD_VERSION = "1.5"  # what Teams renders in Workflows posts
SLACK_HEADER_LIMIT = 150
SLACK_FIELDS_LIMIT = 10


class Fact(BaseModel):
    label: str
    value: str


class Section(BaseModel):
    heading: str
    lines: list[str] = Field(default_factory=list)


class Attachment(BaseModel):
    filename: str
    content_type: str
    text: str


class Message(BaseModel):
    kind: str = Field(description="status_change, milestone, forecast, source_stale, ...")
    title: str
    summary: str = Field(description="What changed, in one sentence.")
    explanation: str | None = Field(None, description="The alignment API's one sentence.")
    facts: list[Fact] = Field(default_factory=list, description="The numbers.")
    sections: list[Section] = Field(default_factory=list)
    link: str | None = None
    link_text: str = "Open in Northstar"
    goal_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Machine-readable detail.")
    attachment: Attachment | None = None


def _text_lines(message: Message) -> list[str]:
    lines = [message.summary]
    if message.explanation:
        lines.append(message.explanation)
    lines += [f"{fact.label}: {fact.value}" for fact in message.facts]
    for section in message.sections:
        lines += ["", section.heading, *(f"- {line}" for line in section.lines or ["Nothing."])]
    return lines


def teams_card(message: Message) -> dict[str, Any]:
    """The Adaptive Card (schema 1.5) alone."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": message.summary, "wrap": True},
    ]
    if message.explanation:
        body.append(
            {"type": "TextBlock", "text": message.explanation, "wrap": True, "isSubtle": True}
        )
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": fact.label, "value": fact.value} for fact in message.facts],
            }
        )
    for section in message.sections:
        body.append(
            {
                "type": "TextBlock",
                "text": section.heading,
                "weight": "Bolder",
                "wrap": True,
                "spacing": "Medium",
            }
        )
        lines = section.lines or ["Nothing."]
        body.append(
            {"type": "TextBlock", "text": "\n".join(f"- {line}" for line in lines), "wrap": True}
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "fallbackText": f"{message.title}: {message.summary}",
    }
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": message.link_text, "url": message.link}
        ]
    return card


def teams_payload(message: Message) -> dict[str, Any]:
    """What a Teams Workflows (or incoming webhook) URL takes: a message with the card."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": teams_card(message),
            }
        ],
    }


def _mrkdwn(text: str) -> str:
    # Slack's three control characters; everything else is shown as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """Block Kit for an incoming webhook; `text` is the notification's fallback."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": message.title[:SLACK_HEADER_LIMIT]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(message.summary)}},
    ]
    if message.explanation:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _mrkdwn(message.explanation)}],
            }
        )
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_mrkdwn(f.label)}*\n{_mrkdwn(f.value)}"}
                    for f in message.facts[:SLACK_FIELDS_LIMIT]
                ],
            }
        )
    for section in message.sections:
        lines = "\n".join(f"• {_mrkdwn(line)}" for line in section.lines or ["Nothing."])
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(section.heading)}*\n{lines}"[:3000]},
            }
        )
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.link_text},
                        "url": message.link,
                    }
                ],
            }
        )
    return {"text": f"{message.title}: {message.summary}", "blocks": blocks}


def webhook_payload(message: Message, idempotency_key: str) -> dict[str, Any]:
    """The generic webhook's JSON body (docs/alerts.md lists its fields)."""
    body = message.model_dump(mode="json", exclude={"link_text"})
    body["facts"] = {fact.label: fact.value for fact in message.facts}
    body["idempotency_key"] = idempotency_key
    return body


def email_message(
    message: Message, *, sender: str, recipients: list[str], idempotency_key: str
) -> EmailMessage:
    """A multipart e-mail: plain text first, HTML as the alternative; the Message-ID is the
    idempotency key, so a mail client or archive can tell a repeat from a new message."""
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Message-ID"] = f"<{idempotency_key}@northstar.alerts>"
    mail["X-Northstar-Idempotency-Key"] = idempotency_key
    text = "\n".join(_text_lines(message))
    if message.link:
        text += f"\n\n{message.link_text}: {message.link}"
    mail.set_content(text + "\n")
    mail.add_alternative(_html(message), subtype="html")
    if message.attachment:
        mail.add_attachment(
            message.attachment.text.encode("utf-8"),
            maintype=message.attachment.content_type.split("/")[0],
            subtype=message.attachment.content_type.split("/")[1],
            filename=message.attachment.filename,
        )
    return mail


def _html(message: Message) -> str:
    e = html.escape
    parts = [f"<h2>{e(message.title)}</h2>", f"<p>{e(message.summary)}</p>"]
    if message.explanation:
        parts.append(f"<p><em>{e(message.explanation)}</em></p>")
    if message.facts:
        rows = "".join(
            f"<tr><th align='left'>{e(f.label)}</th><td>{e(f.value)}</td></tr>"
            for f in message.facts
        )
        parts.append(f"<table>{rows}</table>")
    for section in message.sections:
        items = "".join(f"<li>{e(line)}</li>" for line in section.lines or ["Nothing."])
        parts.append(f"<h3>{e(section.heading)}</h3><ul>{items}</ul>")
    if message.link:
        parts.append(f'<p><a href="{e(message.link)}">{e(message.link_text)}</a></p>')
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"
