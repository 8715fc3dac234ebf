"""Push: a PSA that tells Northstar what changed, instead of waiting to be asked.

A connector whose PSA can call back (ConnectWise callbacks, Autotask webhooks) implements
`Pushable` next to `Connector`. The app owns everything else: the receiver route, the
per-source secret, replay detection, debouncing and the fallback to polling.

What the app relies on:
- `subscribe` registers Northstar's receiver URL with the PSA, for every entity the
  connector can be told about, and answers what it registered (kept by the app, secret
  encrypted). It is idempotent for the same URL: subscriptions of that URL already in the
  PSA are reused, not duplicated.
- `unsubscribe` removes exactly the subscriptions given (and only those: never a guess). A
  subscription the PSA no longer has is not an error.
- The app checks the receiver URL's token (derived from the source's push secret) for
  every PSA before the body is read; `parse_delivery` adds the PSA's own proof where it
  has one (Autotask's signature; ConnectWise's callbacks carry none worth checking).
- `parse_delivery` authenticates one delivery and says what it announces. It never trusts
  the payload's values beyond the record's id and what happened to it: the app re-reads
  the record through `read_records`. A delivery it cannot authenticate raises
  `DeliveryRefused`; one for an entity it does not read answers no notices.
- `read_records` reads the current state of the given records of one stream, through the
  same requests and enrichment as the stream's own pages, in pages of the stream's usual
  size. A record absent from every page no longer exists in the PSA (or cannot be read):
  the app deletes its fact only for a delivery that announced a deletion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from connectors.sdk.contract import Page
from connectors.sdk.facts import FactType


class PushAction(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class PushNotice:
    """One record a delivery says changed: which stream reads it, its id, what happened."""

    stream: str
    record_id: str
    action: PushAction


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one authenticated delivery announces.

    `key` identifies the delivery itself (the PSA's delivery id, or a digest of the body
    when the PSA sends none), so a replay of it is recognised and processed once.
    """

    key: str
    notices: tuple[PushNotice, ...]
    # The PSA says it switched this registration off (Autotask calls a webhook's
    # DeactivationUrl): the app registers again.
    deactivated: bool = False


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """One registration in the PSA: the PSA's own id for it and the entity it covers."""

    remote_id: str
    entity: str


class DeliveryRefused(Exception):
    """A delivery that cannot be shown to come from the PSA (no or wrong signature, wrong
    token): answered 401, nothing in it is acted on. The message is for the log."""


@runtime_checkable
class Pushable(Protocol):
    """A connector whose PSA can push changes (see the module docstring)."""

    # The streams a delivery can name, with the fact type each stores its records as (what
    # is deleted when the PSA confirms a record is gone).
    push_streams: ClassVar[Mapping[str, FactType]]

    async def subscribe(self, receiver_url: str, secret: str) -> list[PushSubscription]:
        """Register `receiver_url` for every entity this connector can be told about.

        `secret` is the source's push secret (at most 64 characters): a PSA that signs its
        deliveries (Autotask) is given it as the signing key; one that does not
        (ConnectWise) is given a URL that already carries a token derived from it.
        """

    async def unsubscribe(self, subscriptions: Sequence[PushSubscription]) -> None:
        """Remove these subscriptions from the PSA (those already gone are skipped)."""

    def parse_delivery(
        self,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        secret: str,
    ) -> Delivery:
        """Authenticate one delivery and say what it announces; `DeliveryRefused` if it
        cannot be authenticated, `ValueError` if it is not a delivery at all."""

    def read_records(self, stream: str, record_ids: Sequence[str]) -> AsyncIterator[Page]:
        """The current records of `record_ids` in `stream`, as that stream's pages.

        Each page's `seen_ids` lists the requested ids the PSA answered (every record of
        the page, as `str`); a page may set `warnings`; its `cursor` is `{}` (it moves no
        stream's cursor). An id the PSA's successful answers did not include does not
        exist there: the same proof an id sweep acts on. A failed request raises the
        errors of `connectors.sdk.errors`, and nothing is concluded from it.
        """
