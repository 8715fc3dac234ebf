"""Config validation speaks to the MSP owner at the form."""

from __future__ import annotations

from typing import Any

import pytest
from at_support import config_for, simulator_for
from pydantic import ValidationError

from connectors.sandbox.model import SandboxWorld


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret": "  "}, "is required: copy it from Admin"),
        ({"requests_per_hour": 0}, "must be at least 1"),
        ({"concurrency_per_entity": 4}, "Autotask rejects more concurrent requests"),
        ({"zone_url": "webservices5.autotask.net"}, "must be a web address starting with"),
        ({"survey_rating_min": 5, "survey_rating_max": 1}, "highest rating must be above"),
    ],
)
def test_invalid_settings_are_explained(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config_for(**overrides)


def test_secrets_never_show_in_the_config_repr() -> None:
    config = config_for()
    assert "at-sim-secret" not in repr(config) and "AT-SIM-CODE" not in str(config)


def test_defaults_take_a_quarter_of_the_tenants_hourly_limit() -> None:
    config = config_for()
    assert (config.requests_per_hour, config.concurrency_per_entity) == (2_500, 3)
    assert config.zone_url is None


def test_the_simulator_hands_out_a_working_config(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    assert simulator.connector_config().secret.get_secret_value() == simulator.secret
