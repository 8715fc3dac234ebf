"""A recursive-descent parser for the subset of OData v4 `$filter` the feed supports.

Grammar (lowest precedence first)::

    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | compare
    compare   := operand (("eq"|"ne"|"gt"|"ge"|"lt"|"le") operand)?
    operand   := "(" or_expr ")" | function | literal | property
    function  := name "(" or_expr ("," or_expr)* ")"

Literals: `'text'` (with `''` for a quote), integers, decimals, `null`, `true`, `false`,
dates `2025-01-01` and date-times `2025-01-01T00:00:00Z` (an offset or `Z` is required;
the instant is kept in UTC). The parser only builds a tree; `query.py` checks names and
types and turns it into SQL.

A filter is refused (400, saying the limit) beyond MAX_DEPTH levels of nesting (brackets,
`not`, function calls) or MAX_CONDITIONS conditions: no report needs more, and the parser,
the SQL it becomes and the database all work recursively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.bi.odata.errors import bad_query

INT64_MAX = 2**63 - 1
MAX_DEPTH = 32
MAX_CONDITIONS = 500
# A date-time is compared in UTC; a day of margin keeps every conversion within years 1-9999.
EARLIEST_INSTANT = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_INSTANT = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = {"year": 1, "month": 1, "day": 1, "contains": 2, "startswith": 2, "endswith": 2}

LiteralValue = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class Literal:
    value: LiteralValue


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Literal | Property | Call | Compare | BoolOp | Not

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; anything unrecognised is a 400 naming the position."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            snippet = text[pos : pos + 15]
            raise bad_query(f"$filter: cannot read '{snippet}' at position {pos + 1}.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _literal(token: Token) -> Literal:
    text = token.text
    try:
        if token.kind == "string":
            return Literal(text[1:-1].replace("''", "'"))
        if token.kind == "date":
            return Literal(date.fromisoformat(text))
        if token.kind == "datetime":
            return Literal(_instant(datetime.fromisoformat(text.replace("Z", "+00:00")), text))
    except ValueError:
        raise bad_query(f"$filter: '{text}' is not a valid date or date-time.") from None
    if re.fullmatch(r"-?\d+", text):
        if abs(int(text)) > INT64_MAX:
            raise bad_query(f"$filter: the number {text} is too large.")
        return Literal(int(text))
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise bad_query(f"$filter: the number {text} is too large.")
    return Literal(value)


def _instant(value: datetime, text: str) -> datetime:
    """`value` in UTC, refused when so close to year 1 or 9999 that it cannot be compared."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_INSTANT <= utc <= LATEST_INSTANT:
        raise bad_query(
            f"$filter: '{text}' is too close to the ends of the calendar to compare; use a "
            "date-time between 0001-01-02 and 9999-12-30."
        )
    return utc


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise bad_query(
                f"$filter is nested too deeply: at most {MAX_DEPTH} levels of brackets, "
                "'not' and functions. Write it with fewer brackets.",
                code="filter_too_complex",
            )

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def word(self) -> str | None:
        token = self.peek()
        return token.text.lower() if token and token.kind == "name" else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise bad_query("$filter ends too early: an operand or a closing ')' is missing.")
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise bad_query(
                f"$filter: expected '{text}' at position {token.pos + 1}, found '{token.text}'."
            )

    def parse(self) -> Node:
        if not self.tokens:
            raise bad_query("$filter is empty; leave it out to get every row.")
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise bad_query(
                f"$filter: unexpected '{extra.text}' at position {extra.pos + 1}; "
                "combine conditions with 'and' or 'or'."
            )
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.word() == "or":
            self.take()
            node = BoolOp("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.word() == "and":
            self.take()
            node = BoolOp("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.word() == "not":
            self.take()
            self.deeper()
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise bad_query(
                f"$filter is too long: at most {MAX_CONDITIONS} conditions. Split the "
                "report's filter, or filter on a broader property.",
                code="filter_too_complex",
            )
        left = self.operand()
        op = self.word()
        if op in COMPARISONS:
            self.take()
            return Compare(op, left, self.operand())
        return left

    def operand(self) -> Node:
        token = self.take()
        if token.text == "(":
            self.deeper()
            node = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in ("null", "true", "false"):
                return Literal(None if lowered == "null" else lowered == "true")
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                return self.call(token)
            if lowered in COMPARISONS or lowered in ("and", "or", "not"):
                raise bad_query(
                    f"$filter: '{token.text}' at position {token.pos + 1} needs an operand "
                    "before it."
                )
            return Property(token.text)
        if token.kind in ("string", "number", "date", "datetime"):
            return _literal(token)
        raise bad_query(f"$filter: unexpected '{token.text}' at position {token.pos + 1}.")

    def call(self, name: Token) -> Node:
        function = name.text.lower()
        if function not in FUNCTIONS:
            supported = ", ".join(sorted(FUNCTIONS))
            raise bad_query(
                f"$filter: the function '{name.text}' is not supported (supported: {supported})."
            )
        self.expect("(")
        self.deeper()
        args = [self.or_expr()]
        while (token := self.peek()) is not None and token.text == ",":
            self.take()
            args.append(self.or_expr())
        self.expect(")")
        self.depth -= 1
        if len(args) != FUNCTIONS[function]:
            raise bad_query(
                f"$filter: {function}() takes {FUNCTIONS[function]} argument(s), got {len(args)}."
            )
        return Call(function, tuple(args))


def parse_filter(text: str) -> Node:
    """The tree of a `$filter` expression; raises a 400 `ODataError` when it is malformed."""
    return _Parser(text).parse()
