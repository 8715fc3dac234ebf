"""Suggested links: pairs of clients (or technicians) of different PSAs that look like one.

The evidence kinds and their weights are declared below as data. A pair's score is
1 − Π(1 − weight) over its evidence (independent hints: two weak ones make a stronger one),
so it lies in [0, 1). Pairs scoring at least `THRESHOLD` are the ones worth confirming;
weaker ones are listed too, below it. Nothing is ever linked without a person confirming.
Pairs already linked, or rejected before (`link_decisions`), are not suggested.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from app.directory.normalise import email_domain, name_words, normal_email, website_host


@dataclass(frozen=True, slots=True)
class EvidenceKind:
    key: str
    description: str
    weights: dict[str, float]  # by entity kind; a kind left out does not use this evidence


EVIDENCE: tuple[EvidenceKind, ...] = (
    EvidenceKind(
        "same_name",
        "Same name, ignoring case, accents, punctuation and legal forms (Inc, LLC, Ltd, GmbH)",
        {"client": 0.75, "technician": 0.55},  # two people can share a name
    ),
    EvidenceKind("same_email", "Same e-mail address", {"client": 0.9, "technician": 0.9}),
    # Technicians are left out: they share their employer's domain.
    EvidenceKind("same_email_domain", "Same e-mail domain", {"client": 0.5}),
    EvidenceKind("same_website", "Same website", {"client": 0.6}),
    EvidenceKind(
        "similar_name",
        "Names share most of their words",
        {"client": 0.3, "technician": 0.2},
    ),
)
EVIDENCE_BY_KEY = {e.key: e for e in EVIDENCE}
THRESHOLD = 0.7
# Two names are similar when their word sets overlap this much (Jaccard index).
SIMILAR_WORDS = 0.6
# A word held by more entities than this is too common to pair on ("dental", "group").
COMMON_WORD = 40
# Domains anyone can have an address at: the same one says nothing about the business.
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "gmx.de", "gmx.net", "googlemail.com", "hotmail.co.uk",
        "hotmail.com", "icloud.com", "live.com", "mail.com", "me.com", "msn.com",
        "outlook.com", "proton.me", "protonmail.com", "web.de", "yahoo.co.uk", "yahoo.com",
        "yandex.ru", "zoho.com",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """A client or technician row as the engine sees it."""

    id: int
    source_id: int
    name: str
    email: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    key: str
    description: str
    weight: float
    value: str  # what the two share


@dataclass(frozen=True, slots=True)
class Suggestion:
    first: Candidate
    second: Candidate
    score: float
    evidence: tuple[Evidence, ...]


def _keys(candidate: Candidate, kind: str) -> dict[str, str]:
    """The values a candidate can share with another, by evidence kind."""
    words = name_words(candidate.name, company=kind == "client")
    found = {"same_name": " ".join(words)}
    email = normal_email(candidate.email)
    if email:
        found["same_email"] = email
        domain = email_domain(email)
        if domain and domain not in FREE_MAIL_DOMAINS:
            found["same_email_domain"] = domain
    website = website_host(candidate.website)
    if website:
        found["same_website"] = website
    return {
        key: value for key, value in found.items() if value and kind in EVIDENCE_BY_KEY[key].weights
    }


def _similar(first: str, second: str) -> bool:
    a, b = set(first.split()), set(second.split())
    return a != b and len(a & b) / len(a | b) >= SIMILAR_WORDS


def suggest(
    candidates: list[Candidate],
    kind: str,
    *,
    skip: set[tuple[int, int]] | None = None,
) -> list[Suggestion]:
    """Every pair across different sources with some evidence, best first. `skip` holds the
    (lower id, higher id) pairs not to suggest."""
    skip = skip or set()
    keys = {c.id: _keys(c, kind) for c in candidates}
    by_id = {c.id: c for c in candidates}
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for candidate in candidates:
        for key, value in keys[candidate.id].items():
            holders[(key, value)].append(candidate.id)
        if "similar_name" in EVIDENCE_BY_KEY and kind in EVIDENCE_BY_KEY["similar_name"].weights:
            for word in set(keys[candidate.id].get("same_name", "").split()):
                holders[("word", word)].append(candidate.id)
    pairs: set[tuple[int, int]] = set()
    for (key, _), ids in holders.items():
        if key == "word" and len(ids) > COMMON_WORD:
            continue
        for a, b in combinations(sorted(set(ids)), 2):
            if by_id[a].source_id != by_id[b].source_id and (a, b) not in skip:
                pairs.add((a, b))
    suggestions = []
    for a, b in pairs:
        evidence = _evidence(keys[a], keys[b], kind)
        if not evidence:
            continue
        remaining = 1.0
        for item in evidence:
            remaining *= 1.0 - item.weight
        suggestions.append(Suggestion(by_id[a], by_id[b], round(1.0 - remaining, 4), evidence))
    suggestions.sort(key=lambda s: (-s.score, s.first.name.casefold(), s.first.id, s.second.id))
    return suggestions


def _evidence(first: dict[str, str], second: dict[str, str], kind: str) -> tuple[Evidence, ...]:
    found = []
    for evidence in EVIDENCE:
        weight = evidence.weights.get(kind)
        if weight is None:
            continue
        if evidence.key == "similar_name":
            a, b = first.get("same_name", ""), second.get("same_name", "")
            if a and b and _similar(a, b):
                found.append(Evidence(evidence.key, evidence.description, weight, f"{a} / {b}"))
        elif evidence.key in first and first[evidence.key] == second.get(evidence.key):
            value = first[evidence.key]
            found.append(Evidence(evidence.key, evidence.description, weight, value))
    return tuple(found)
