"""The API docs page works without internet: every script, style and icon is served here."""

from __future__ import annotations

import re
from typing import Any


def test_the_docs_page_loads_nothing_from_elsewhere(api: Any) -> None:
    page = api.client.get("/api/v1/docs")

    assert page.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/api/v1/docs/assets/") for link in links), links
    for link in links:
        asset = api.client.get(link)
        assert asset.status_code == 200 and asset.content, link
    policy = page.headers["content-security-policy"]
    assert "http" not in policy  # no other origin may be loaded from
