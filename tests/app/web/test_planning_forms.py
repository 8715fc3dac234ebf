"""The planning forms through the real app, signed in as an editor and as a viewer (e-mail
and password, app.people): each form's happy path, the API's validation messages next to
their fields with 422 and what was typed kept, archive, a team pulse averaged, a story, a
check-in on an objective, the quarter's review page; and every refusal: a viewer's post,
a post without (or with another browser's) CSRF token, each 403 with nothing written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from html import unescape
from typing import Any

import pytest
from leak_guard import CheckedClient

from app.goals.stories import quarter_of
from app.people.principal import Role
from app.people.users import create_user

EDITOR = ("dana@example.com", "Dana Editor", "correct horse battery")
VIEWER = ("vic@example.com", "Vic Viewer", "staple paper clip tree")
TOKEN = re.compile(r"name='csrf_token' value='([^']+)'")


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _sign_in(client: Any, email: str, password: str) -> None:
    response = client.post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


class Browser:
    """One signed-in browser: its client, and the CSRF token of its session."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def token(self, page: str = "/plan") -> str:
        found = TOKEN.search(self.client.get(page).text)
        assert found, f"no form token on {page}"
        return found.group(1)

    def post(self, url: str, fields: dict[str, str], *, token: str | None = None) -> Any:
        data = {"csrf_token": self.token() if token is None else token, **fields}
        return self.client.post(url, data=data, follow_redirects=False)


@pytest.fixture
def people(kpi_source: Any) -> Iterator[tuple[Any, Browser, Browser]]:
    context = kpi_source.setup.context
    with context.db.session() as session:
        for (email, name, password), role in ((EDITOR, Role.EDITOR), (VIEWER, Role.VIEWER)):
            create_user(session, email=email, name=name, role=role, password=password)
    _sign_in(kpi_source.client, EDITOR[0], EDITOR[2])
    with CheckedClient(kpi_source.client.app) as other:
        _sign_in(other, VIEWER[0], VIEWER[2])
        yield kpi_source, Browser(kpi_source.client), Browser(other)


def _objective(editor: Browser, **fields: str) -> int:
    response = editor.post("/plan/objectives", {"title": "A calmer team", **fields})
    assert response.status_code == 303, response.text
    found = re.search(r"#objective-(\d+)$", response.headers["location"])
    assert found
    return int(found.group(1))


def _goal_fields(objective_id: int, **fields: str) -> dict[str, str]:
    return {
        "objective_id": str(objective_id),
        "title": "Tickets closed in a band",
        "kpi": "tickets_closed",
        "kind": "band",
        "low": "1",
        "high": "5",
        "start_date": "2025-01-01",
        "due_date": "2025-12-01",
        "evaluation_grain": "month",
        "weight": "1",
        **fields,
    }


def test_an_objective_is_written_changed_and_archived(people: Any) -> None:
    api, editor, _viewer = people
    objective_id = _objective(
        editor,
        purpose="Serves the team: fewer late nights",
        owner="Dana",
        win_feels_like="I can take a real vacation",
    )

    overview = _text(editor.client.get("/").text)
    assert "A calmer team" in overview and "Serves the team: fewer late nights" in overview
    stored = api.client.get(f"/api/v1/objectives/{objective_id}", headers=api.read).json()
    assert stored["win_feels_like"] == "I can take a real vacation"

    changed = editor.post(
        f"/plan/objectives/{objective_id}",
        {"title": "A calm team", "purpose": "Fewer late nights", "weight": "2"},
    )
    assert changed.status_code == 303
    stored = api.client.get(f"/api/v1/objectives/{objective_id}", headers=api.read).json()
    assert (stored["title"], stored["weight"], stored["owner"]) == ("A calm team", 2.0, None)

    assert editor.post(f"/plan/objectives/{objective_id}/archive", {}).status_code == 303
    assert "A calm team" not in _text(editor.client.get("/").text)
    assert "A calm team (archived)" in _text(editor.client.get("/plan").text)
    assert editor.post(f"/plan/objectives/{objective_id}/restore", {}).status_code == 303
    assert "A calm team" in _text(editor.client.get("/").text)


def test_a_refused_objective_shows_the_apis_message_by_its_field(people: Any) -> None:
    api, editor, _viewer = people
    response = editor.post(
        "/plan/objectives", {"title": "", "purpose": "Kept as typed", "weight": "-1"}
    )

    assert response.status_code == 422
    page = response.text
    assert re.search(r"id='title-error'>This is required\.", page)
    assert "id='weight-error'" in page and "greater than 0" in page
    assert "aria-invalid='true'" in page and "Kept as typed" in page
    assert api.client.get("/api/v1/objectives", headers=api.read).json() == []


def test_the_goal_form_offers_the_kpis_scopes_previews_and_saves(people: Any) -> None:
    api, editor, _viewer = people
    objective_id = _objective(editor)

    picker = editor.client.get("/plan/goals/new").text
    assert "method='get' action='/plan/goals/new'" in picker
    tickets = editor.client.get(f"/plan/goals/new?objective_id={objective_id}&kpi=tickets_closed")
    assert "name='scope_client'" in tickets.text and "name='scope_board'" in tickets.text
    assert "keep the KPI between a low and a high" in tickets.text  # each kind in words
    utilisation = editor.client.get("/plan/goals/new?kpi=utilization_pct").text
    assert "name='scope_technician'" in utilisation and "name='scope_client'" not in utilisation

    preview = editor.post("/plan/goals", {**_goal_fields(objective_id), "action": "preview"})
    assert preview.status_code == 200
    text = _text(preview.text)
    assert "Preview (not saved yet)" in text and "Baseline over December 2024" in text
    rows = re.findall(r"<tr><td>[^<]+ 20\d\d</td><td>([^<]+)</td>", preview.text)
    assert len(rows) >= 12 and any(re.match(r"\d", value) for value in rows), rows
    assert api.client.get("/api/v1/goals", headers=api.read).json() == []  # nothing kept

    saved = editor.post("/plan/goals", {**_goal_fields(objective_id), "action": "save"})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/goals/")
    (goal,) = api.client.get("/api/v1/goals", headers=api.read).json()
    assert (goal["kind"], goal["low"], goal["high"]) == ("band", 1.0, 5.0)
    assert "Tickets closed in a band" in _text(editor.client.get("/").text)


def test_a_refused_goal_says_why_next_to_the_field(people: Any) -> None:
    api, editor, _viewer = people
    objective_id = _objective(editor)

    band = editor.post("/plan/goals", _goal_fields(objective_id, low="5", high="3"))
    assert band.status_code == 422
    assert re.search(r"id='high-error'>A band needs low &lt; high", band.text)
    no_kind = editor.post("/plan/goals", _goal_fields(objective_id, kind=""))
    assert no_kind.status_code == 422 and "id='kind-error'" in no_kind.text
    scope = editor.post("/plan/goals", _goal_fields(objective_id, scope_client="nobody"))
    assert scope.status_code == 422 and "field-error" in scope.text
    assert "value='Tickets closed in a band'" in scope.text  # what was typed stays
    assert api.client.get("/api/v1/goals", headers=api.read).json() == []


def test_a_goal_is_changed_with_its_milestones_and_the_history_says_so(people: Any) -> None:
    api, editor, _viewer = people
    objective_id = _objective(editor)
    editor.post(
        "/plan/goals", _goal_fields(objective_id, kind="stay_above", low="", high="", target="2")
    )
    (goal,) = api.client.get("/api/v1/goals", headers=api.read).json()
    edit = editor.client.get(f"/plan/goals/{goal['id']}/edit").text
    assert "value='2'" in edit

    fields = _goal_fields(objective_id, kind="stay_above", low="", high="", target="3")
    assert editor.post(f"/plan/goals/{goal['id']}", fields).status_code == 303
    page = _text(editor.client.get(f"/goals/{goal['id']}").text)
    assert "Dana Editor" in page and "target" in page and "→ 3" in page

    added = editor.post(
        "/plan/milestones",
        {
            "goal_id": str(goal["id"]),
            "due_date": "2025-06-30",
            "target": "2.5",
            "title": "Half way",
        },
    )
    assert added.status_code == 303
    (milestone,) = api.client.get(f"/api/v1/goals/{goal['id']}/milestones", headers=api.read).json()
    late = editor.post(f"/plan/milestones/{milestone['id']}", {"due_date": "2026-06-30"})
    assert late.status_code == 422 and "id='due_date-error'" in late.text
    moved = editor.post(
        f"/plan/milestones/{milestone['id']}", {"due_date": "2025-07-31", "target": "2.5"}
    )
    assert moved.status_code == 303
    assert editor.post(f"/plan/milestones/{milestone['id']}/delete", {}).status_code == 303
    assert api.client.get(f"/api/v1/goals/{goal['id']}/milestones", headers=api.read).json() == []


def test_a_check_in_on_an_objective_shows_on_the_overview_with_its_author(people: Any) -> None:
    api, editor, _viewer = people
    objective_id = _objective(editor)
    refused = editor.post(
        "/plan/check-ins", {"objective_id": str(objective_id), "confidence": "11"}
    )
    assert refused.status_code == 422 and "id='confidence-error'" in refused.text

    response = editor.post(
        "/plan/check-ins",
        {"objective_id": str(objective_id), "confidence": "8", "note": "Rota is working"},
    )

    assert response.status_code == 303
    overview = _text(editor.client.get("/").text)
    assert "Objective: A calmer team : 8/10 on " in overview and "by Dana Editor" in overview
    (check_in,) = api.client.get("/api/v1/check-ins", headers=api.read).json()
    assert check_in["author"] == "Dana Editor"


def test_a_team_pulse_is_stored_as_the_mean_of_everyones_score(people: Any) -> None:
    api, editor, _viewer = people
    declared = editor.post(
        "/plan/kpis",
        {
            "key": "team_pulse",
            "name": "Team pulse",
            "unit": "score",
            "min": "1",
            "max": "10",
            "direction": "up",
            "aggregation": "mean",
        },
    )
    assert declared.status_code == 303
    again = editor.post("/plan/kpis", {"key": "team_pulse", "name": "Again"})
    assert again.status_code == 409 and "id='key-error'" in again.text
    rows = {
        "date": "2025-03-05",
        "person_1": "Ana",
        "score_1": "6",
        "person_2": "Bo",
        "score_2": "11",
    }
    outside = editor.post("/plan/kpis/team_pulse/pulse", rows)
    assert outside.status_code == 422 and "id='score_2-error'" in outside.text
    assert "outside Team pulse" in _text(outside.text)

    pulse = editor.post(
        "/plan/kpis/team_pulse/pulse", {**rows, "score_2": "8", "person_3": "Cy", "score_3": "10"}
    )

    assert pulse.status_code == 303
    series = api.client.get(
        "/api/v1/kpis/team_pulse/values?grain=week&from=2025-03-03&to=2025-03-10",
        headers=api.read,
    ).json()
    assert series["values"][0]["value"] == 8.0  # (6 + 8 + 10) / 3
    (stored,) = api.client.get("/api/v1/kpis/team_pulse/observations", headers=api.read).json()
    assert stored["recorded_by"] == "Dana Editor" and "Ana 6" in stored["note"]


def test_a_story_opens_the_quarters_review_page_and_the_wins_close_it(people: Any) -> None:
    _api, editor, _viewer = people
    _objective(editor, win_feels_like="Nobody dreads Monday")
    quarter = quarter_of(datetime.now().date())
    empty = editor.post("/plan/stories", {"kind": "client", "text": " "})
    assert empty.status_code == 422 and "id='text-error'" in empty.text

    story = editor.post(
        "/plan/stories",
        {
            "kind": "client",
            "text": "Acme's CFO called to thank us",
            "date": date.today().isoformat(),
        },
    )

    assert story.status_code == 303
    page = editor.client.get(f"/reviews/{quarter}")
    assert page.status_code == 200
    text = _text(page.text)
    assert (
        text.index("Acme's CFO called")
        < text.index("A calmer team")
        < text.index("Nobody dreads Monday")
    )
    assert "recorded by Dana Editor" in text and "@media print" in page.text
    assert f"Stories of {quarter}" in _text(editor.client.get("/").text)
    assert editor.client.get("/reviews/2026-Q9").status_code == 422
    assert editor.client.get("/reviews/2999-Q1").status_code in (400, 422)


def test_a_viewer_sees_no_control_and_their_posts_are_refused(people: Any) -> None:
    api, editor, viewer = people
    objective_id = _objective(editor)
    for url in ("/", "/plan", f"/reviews/{quarter_of(date.today())}"):
        page = viewer.client.get(url).text
        forms = re.findall(r"<form[^>]*>", page)
        assert forms == ["<form class='signout' method='post' action='/logout'>"], (url, forms)
        assert "href='/plan/" not in page, url  # no link to any form
    assert viewer.client.get("/plan/objectives/new").status_code == 403

    own_token = viewer.token("/")
    for url, fields in (
        ("/plan/objectives", {"title": "Sneaky"}),
        (f"/plan/objectives/{objective_id}/archive", {}),
        ("/plan/stories", {"kind": "client", "text": "Sneaky"}),
        ("/plan/check-ins", {"objective_id": str(objective_id), "confidence": "1"}),
    ):
        response = viewer.post(url, fields, token=own_token)
        assert response.status_code == 403, url
        assert "Only an editor or an owner can" in _text(response.text)
    assert len(api.client.get("/api/v1/objectives", headers=api.read).json()) == 1
    assert api.client.get("/api/v1/stories", headers=api.read).json() == []


def test_a_post_without_this_browsers_csrf_token_is_refused(people: Any) -> None:
    api, editor, viewer = people
    missing = editor.client.post(
        "/plan/objectives", data={"title": "No token"}, follow_redirects=False
    )
    someone_elses = editor.post("/plan/objectives", {"title": "Wrong"}, token=viewer.token("/"))

    assert missing.status_code == 403 and someone_elses.status_code == 403
    assert "did not come from your Northstar page" in _text(missing.text)
    assert api.client.get("/api/v1/objectives", headers=api.read).json() == []
