"""The local alert receivers as fixtures (see tests/fixtures/alert_receivers.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.alert_receivers import SmtpReceiver, WebhookReceiver, serve_smtp, serve_webhook


@pytest.fixture
def webhook() -> WebhookReceiver:
    with serve_webhook() as receiver:
        yield receiver


@pytest.fixture
def smtp_server() -> SmtpReceiver:
    with serve_smtp() as receiver:
        yield receiver
