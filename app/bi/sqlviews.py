"""The read-only PostgreSQL login for BI tools, limited to the `bi_*` views.

The views themselves are created by migration 0005 (PostgreSQL only). A view runs with its
owner's rights, so SELECT on the views is all the BI login needs: it gets no right on any
table, and so cannot read API keys, encrypted PSA credentials or anything else, nor write.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from app.errors import InvalidInput, Unsupported

DEFAULT_ROLE = "northstar_bi"
VIEW_PREFIX = "bi_"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class ReadonlyLogin:
    """What to paste into Metabase or Grafana. `password` is the BI login's own."""

    host: str
    port: int
    database: str
    user: str
    password: str
    views: tuple[str, ...]
    # True where PUBLIC may still create tables in the schema (PostgreSQL before 15): the
    # login then cannot change Northstar's data, but could add tables of its own.
    can_create_tables: bool = False


def bi_views(conn: Connection) -> list[str]:
    """The names of the `bi_*` views in the current schema, sorted."""
    rows = conn.execute(
        text(
            "SELECT viewname FROM pg_views WHERE schemaname = current_schema() "
            "AND viewname LIKE 'bi\\_%' ORDER BY viewname"
        )
    )
    return [str(name) for name in rows.scalars()]


def _literal(value: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings, the default since 9.1)."""
    if "\x00" in value:
        raise InvalidInput("The password cannot contain a NUL character.", code="bad_password")
    return "'" + value.replace("'", "''") + "'"


def create_readonly_user(
    engine: Engine, name: str = DEFAULT_ROLE, password: str | None = None
) -> ReadonlyLogin:
    """Create the login role `name`, or update its password if it exists, and grant it
    SELECT on every `bi_*` view (and CONNECT and schema USAGE), revoking any table right it
    had. Idempotent: run it again after an upgrade to grant new views. Without `password`,
    a random one is made (and returned, so it can be shown once).

    Raises `Unsupported` on anything but PostgreSQL, and `InvalidInput` for a role name
    that is not lower-case letters, digits and `_`, for an existing role that is the one
    connected, a superuser or owns tables (it must not lose its rights), or when no view
    exists (migrate first).
    """
    if engine.dialect.name != "postgresql":
        raise Unsupported(
            "SQL views for BI tools are a PostgreSQL feature; this Northstar uses "
            f"{engine.dialect.name}. Use the CSV exports or /metrics instead (docs/bi.md).",
            code="views_need_postgresql",
        )
    if not ROLE_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a usable role name: use lower-case letters, digits and _, "
            "starting with a letter or _ (at most 63 characters).",
            code="bad_role_name",
        )
    password = password or secrets.token_urlsafe(24)
    url = engine.url
    with engine.begin() as conn:
        views = bi_views(conn)
        if not views:
            raise InvalidInput(
                "There are no bi_* views in this database yet: run `northstar migrate` first.",
                code="views_missing",
            )
        database = str(conn.execute(text("SELECT current_database()")).scalar_one())
        schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        existing = conn.execute(
            text(
                "SELECT r.rolsuper OR r.rolname = current_user OR EXISTS "
                "(SELECT 1 FROM pg_class c WHERE c.relowner = r.oid) "
                "FROM pg_roles r WHERE r.rolname = :name"
            ),
            {"name": name},
        ).first()
        if existing is not None and existing[0]:
            raise InvalidInput(
                f"The role {name!r} is Northstar's own, a superuser or owns tables, so it "
                "cannot become the read-only BI login. Choose another --name.",
                code="role_not_readonly",
            )
        verb = "ALTER" if existing is not None else "CREATE"
        conn.execute(
            text(
                f'{verb} ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                f"PASSWORD {_literal(password)}"
            )
        )
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{name}"'))
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{name}"'))
        for view in views:
            conn.execute(text(f'GRANT SELECT ON "{schema}"."{view}" TO "{name}"'))
        can_create = bool(
            conn.execute(
                text("SELECT has_schema_privilege(:name, :schema, 'CREATE')"),
                {"name": name, "schema": schema},
            ).scalar_one()
        )
    return ReadonlyLogin(
        host=url.host or "localhost",
        port=url.port or 5432,
        database=database,
        user=name,
        password=password,
        views=tuple(views),
        can_create_tables=can_create,
    )
