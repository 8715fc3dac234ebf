"""What every `northstar` command shares: its consoles, its settings (checked, and the
database they name checked too), and one clear line instead of a traceback for a problem
with either.

Exit codes: 0 done; 1 the work failed (a sync in part or whole, a health check); 2 a
problem with the settings, the database or the command's input; 3 busy (another process
syncs that source); 130 stopped with Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Literal, NoReturn

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.database_setup import DatabaseProblem, describe_database_error, prepare_database
from app.settings import Settings, get_settings

EXIT_CODES = (
    "Exit codes: 0 done; 1 the work failed (a sync in part or whole, a health check); 2 a "
    "problem with the settings, the database or the command's input; 3 another process is "
    "syncing that source; 130 stopped with Ctrl+C."
)

# Outside a terminal (CI, logs) rich would wrap at 80 columns; tables need more.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
out = Console(width=None if sys.stdout.isatty() else 140)

# "none": the command does not use the database. "ready": it must exist, with the current
# schema. "create": migrate, which creates a missing PostgreSQL database.
DatabaseUse = Literal["none", "ready", "create"]


def say_problem(message: str) -> None:
    """One line on stderr, wrapped by the terminal rather than cut or split by rich."""
    console.print(Text(message, style="red"), soft_wrap=True)


def refuse(message: str) -> NoReturn:
    say_problem(message)
    raise SystemExit(2)


def load_settings(database: DatabaseUse = "ready") -> Settings:
    """The settings, or exit 2 with one line per problem, naming the variable to fix; then
    the database they name is checked for what the command needs."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        for problem in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in problem["loc"])
            where = f"NORTHSTAR_{field.upper()}: " if field else ""
            message = str(problem["msg"]).removeprefix("Value error, ")
            say_problem(f"Settings problem: {where}{message}")
        raise SystemExit(2) from None
    if database != "none":
        try:
            done = prepare_database(
                settings.database_url,
                create_missing=database == "create",
                expect_schema=database == "ready",
            )
        except DatabaseProblem as problem:
            refuse(problem.message)
        for line in done:
            console.print(line, highlight=False)
    return settings


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; a database that stops answering midway is one line and exit 2."""
    try:
        return func(args)
    except DatabaseProblem as problem:
        say_problem(problem.message)
        return 2
    except DBAPIError as exc:
        refused = getattr(exc.orig, "sqlstate", None) == "42501"
        if not isinstance(exc, OperationalError | InterfaceError) and not refused:
            raise
        try:
            url = get_settings().database_url
        except ValidationError:
            raise exc from None
        say_problem(describe_database_error(exc, url))
        return 2
    except KeyboardInterrupt:
        console.print("Stopped.")
        return 130
