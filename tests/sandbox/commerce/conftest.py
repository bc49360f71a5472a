"""Fixtures of the Commerce sandbox tests: one server per module, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ThreadServer

from .support import CommerceApi


@pytest.fixture(scope="module")
def commerce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    config = SandboxConfig(state_dir=tmp_path_factory.mktemp("commerce-state"),
                           credentials=dict(DEFAULT_CREDENTIALS))
    server = ThreadServer("commerce", config).start()
    yield server
    server.stop()


@pytest.fixture
def api(commerce_server: ThreadServer) -> CommerceApi:
    """A client of a freshly reset sandbox (seeded catalog, no orders, no faults, no latency)."""
    client = CommerceApi(commerce_server.url)
    assert client.control("POST", "reset").status_code == 200
    assert client.control("DELETE", "faults").status_code == 200
    assert client.control("PUT", "latency", json={"latency_ms": 0}).status_code == 200
    return client
