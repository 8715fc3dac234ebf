"""`northstar user create|list|disable|enable|reset-password|set-role`, as a person runs
them: passwords piped in or asked twice, clear messages and exit 2 for bad input."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from people_helpers import EMAILS, PASSWORDS, People, sign_in, signed_in_as

from app.cli import main
from app.people.models import User
from app.people.principal import Role
from app.people.sessions import SESSION_COOKIE
from app.settings import Settings, get_settings

NEW_PASSWORD = "a brand new passphrase 6e"


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NORTHSTAR_DEV_KEY_FILE", str(settings.dev_key_file))
    monkeypatch.setenv("NORTHSTAR_LOG_FORMAT", "json")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_create_then_list_shows_people_and_never_a_hash(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        monkeypatch,
        *("user", "create", "--email", " Ana@Example.COM ", "--name", "Ana  Costa"),
        *("--role", "owner", "--password-stdin"),
        stdin="correct horse battery staple\n",
    )
    assert code == 0
    assert "Created Ana Costa <ana@example.com> as owner" in capsys.readouterr().err

    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ana@example.com" in listing and "owner" in listing and "active" in listing
    assert "$argon2" not in listing and "correct horse" not in listing


def test_a_password_is_asked_twice_on_a_terminal(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["first passphrase here", "second passphrase here"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))

    argv = ["user", "create", "--email", "sam@example.com", "--name", "Sam", "--role", "editor"]
    assert main(argv) == 2
    assert "The two passwords differ" in capsys.readouterr().err

    answers = iter(["same passphrase twice", "same passphrase twice"])
    assert main(argv) == 0
    assert main(["user", "list"]) == 0
    assert "sam@example.com" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stdin", "words"),
    [
        (["--email", "x@example.com", "--role", "viewer"], "short pass\n", "needs at least 12"),
        (["--email", "not-an-address", "--role", "viewer"], "long enough pass\n", "not an e-mail"),
        (["--email", "x@example.com", "--role", "viewer"], "x@example.com\n", "must not be"),
        (["--email", "x@example.com", "--role", "viewer"], "", "nothing came on stdin"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_a_reason(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    words: str,
) -> None:
    code = run(monkeypatch, "user", "create", "--name", "X", *argv, "--password-stdin", stdin=stdin)
    assert code == 2
    assert words in capsys.readouterr().err
    assert main(["user", "list"]) == 0
    assert "x@example.com" not in capsys.readouterr().out  # nothing was created


def test_a_role_that_does_not_exist_is_refused_by_the_parser(cli_env: None) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["user", "create", "--email", "a@example.com", "--name", "A", "--role", "admin"])
    assert exit_.value.code == 2


def test_a_taken_address_and_an_unknown_person_are_refused(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ("user", "create", "--name", "Ana", "--role", "viewer", "--password-stdin")
    assert run(monkeypatch, *create, "--email", "ana@example.com", stdin="long enough pass\n") == 0
    capsys.readouterr()
    assert run(monkeypatch, *create, "--email", "ANA@example.com", stdin="long enough pass\n") == 2
    assert "already a person with the e-mail address 'ana@example.com'" in capsys.readouterr().err

    for command in ("disable", "enable"):
        assert main(["user", command, "--email", "nobody@example.com"]) == 2
        assert "There is no person with the e-mail address" in capsys.readouterr().err
    assert (
        run(
            monkeypatch,
            *("user", "reset-password", "--email", "nobody@example.com", "--password-stdin"),
            stdin=NEW_PASSWORD + "\n",
        )
        == 2
    )
    assert "There is no person" in capsys.readouterr().err


def test_disable_enable_and_reset_password_act_on_sign_in_and_sessions(
    cli_env: None,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    email = EMAILS[Role.EDITOR]
    browser = people.client
    signed_in_as(browser, Role.EDITOR)
    assert browser.get("/kpis").status_code == 200

    assert main(["user", "disable", "--email", email.upper()]) == 0
    assert "1 open session ended" in capsys.readouterr().err
    ended = browser.get("/kpis")
    assert ended.status_code == 401 and "signed out" in ended.text
    assert sign_in(people.client_from(), email, PASSWORDS[Role.EDITOR]).status_code == 401
    assert main(["user", "list"]) == 0
    assert "disabled" in capsys.readouterr().out

    assert main(["user", "enable", "--email", email]) == 0
    fresh = people.client_from()
    signed_in_as(fresh, Role.EDITOR)
    code = run(
        monkeypatch,
        *("user", "reset-password", "--email", email, "--password-stdin"),
        stdin=NEW_PASSWORD + "\n",
    )
    assert code == 0 and "1 open session ended" in capsys.readouterr().err
    assert fresh.get("/kpis").status_code == 401
    assert sign_in(people.client_from(), email, PASSWORDS[Role.EDITOR]).status_code == 401
    again = people.client_from()
    assert sign_in(again, email, NEW_PASSWORD).status_code == 303
    assert again.cookies.get(SESSION_COOKIE)

    assert main(["user", "set-role", "--email", email, "--role", "viewer"]) == 0
    with people.db.session() as session:
        assert session.query(User).filter_by(email=email).one().role == "viewer"
