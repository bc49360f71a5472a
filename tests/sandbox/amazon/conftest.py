"""Fixtures of the Amazon sandbox tests: a started sandbox with a logged-in session, and the contract
checker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.sandbox.amazon.support import Amazon, Contract, access_token


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture
def amazon_factory(sandbox_factory: Callable[..., Any]) -> Callable[..., Amazon]:
    """``amazon_factory(orders=..., time_scale=..., settle=...)``: a fresh sandbox with a logged-in session.

    The default F = 1000 keeps usage plans out of the way; with it the lifecycle would move seeded
    orders within seconds, so by default every pending lifecycle event is applied at once (``settle``)
    and the state stays still while the test runs. Tests about the seed or the lifecycle pass
    ``settle=False``.
    """

    def start(settle: bool = True, **settings: Any) -> Amazon:
        settings.setdefault("orders", 60)
        settings.setdefault("time_scale", 1000.0)
        server = sandbox_factory("amazon", **settings)
        session = requests.Session()
        session.headers["x-amz-access-token"] = access_token(server.url)
        amazon = Amazon(server.url, server, session)
        if settle:
            amazon.control("POST", "/lifecycle/advance", json={"seconds": None})
        return amazon

    return start


@pytest.fixture
def amazon(amazon_factory: Callable[..., Amazon]) -> Amazon:
    return amazon_factory()
