"""`northstar user`: the people who sign in to the pages.

    northstar user create --email E --name N --role owner|editor|viewer
    northstar user list
    northstar user disable --email E      (ends their sessions)
    northstar user enable --email E
    northstar user reset-password --email E   (ends their sessions)
    northstar user set-role --email E --role editor

A password is asked twice on a terminal (never echoed), or read from the first line of
standard input with `--password-stdin` (for scripts); it is never a command-line argument,
which other users of the machine could read in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from rich.markup import escape

from app.cli_support import console, load_settings, out, say_problem
from app.people.passwords import MIN_LENGTH

ROLES = ("owner", "editor", "viewer")
EXIT_REFUSED = 2


class PasswordInputProblem(Exception):
    """The password could not be read, or its two entries differ."""


def read_password(args: argparse.Namespace, *, prompt: str = "Password") -> str:
    """The new password: the first line of stdin with --password-stdin, else asked twice
    on the terminal."""
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise PasswordInputProblem("--password-stdin was given but nothing came on stdin.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise PasswordInputProblem(
            "There is no terminal to ask the password on: pipe it in and add --password-stdin."
        )
    first = getpass.getpass(f"{prompt} ({MIN_LENGTH} characters or more): ")
    second = getpass.getpass(f"{prompt} again: ")
    if first != second:
        raise PasswordInputProblem("The two passwords differ; nothing was changed.")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    from app.db import Database
    from app.errors import NorthstarError

    settings = load_settings()
    action: Callable[[Any, argparse.Namespace], int] = ACTIONS[args.user_command]
    # The password first: a typo in it must not leave a half-done change behind.
    if args.user_command in ("create", "reset-password"):
        try:
            args.password = read_password(args)
        except PasswordInputProblem as problem:
            say_problem(str(problem))
            return EXIT_REFUSED
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            return action(session, args)
    except NorthstarError as problem:
        say_problem(problem.message)
        return EXIT_REFUSED
    finally:
        db.dispose()


def _create(session: Any, args: argparse.Namespace) -> int:
    from app.people.users import create_user, parse_role

    user = create_user(
        session,
        email=args.email,
        name=args.name,
        role=parse_role(args.role),
        password=args.password,
    )
    console.print(
        f"Created {escape(user.name)} <{escape(user.email)}> as {user.role}. They sign in on "
        "Northstar's page with this e-mail address and the password you chose."
    )
    return 0


def _list(session: Any, _args: argparse.Namespace) -> int:
    from app.people.users import list_users

    users = list_users(session)
    if not users:
        console.print("No one yet: add the first owner with `northstar user create --role owner`.")
    for user in users:
        state = "disabled" if user.disabled_at else "active"
        out.print(
            f"{escape(user.email)}  {user.role:<6}  {state:<8}  {escape(user.name)}",
            highlight=False,
        )
    return 0


def _disable(session: Any, args: argparse.Namespace) -> int:
    from app.people.users import disable_user

    user, ended = disable_user(session, args.email)
    console.print(
        f"{escape(user.name)} <{escape(user.email)}> can no longer sign in; "
        f"{_sessions(ended)} ended."
    )
    return 0


def _enable(session: Any, args: argparse.Namespace) -> int:
    from app.people.users import enable_user

    user = enable_user(session, args.email)
    console.print(f"{escape(user.name)} <{escape(user.email)}> can sign in again.")
    return 0


def _reset_password(session: Any, args: argparse.Namespace) -> int:
    from app.people.users import reset_password

    user, ended = reset_password(session, args.email, args.password)
    console.print(
        f"New password set for {escape(user.name)} <{escape(user.email)}>; "
        f"{_sessions(ended)} ended (they sign in again with the new one)."
    )
    return 0


def _set_role(session: Any, args: argparse.Namespace) -> int:
    from app.people.users import parse_role, set_role

    user = set_role(session, args.email, parse_role(args.role))
    console.print(f"{escape(user.name)} <{escape(user.email)}> is now {user.role}.")
    return 0


def _sessions(count: int) -> str:
    return "1 open session" if count == 1 else f"{count} open sessions"


ACTIONS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "create": _create,
    "list": _list,
    "disable": _disable,
    "enable": _enable,
    "reset-password": _reset_password,
    "set-role": _set_role,
}


def add_user_commands(user: argparse.ArgumentParser) -> None:
    """The subcommands of `northstar user` (registered by app.cli.build_parser)."""
    commands = user.add_subparsers(dest="user_command", required=True)

    def password_input(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input instead of asking.",
        )

    create = commands.add_parser(
        "create", help="Add a person who signs in with an e-mail address and a password."
    )
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True, help="As shown on check-ins and stories.")
    create.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="owner: everything, including sources, people and keys; editor: the plan, "
        "check-ins, observations and stories; viewer: reads.",
    )
    password_input(create)
    commands.add_parser("list", help="List people, their role and whether they may sign in.")
    for name, words in (
        ("disable", "Stop someone signing in and end their open sessions."),
        ("enable", "Let a disabled person sign in again."),
    ):
        commands.add_parser(name, help=words).add_argument("--email", required=True)
    reset = commands.add_parser(
        "reset-password", help="Give someone a new password and end their open sessions."
    )
    reset.add_argument("--email", required=True)
    password_input(reset)
    role = commands.add_parser("set-role", help="Change someone's role.")
    role.add_argument("--email", required=True)
    role.add_argument("--role", required=True, choices=ROLES)
