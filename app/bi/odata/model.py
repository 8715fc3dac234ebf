"""The feed's data model, as data: entity sets, their properties and navigation properties.

Each set names its rows' source (a table or a query), its key, and its properties: an OData
name, an EDM type and the SQL expression behind it. Only declared properties can be
filtered, selected or sorted on, so a query can never reach a column that is not listed.

A few sets depend on the moment they are read (the KPI values carry today's coverage, the
goals today's alignment): those declare their properties with placeholder expressions and
a `build` function that makes the set for one request (`EntitySet.bound`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, FromClause, null
from sqlalchemy.orm import Session

NAMESPACE = "Northstar"


@dataclass(frozen=True)
class Prop:
    """One property: `name` in OData, `edm` its EDM type, `expr` the SQL behind it."""

    name: str
    edm: str
    expr: ColumnElement[Any]
    nullable: bool = True


def declared(name: str, edm: str, nullable: bool = True) -> Prop:
    """A property of a set built per request: its expression comes with `build`."""
    return Prop(name, edm, null(), nullable)


@dataclass(frozen=True)
class Nav:
    """A navigation property: `name` leads to the rows of set `target` whose property
    `remote` equals this row's `local` (one row, or with `collection` every such row)."""

    name: str
    target: str
    local: str
    remote: str = "Id"
    collection: bool = False


@dataclass(frozen=True)
class Reading:
    """What a set built per request may depend on: the database session, the reporting
    time zone and today in it."""

    session: Session
    tz: tzinfo
    today: date

    @property
    def dialect(self) -> str:
        bind = self.session.get_bind()
        return str(bind.dialect.name)


@dataclass(frozen=True)
class EntitySet:
    """A read-only entity set: `name` is the URL segment, `type_name` the entity type."""

    name: str
    type_name: str
    table: FromClause | None
    key: tuple[str, ...]
    props: tuple[Prop, ...]
    description: str
    navs: tuple[Nav, ...] = ()
    build: Callable[[Reading], EntitySet] | None = None

    def prop(self, name: str) -> Prop | None:
        """The property called `name` (case-sensitive, as OData is), or None."""
        return next((p for p in self.props if p.name == name), None)

    def nav(self, name: str) -> Nav | None:
        return next((n for n in self.navs if n.name == name), None)

    def bound(self, reading: Reading) -> EntitySet:
        """The set ready to query: itself, or for a set built per request, the one built
        for `reading` (same names and types; checked, so the metadata never lies)."""
        if self.build is None:
            return self
        built = self.build(reading)
        assert [(p.name, p.edm) for p in built.props] == [(p.name, p.edm) for p in self.props]
        return replace(built, navs=self.navs, build=None)


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))
