"""Failed sign-ins are throttled per client address (with wrong API keys) and per e-mail
address (so one account cannot be guessed at from many addresses); the refusal says how
long to wait, and is the same whether the address has an account or not."""

from __future__ import annotations

from leak_guard import LOG_COLLECTOR
from people_helpers import EMAILS, PASSWORDS, People, sign_in

from app.people.principal import Role

WRONG = "wrong passphrase 3a3a"


def test_one_address_gets_its_failures_then_waits(people: People) -> None:
    limit = people.context.settings.auth_failure_limit
    guesser = people.client_from("203.0.113.9")
    for n in range(limit):  # a different address each time: only the client's count fills
        assert sign_in(guesser, f"guess{n}@example.com", WRONG).status_code == 401

    refused = sign_in(guesser, EMAILS[Role.EDITOR], PASSWORDS[Role.EDITOR])  # even right
    elsewhere = sign_in(
        people.client_from("198.51.100.4"), EMAILS[Role.EDITOR], PASSWORDS[Role.EDITOR]
    )

    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in refused.text
    assert elsewhere.status_code == 303


def test_one_account_gets_its_failures_from_any_number_of_addresses(people: People) -> None:
    limit = people.context.settings.sign_in_failures_per_email
    target = EMAILS[Role.OWNER]
    for n in range(limit):
        guesser = people.client_from(f"192.0.2.{n + 1}")
        assert sign_in(guesser, target, f"{WRONG}{n}").status_code == 401

    owner = people.client_from("198.51.100.77")
    refused = sign_in(owner, target.upper(), PASSWORDS[Role.OWNER])
    unknown = [sign_in(people.client_from("192.0.2.99"), "nobody@example.com", WRONG)]
    unknown += [sign_in(people.client_from("192.0.2.99"), "nobody@example.com", WRONG)]

    assert refused.status_code == 429 and "Retry-After" in refused.headers
    # Another account is not held up by it.
    assert sign_in(owner, EMAILS[Role.EDITOR], PASSWORDS[Role.EDITOR]).status_code == 303
    assert [a.status_code for a in unknown] == [401, 401]


def test_an_unknown_address_is_throttled_like_a_known_one(people: People) -> None:
    limit = people.context.settings.sign_in_failures_per_email
    answers = {}
    for email in (EMAILS[Role.VIEWER], "nobody@example.com"):
        for n in range(limit):
            sign_in(people.client_from(f"10.1.{n}.1"), email, WRONG)
        answers[email] = sign_in(people.client_from("10.9.9.9"), email, WRONG)

    assert {a.status_code for a in answers.values()} == {429}  # nothing tells them apart


def test_failures_are_logged_without_the_password_or_an_unknown_address(
    people: People,
) -> None:
    LOG_COLLECTOR.lines.clear()
    sign_in(people.client, "typed-my-password-here@example.com", WRONG)
    sign_in(people.client, EMAILS[Role.EDITOR], WRONG)

    refused = [line for line in LOG_COLLECTOR.lines if "sign_in_refused" in line]
    assert len(refused) == 2
    assert not [line for line in refused if WRONG in line or "typed-my-password" in line]
    assert '"user_id": null' in refused[0] and '"user_id": null' not in refused[1]
