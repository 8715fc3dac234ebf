"""The owner's pages' shell: the document, its header and navigation, the sign-in form,
status badges and error pages. Server-rendered, readable without JavaScript, fine on a phone.

Every status is written in words as well as coloured, and every text from the database is
escaped. No script, and no `style` attribute: the pages' Content-Security-Policy allows the
one stylesheet below by its hash and nothing else (app.api.security_headers).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from app.people.principal import Person

STATUS_WORDS = {
    "not_started": "Not started",
    "achieved": "Achieved",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "missed": "Missed",
    "no_data": "No data yet",
}

# Inlined into every page: one request, and the page still reads without it.
STYLE = (Path(__file__).with_name("scorecard.css")).read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def moment_words(moment: datetime | None) -> str:
    """A UTC moment as the pages write it: 2026-12-02 19:07 UTC; "not yet" for none."""
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "not yet"


def status_badge(status: str) -> str:
    return f"<span class='status {escape(status)}'>{STATUS_WORDS.get(status, status)}</span>"


def header(
    heading: str,
    *,
    context: str = "",
    last_quarter: str | None = None,
    person: Person | None = None,
) -> str:
    """The dark bar on every signed-in page: what this page is, who is signed in, and
    where to go next."""
    review = (
        f"<a href='/reviews/{escape(last_quarter)}'>Review of {escape(last_quarter)}</a>"
        if last_quarter
        else ""
    )
    links = [
        "<a href='/'>Overview</a>",
        "<a href='/plan'>Plan</a>",
        "<a href='/kpis'>KPIs</a>",
        "<a href='/alerts'>Alerts</a>",
        review,
        "<a href='/api/v1/docs'>API</a>",
        "<a href='/people'>People</a>" if person is not None and person.is_owner else "",
        "<a href='/account'>My account</a>" if person and person.user_id is not None else "",
        "<form class='signout' method='post' action='/logout'>"
        f"{_form_token(person)}<button type='submit'>Sign out</button></form>",
    ]
    extra = f"<span class='context'>{escape(context)}</span>" if context else ""
    if person is not None:
        extra += f"<span class='context who'>{escape(person_words(person))}</span>"
    return (
        f"<header><h1>{escape(heading)}</h1>{extra}<nav aria-label='Pages'>"
        f"{' · '.join(link for link in links if link)}</nav></header>"
    )


def person_words(person: Person) -> str:
    """Who is signed in, as the header says it: "Ana Costa (editor)"."""
    if person.user_id is None:
        return f"{person.name} (read only)"
    return f"{person.name} ({person.role.value})"


def _form_token(person: Person | None) -> str:
    if person is None:
        return ""
    return f"<input type='hidden' name='csrf_token' value='{escape(person.csrf_token)}'>"


def login_page(problem: str | None = None, *, email: str = "") -> str:
    """The sign-in page: e-mail address and password, and below it the older way in with
    an API key (read only), for a wall screen or a shared link."""
    note = f"<p class='status off_track'>{escape(problem)}</p>" if problem else ""
    return page(
        "Northstar: sign in",
        "<main><form method='post' action='/login'><h1>Northstar</h1>"
        "<p>Sign in with your e-mail address and password.</p>"
        f"{note}<label for='email'>E-mail address</label>"
        f"<input id='email' name='email' type='email' autocomplete='username' "
        f"value='{escape(email)}' required>"
        "<label for='password'>Password</label>"
        "<input id='password' name='password' type='password' "
        "autocomplete='current-password' required>"
        # No `type` attribute: a button submits its form by default, and the key form's
        # `button[type=submit]` stays the one scripts and kiosk set-ups already click.
        "<button>Sign in</button></form>"
        "<form method='post' action='/login'><h2>Or with an API key (read only)</h2>"
        "<p>For a wall screen or a script: paste a key made with "
        "<code>northstar apikey create --scope read</code>.</p>"
        "<label for='api_key'>API key</label>"
        "<input id='api_key' name='api_key' type='password' autocomplete='off' "
        "required><button type='submit'>Show my scorecard</button></form></main>",
    )


def error_page(title: str, message: str, *, signed_in: bool = True) -> str:
    """A 4xx answered as a page: what went wrong, in the API's words, and a way back."""
    top = header("Northstar scorecard") if signed_in else ""
    return page(
        f"Northstar: {title}",
        f"{top}<main><section class='problem'><h2>{escape(title)}</h2>"
        f"<p>{escape(message)}</p><p><a href='/'>Back to the overview</a> · "
        "<a href='/kpis'>All KPIs</a></p></section></main>",
    )
