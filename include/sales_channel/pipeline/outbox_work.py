"""Outbox work shared by every flow: claims under a lease, failures told apart, ambiguous writes settled.

Every state-changing call is an outbox item (``store.outbox``). This module holds what each flow does
with one:

* **claim** it under a lease, so of two workers exactly one makes the call;
* on a **plain failure** (refused before it was sent, or a read that failed), make it due again after
  ``retry``;
* on an **ambiguous failure** (the write was sent and no answer came back: a 5xx, a timeout, a dropped
  connection — the other side may have done it, or may still be doing it) make it due again only after
  ``settle``, and have the flow *look before it writes again* (a Commerce order by ``ext_order_id``,
  a shipment in getOrder's packages, a feed's processing report). ``settle`` is at least twice the
  request timeout, so a save that was still running when the answer failed has landed by then;
* describe the failure for people without any value the other side may have echoed (buyer data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests

from sales_channel.amazon.errors import ServerError as AmazonServerError
from sales_channel.amazon.errors import SpApiError
from sales_channel.commerce.errors import AmbiguousWriteError, CommerceError
from sales_channel.store.models import OutboxItem
from sales_channel.store.outbox import OutboxRepository

DEFAULT_SETTLE = timedelta(minutes=2)
DEFAULT_RETRY = timedelta(minutes=1)


def is_ambiguous(exc: BaseException) -> bool:
    """The write may have happened: the request was sent and no clear answer came back (Commerce's
    AmbiguousWriteError; from Amazon a 5xx, a read timeout or a dropped connection — only a connection
    that never opened proves nothing was sent)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    return isinstance(exc, (AmbiguousWriteError, AmazonServerError, requests.RequestException))


def describe_error(exc: BaseException) -> str:
    """The error's kind and the service's reason, never text that may echo an order's buyer data
    (a Commerce error's ``summary`` keeps Magento's template with only field names filled in)."""
    if isinstance(exc, CommerceError):
        return f"{type(exc).__name__}: {exc.operation} {exc.status or ''} {exc.summary}".rstrip()
    if isinstance(exc, SpApiError):
        return f"{type(exc).__name__}: {exc.operation} {exc.status} {exc.code}"
    return type(exc).__name__


@dataclass
class OutboxWork:
    """One worker's handle on the outbox: its id, its lease and its retry policy."""

    outbox: OutboxRepository
    worker_id: str
    lease: timedelta = timedelta(minutes=15)
    settle: timedelta = DEFAULT_SETTLE
    retry: timedelta = DEFAULT_RETRY
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def claim(self, kind: str, sources: Sequence[str]) -> dict[str, OutboxItem]:
        """The items of ``kind`` for these sources that are due, claimed for this worker."""
        return self.outbox.claim_sources(kind, list(sources), self.worker_id, self.lease) if sources else {}

    def due(self, kind: str, target: str, limit: int) -> list[str]:
        return self.outbox.due_sources(kind, target=target, limit=limit)

    def renew(self, item: OutboxItem) -> bool:
        """Call right before an irreversible call: False when another worker took the item over."""
        return self.outbox.renew(item.id, self.worker_id, self.lease)

    def done(self, item: OutboxItem) -> None:
        self.outbox.mark_confirmed(item.id, self.worker_id)

    def rejected(self, item: OutboxItem, message: str) -> None:
        """The other side refused the call for good (or it can never be made): the item ends failed,
        with ``message`` for the person who fixes the cause and re-sends it."""
        self.outbox.mark_failed(item.id, message, self.worker_id)

    def failed(self, item: OutboxItem, exc: BaseException, retry_at: datetime | None = None) -> str:
        """Make the item due again (after ``settle`` when the write may have happened, else after
        ``retry``, or at ``retry_at``); returns the description recorded for people."""
        message = describe_error(exc)
        if is_ambiguous(exc):
            message = f"ambiguous, looked up again after {self.settle.total_seconds():.0f}s: {message}"
        when = retry_at or self.clock() + (self.settle if is_ambiguous(exc) else self.retry)
        self.outbox.mark_failed(item.id, message, self.worker_id, retry_at=when)
        return message
