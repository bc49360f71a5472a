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
    """``amazon_factory(orders=..., time_scale=...)``: a fresh sandbox with a logged-in session."""

    def start(**settings: Any) -> Amazon:
        settings.setdefault("orders", 60)
        settings.setdefault("time_scale", 1000.0)  # generous usage plans unless a test says otherwise
        server = sandbox_factory("amazon", **settings)
        session = requests.Session()
        session.headers["x-amz-access-token"] = access_token(server.url)
        return Amazon(server.url, server, session)

    return start


@pytest.fixture
def amazon(amazon_factory: Callable[..., Amazon]) -> Amazon:
    return amazon_factory()
