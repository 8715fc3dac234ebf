"""Names, e-mail addresses and websites in a form two PSAs' spellings of one business share."""

from __future__ import annotations

import re
import unicodedata

# Words that say what legal form a company has, not which company it is: "Acme Dental, Inc."
# and "Acme Dental LLC" are the same business.
LEGAL_SUFFIXES = frozenset(
    {
        "ag", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated",
        "limited", "llc", "llp", "lp", "ltd", "nv", "plc", "pllc", "pty", "sa", "sarl", "sas",
        "srl",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case without accents: "Café Zürich" → "cafe zurich" (for search and matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_words(name: str, *, company: bool) -> list[str]:
    """The words of a name, folded, punctuation dropped ("&" read as "and"); for a company,
    legal suffixes dropped too (unless the name is nothing else)."""
    words = [w for w in _NOT_WORD.split(fold(name).replace("&", " and ")) if w]
    if company:
        # "L.L.C." splits into single letters: join runs of them before looking up suffixes.
        joined: list[str] = []
        for word in words:
            if len(word) == 1 and joined and len(joined[-1]) < 4 and joined[-1].isalpha():
                joined[-1] += word
            else:
                joined.append(word)
        kept = [w for w in joined if w not in LEGAL_SUFFIXES]
        words = kept or joined
    return words


def normal_name(name: str, *, company: bool) -> str:
    return " ".join(name_words(name, company=company))


def normal_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return fold(email.strip())


def email_domain(email: str | None) -> str | None:
    address = normal_email(email)
    return None if address is None else address.rsplit("@", 1)[1]


def website_host(website: str | None) -> str | None:
    """`https://www.acme.example/contact` → `acme.example`."""
    if not website or not website.strip():
        return None
    host = fold(website.strip())
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host or None
