"""Source settings: where ConnectWise is, and messages an MSP owner can act on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.connectwise import ConnectWiseConfig

CREDENTIALS: dict[str, Any] = dict(
    company_id="northwind", public_key="pub", private_key="s3cr3t-key", client_id="guid-0042"
)


@pytest.mark.parametrize(
    ("site", "root"),
    [
        ("na", "https://api-na.myconnectwise.net"),
        ("EU", "https://api-eu.myconnectwise.net"),
        ("aus.myconnectwise.net", "https://api-aus.myconnectwise.net"),
        ("https://za.myconnectwise.net/", "https://api-za.myconnectwise.net"),
        ("api-au.myconnectwise.net", "https://api-au.myconnectwise.net"),
        ("cw.northwind-it.example", "https://cw.northwind-it.example"),
    ],
)
def test_site_maps_cloud_hosts_to_api_hosts(site: str, root: str) -> None:
    assert ConnectWiseConfig(site=site, **CREDENTIALS).root_url == root


def test_base_url_is_used_as_given() -> None:
    config = ConnectWiseConfig(base_url="http://localhost:8080/cw/", **CREDENTIALS)
    assert config.root_url == "http://localhost:8080/cw"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({}, "say where your ConnectWise is"),
        ({"site": "na", "base_url": "https://x.example"}, "not both"),
        ({"site": "not a host"}, "is not a ConnectWise site"),
        ({"base_url": "ftp://x"}, "must start with https://"),
    ],
)
def test_location_errors_say_what_to_fix(location: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ConnectWiseConfig(**location, **CREDENTIALS)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("codebase", "release-7", "expected something like v2025_1"),
        ("api_version", "3.0.0", "must look like 2025.1"),
        ("company_id", "  ", "must not be empty"),
        ("public_key", "a b", "must not contain spaces"),
        ("page_size", 5000, "less than or equal to 1000"),
    ],
)
def test_field_errors_say_what_to_fix(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ConnectWiseConfig(site="na", **(CREDENTIALS | {field: value}))


def test_codebase_is_normalised_and_secrets_stay_hidden() -> None:
    config = ConnectWiseConfig(site="na", codebase="/v2025_1/", **CREDENTIALS)
    assert config.codebase == "v2025_1"
    assert "s3cr3t-key" not in repr(config) and "guid-0042" not in repr(config)
