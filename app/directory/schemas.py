"""The JSON shapes of the directories and links API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.directory.entries import Entry
from app.directory.suggest import Suggestion
from app.inputs import Id

Kind = Literal["client", "technician"]


class LinkedRefOut(BaseModel):
    id: int
    name: str
    scope: str = Field(description="What `client=` or `technician=` takes: `linked:<id>`.")


class EntryOut(BaseModel):
    id: int = Field(description="The id `client=` / `technician=` and breakdowns use.")
    name: str
    active: bool
    source_id: int = Field(description="The PSA connection (GET /api/v1/sources).")
    source_name: str
    external_id: str = Field(description="The PSA's own id.")
    email: str | None = Field(description="Where the PSA gives one.")
    domain: str | None = Field(description="The e-mail's (or website's) domain, where known.")
    website: str | None = Field(description="Where the PSA gives one.")
    linked: LinkedRefOut | None = Field(
        description="The linked client or technician this one belongs to, if any."
    )

    @classmethod
    def of(cls, entry: Entry) -> EntryOut:
        linked = entry.linked
        return cls(
            id=entry.id,
            name=entry.name,
            active=entry.active,
            source_id=entry.source_id,
            source_name=entry.source_name,
            external_id=entry.external_id,
            email=entry.email,
            domain=entry.domain,
            website=entry.website,
            linked=None
            if linked is None
            else LinkedRefOut(id=linked.id, name=linked.name, scope=linked.scope),
        )

    def flat(self) -> dict[str, object]:
        """One CSV row."""
        row = self.model_dump(exclude={"linked"})
        row["linked_id"] = self.linked.id if self.linked else None
        row["linked_name"] = self.linked.name if self.linked else None
        row["linked_scope"] = self.linked.scope if self.linked else None
        return row


ENTRY_COLUMNS = [
    "id",
    "name",
    "active",
    "source_id",
    "source_name",
    "external_id",
    "email",
    "domain",
    "website",
    "linked_id",
    "linked_name",
    "linked_scope",
]


class EntryPage(BaseModel):
    total: int = Field(description="How many match, over every page.")
    limit: int
    offset: int
    items: list[EntryOut]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    members: list[Id] = Field(
        max_length=50,
        description="Two or more client (or technician) ids, from GET /api/v1/clients "
        "(/technicians); usually one per PSA.",
    )
    name: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="Default: the first member's name.",
    )


class LinkPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: Id = Field(description="A client (or technician) id to add to the link.")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    first: Id
    second: Id


class RejectOut(BaseModel):
    kind: str
    first: int
    second: int
    decided_by: str
    decided_at: datetime


class LinkOut(BaseModel):
    id: int
    kind: str
    name: str
    scope: str = Field(description="What `client=` or `technician=` takes: `linked:<id>`.")
    members: list[EntryOut]
    created_by: str
    created_at: datetime
    updated_at: datetime


class EvidenceOut(BaseModel):
    kind: str
    description: str
    weight: float
    value: str = Field(description="What the two have in common.")


class SuggestionOut(BaseModel):
    score: float = Field(description="0 to 1: how sure Northstar is that the two are one.")
    above_threshold: bool
    first: EntryOut
    second: EntryOut
    evidence: list[EvidenceOut]

    @classmethod
    def of(
        cls, suggestion: Suggestion, entries: dict[int, Entry], threshold: float
    ) -> SuggestionOut:
        return cls(
            score=suggestion.score,
            above_threshold=suggestion.score >= threshold,
            first=EntryOut.of(entries[suggestion.first.id]),
            second=EntryOut.of(entries[suggestion.second.id]),
            evidence=[
                EvidenceOut(kind=e.key, description=e.description, weight=e.weight, value=e.value)
                for e in suggestion.evidence
            ],
        )


class EvidenceKindOut(BaseModel):
    kind: str
    description: str
    weight: float


class SuggestionsOut(BaseModel):
    kind: str
    threshold: float = Field(description="Suggestions scoring this or more are worth linking.")
    evidence_kinds: list[EvidenceKindOut] = Field(description="What counts, and how much.")
    suggestions: list[SuggestionOut]
