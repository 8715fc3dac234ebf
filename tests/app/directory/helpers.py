"""Finding the demo world's clients and technicians by name, through the directory API."""

from __future__ import annotations

from conftest import Demo


def ids_by_name(demo: Demo, kind: str, source: int) -> dict[str, int]:
    response = demo.client.get(
        f"/api/v1/{kind}s", params={"source": source, "limit": 1000}, headers=demo.read
    )
    assert response.status_code == 200, response.text
    return {item["name"]: item["id"] for item in response.json()["items"]}


def pair(demo: Demo, kind: str, name: str) -> tuple[int, int]:
    """The ConnectWise and the Autotask row of the same name."""
    return (
        ids_by_name(demo, kind, demo.connectwise)[name],
        ids_by_name(demo, kind, demo.autotask)[name],
    )


def link(demo: Demo, kind: str, members: list[int], **extra: object) -> dict:
    response = demo.client.post(
        "/api/v1/links", json={"kind": kind, "members": members, **extra}, headers=demo.admin
    )
    assert response.status_code == 201, response.text
    return response.json()
