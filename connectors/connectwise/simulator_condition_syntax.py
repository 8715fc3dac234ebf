"""The grammar of ConnectWise `conditions` (reference §4): tokens and a recursive-descent
parser to `Comparison`/`Junction` trees; `simulator_conditions` gives them meaning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)|
    (?P<op><=|>=|!=|<>|=|<|>)|
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|
    (?P<datetime>\[[^\]]*\])|
    (?P<number>-?\d+(?:\.\d+)?(?![\w/]))|
    (?P<word>[A-Za-z_][\w/]*)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """A malformed conditions/fields/orderBy string; the message mimics ConnectWise's."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"Unexpected character at position {position} in conditions.")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass(frozen=True, slots=True)
class Comparison:
    path: str
    op: str  # = != < <= > >= like contains in (with "not " prefix for negated words)
    value: Any  # str, float, bool, None, datetime, or a tuple for `in`


@dataclass(frozen=True, slots=True)
class Junction:
    kind: str  # "and" | "or"
    parts: tuple[Node, ...]


Node = Comparison | Junction


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise QueryError("Conditions ended unexpectedly.")
        self.at += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self.at += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expression()
        if self.peek() is not None:
            raise QueryError(f"Unexpected '{self.peek().text}' in conditions.")  # type: ignore[union-attr]
        return node

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self.word("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.atom()]
        while self.word("and"):
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "lparen":
            node = self.expression()
            if self.take().kind != "rparen":
                raise QueryError("Missing ')' in conditions.")
            return node
        if token.kind != "word":
            raise QueryError(f"Expected a field name, not '{token.text}'.")
        path = token.text
        negated = self.word("not")
        if self.word("like", "contains"):
            op = self.tokens[self.at - 1].text.lower()
            value = self.literal()
            if not isinstance(value, str):
                raise QueryError(
                    f"'{op}' needs a string; String values should be enclosed "
                    "with double or single quotes."
                )
            return Comparison(path, ("not " if negated else "") + op, value)
        if self.word("in"):
            if self.take().kind != "lparen":
                raise QueryError("Expected '(' after in.")
            values = [self.literal()]
            while (following := self.take()).kind == "comma":
                values.append(self.literal())
            if following.kind != "rparen":
                raise QueryError("Expected ')' to close the in list.")
            return Comparison(path, ("not " if negated else "") + "in", tuple(values))
        if negated:
            raise QueryError("Expected like, contains or in after not.")
        operator = self.take()
        if operator.kind != "op":
            raise QueryError(f"Expected an operator after {path}, not '{operator.text}'.")
        op = "!=" if operator.text == "<>" else operator.text
        return Comparison(path, op, self.literal())

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text)
        if token.kind == "datetime":
            return parse_datetime_literal(token.text[1:-1])
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        if token.kind == "word" and token.text.lower() == "null":
            return None
        raise QueryError(
            "Expected a value. String values should be enclosed with double or single quotes; "
            "DateTime values should be enclosed in square brackets."
        )


def parse_datetime_literal(text: str) -> datetime:
    """`2025-01-01T00:00:00Z`, with or without zone or fractions (naive is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise QueryError(f"'{text}' is not a valid DateTime value.") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
