"""The shared connector contract suite.

A connector's tests subclass `ConnectorContractSuite` and implement `make_connector`, which
returns a connector wired to its simulator (through `ConnectorContext.transport`), over a world
large enough that at least one stream spans several pages. Every test runs on asyncio through
the anyio pytest plugin.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from connectors.sdk.contract import Connector, Page, StreamMode
from connectors.sdk.facts import Deletion, FactOrDeletion
from connectors.sdk.paging import ID_RANGE

SECRET_HINTS = ("secret", "password", "private", "token", "client_id", "integration_code")


async def read_all(connector: Connector, stream: str, cursor: Any = None) -> list[Page]:
    return [page async for page in connector.read(stream, cursor)]


def _ids(pages: list[Page], key: str) -> list[str]:
    ids: list[str] = []
    for page in pages:
        ids.extend(str(record[key]) for record in page.records)
        if not page.records:
            ids.extend(page.seen_ids)
    return ids


@pytest.mark.anyio
class ConnectorContractSuite:
    """Behaviour every connector must show. Subclasses provide `make_connector`."""

    def make_connector(self) -> Connector:
        raise NotImplementedError

    def test_declares_kind_config_and_streams(self) -> None:
        connector = self.make_connector()
        assert isinstance(connector.kind, str) and connector.kind
        assert issubclass(connector.config_model, BaseModel)
        assert connector.streams, "a connector declares at least one stream"
        for name, spec in connector.streams.items():
            assert spec.name == name
            if spec.mode is StreamMode.ID_SWEEP:
                assert spec.sweeps is not None, f"sweep stream {name} names what it sweeps"
            else:
                assert spec.produces, f"stream {name} declares the facts it produces"

    def test_secrets_are_secret_str(self) -> None:
        connector = self.make_connector()
        for name, info in connector.config_model.model_fields.items():
            if any(hint in name.lower() for hint in SECRET_HINTS):
                assert info.annotation in (SecretStr, SecretStr | None), (
                    f"config field {name} looks like a credential and must be a SecretStr"
                )

    async def test_check_succeeds_against_the_simulator(self) -> None:
        connector = self.make_connector()
        try:
            await connector.check()
        finally:
            await connector.aclose()

    async def test_every_stream_reads_and_normalizes(self) -> None:
        connector = self.make_connector()
        try:
            for name, spec in connector.streams.items():
                pages = await read_all(connector, name)
                for page in pages:
                    json.dumps(page.cursor)  # cursors are stored as JSON
                    for record in page.records:
                        facts = connector.normalize(name, record)
                        assert facts == connector.normalize(name, record), "normalize is pure"
                        for fact in facts:
                            _assert_declared(fact, spec.produces, spec.sweeps, name)
        finally:
            await connector.aclose()

    async def test_resuming_from_a_cursor_continues_without_gaps_or_repeats(self) -> None:
        connector = self.make_connector()
        try:
            resumed_any = False
            for name, spec in connector.streams.items():
                pages = await read_all(connector, name)
                if len(pages) < 2:
                    continue
                resumed_any = True
                rest = await read_all(connector, name, pages[0].cursor)
                expected = _ids(pages[1:], spec.primary_key)
                got = _ids(rest, spec.primary_key)
                assert len(got) == len(set(got)), f"{name}: resumed read repeats records"
                assert set(got) == set(expected), f"{name}: resumed read differs"
            assert resumed_any, "the test world must make at least one stream span pages"
        finally:
            await connector.aclose()

    async def test_an_id_sweep_asked_for_an_id_range_lists_exactly_those_ids(self) -> None:
        """A rolling sweep's slice (`StreamMode.ID_SWEEP`): `{"id_range": [low, high]}`
        lists the ids `low <= id < high`, either end open when None."""
        connector = self.make_connector()
        try:
            for name, spec in connector.streams.items():
                if spec.mode is not StreamMode.ID_SWEEP:
                    continue
                every = sorted(int(i) for i in _ids(await read_all(connector, name), "id"))
                if len(every) < 3:
                    continue
                low, high = every[len(every) // 3], every[2 * len(every) // 3]
                for range_ in ([None, low], [low, high], [high, None]):
                    pages = await read_all(connector, name, {ID_RANGE: range_})
                    got = sorted(int(i) for i in _ids(pages, "id"))
                    assert got == [
                        i
                        for i in every
                        if (range_[0] is None or i >= range_[0])
                        and (range_[1] is None or i < range_[1])
                    ], f"{name}: a sweep of the ids {range_} listed others"
        finally:
            await connector.aclose()


def _assert_declared(
    fact: FactOrDeletion, produces: tuple[Any, ...], sweeps: Any, stream: str
) -> None:
    assert dataclasses.is_dataclass(fact)
    allowed = set(produces) | ({sweeps} if sweeps else set())
    assert fact.fact_type in allowed or isinstance(fact, Deletion), (
        f"{stream} produced {fact.fact_type}, which it does not declare"
    )
