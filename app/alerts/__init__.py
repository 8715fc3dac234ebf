"""Alerts: channels (Teams, Slack, e-mail, signed webhook), rules, events, an outbox of
deliveries, weekly digests and the quarterly review (docs/alerts.md)."""
