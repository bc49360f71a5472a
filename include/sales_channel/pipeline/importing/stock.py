"""Stock moves of imported orders, each exactly once and resumable.

Every take (an order this pipeline created, adopted ones it may have created included) and every
return (the order was cancelled on Amazon) is an outbox item of its own, unique per order, with the
units per SKU. Items are applied in batches: the units are summed per SKU, so a page of orders costs
two Commerce calls per SKU, not per order line.

Commerce's REST API only *sets* a quantity (no decrement; Adobe's schema has no delta endpoint for
the legacy stock item, and MSI's source items are absolute too), so each SKU is read and written
back-to-back, under a lock every worker of that Commerce installation shares. What remains is the
gap between that read and that write (a few milliseconds): a sale Commerce makes there, through
another channel or the storefront, is overwritten. Reconciliation surfaces it as a stock difference.

A write can fail ambiguously (sent, no answer). Before writing, each item records a *journal*: per
SKU, the quantity read and the quantity about to be written. A resumed item with a journal re-reads
the SKU: still the quantity read → the write did not land, apply it again; anything else → it landed
(a later sale may have moved it since). Items of one batch share a journal and are resumed together.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.outbox_work import OutboxWork
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.locks import LockLost, LockTimeout, hold
from sales_channel.store.models import OutboxItem, OutboxStatus

TAKE_KIND = "commerce_stock_take"
RETURN_KIND = "commerce_stock_return"

log = logging.getLogger(__name__)


class SalableQuantities:
    """What a run believes is salable per Commerce SKU: read once, then minus what the run took. Shared
    by every store of one Commerce installation in the run, so two stores cannot both sell the last unit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.qty: dict[str, Decimal] = {}


def order_source(seller_account: str, amazon_order_id: str) -> str:
    """The source of an order's stock take and return (and of the import's other rows for it)."""
    return f"{seller_account}/{amazon_order_id}"


def _one_by_one(call: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    return [call(*args) for args in arguments]


class StockMoves:
    """Takes and returns of one Commerce store's stock, through the outbox."""

    def __init__(self, work: OutboxWork, commerce: CommerceClient, channel: ChannelStore, *, target: str,
                 lock_name: str, each: Callable[[Callable[..., Any], Sequence[tuple[Any, ...]]], list[Any]],
                 on_moved: Callable[[Counter[str], int], None] = lambda units, sign: None,
                 logger: logging.Logger = log) -> None:
        self.work, self.commerce, self.channel, self.target = work, commerce, channel, target
        self._lock_name, self._each, self._on_moved, self._log = lock_name, each, on_moved, logger

    @classmethod
    def for_store(cls, settings: StoreSettings, work: OutboxWork, commerce: CommerceClient, channel: ChannelStore, *,
                  each: Callable[[Callable[..., Any], Sequence[tuple[Any, ...]]], list[Any]] = _one_by_one,
                  on_moved: Callable[[Counter[str], int], None] = lambda units, sign: None,
                  logger: logging.Logger = log) -> StockMoves:
        """The stock moves of one store: its rows target the store, under the lock every store of its
        Commerce installation shares (the import's and the status sync's alike)."""
        return cls(work, commerce, channel, target=settings.key,
                   lock_name=f"commerce-stock:{settings.commerce_conn_id}", each=each, on_moved=on_moved, logger=logger)

    def queue_take(self, source: str, moves: Sequence[tuple[str, int]]) -> None:
        self.channel.outbox.enqueue(TAKE_KIND, source, self.target, {"moves": [[sku, qty] for sku, qty in moves]})

    def take(self, sources: Sequence[str]) -> int:
        """Apply the queued takes of these orders that are due; returns how many were applied."""
        return self._apply(list(self.work.claim(TAKE_KIND, sources).values()), sign=-1)

    def give_back(self, source: str) -> bool:
        """Queue and apply the return of what the import took for this order (once; nothing if nothing
        was taken). True when units went back now."""
        taken = self.channel.outbox.get(TAKE_KIND, source)
        if taken is None or taken.status != OutboxStatus.CONFIRMED:
            return False
        self.channel.outbox.enqueue(RETURN_KIND, source, self.target, {"moves": taken.payload["moves"]})
        return bool(self._apply(list(self.work.claim(RETURN_KIND, [source]).values()), sign=+1))

    def resume(self, limit: int = 500) -> int:
        """Takes and returns left due by an earlier failure or a worker that died."""
        applied = 0
        for kind, sign in ((TAKE_KIND, -1), (RETURN_KIND, +1)):
            sources = self.work.due(kind, self.target, limit)
            applied += self._apply(list(self.work.claim(kind, sources).values()), sign)
        return applied

    def _apply(self, items: list[OutboxItem], sign: int) -> int:
        if not items:
            return 0
        fresh = [item for item in items if "journal" not in item.payload]
        batches: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            if "journal" in item.payload:
                batches[item.payload["journal"]["batch"]].append(item)
        applied = 0
        try:
            with hold(self.channel.engine, self._lock_name):
                for resumed in batches.values():
                    applied += self._write(resumed, sign, self._still_unwritten(resumed))
                if fresh:
                    applied += self._write(fresh, sign, None)
        except LockTimeout as exc:  # another worker held the store's stock too long: nothing written, later
            for item in items:
                self.work.failed(item, exc)
            self._log.warning("stock of %d orders left for a later run: %s", len(items), exc)
        except LockLost as exc:  # found at the release: every item is marked already, by what it did
            self._log.warning("stock lock of %s was lost while held: %s", self._lock_name, exc)
        return applied

    def _still_unwritten(self, items: list[OutboxItem]) -> set[str]:
        """SKUs of a resumed batch whose write did not land (the quantity is still the one read)."""
        journal = items[0].payload["journal"]["skus"]
        current = dict(zip(journal, self._each(self._read, [(sku,) for sku in journal]), strict=True))
        unwritten = {sku for sku, (before, _) in journal.items() if current[sku][1] == Decimal(before)}
        landed = sorted(set(journal) - unwritten)
        if landed:
            self._log.info("stock of %s: the earlier write had landed; not applied again", ", ".join(landed))
        return unwritten

    def _write(self, items: list[OutboxItem], sign: int, only: set[str] | None) -> int:
        """Read each SKU, journal the items, write each SKU, confirm the items. ``only`` limits the
        writes to those SKUs (a resumed batch whose other writes landed)."""
        units: Counter[str] = Counter()
        for item in items:
            units.update({sku: qty for sku, qty in item.payload["moves"] if only is None or sku in only})
        try:
            stock = dict(zip(units, self._each(self._read, [(sku,) for sku in units]), strict=True))
            targets = {sku: max(Decimal(0), stock[sku][1] + sign * qty) for sku, qty in units.items()}
            journal = {"batch": uuid.uuid4().hex,
                       "skus": {sku: [str(stock[sku][1]), str(targets[sku])] for sku in units}}
            with self.channel.transaction():  # the batch's journal: one commit
                for item in items:
                    self.work.outbox.update_payload(item.id, self.work.worker_id, {**item.payload, "journal": journal})
            self._each(lambda sku: self.commerce.catalog.update_stock_qty(sku, targets[sku], item_id=stock[sku][0]),
                       [(sku,) for sku in units])
        except Exception as exc:  # noqa: BLE001 - the items come due again; the journal tells what landed
            for item in items:
                message = self.work.failed(item, exc)
            self._log.error("stock %s of %d orders failed (will resume): %s", "return" if sign > 0 else "take",
                            len(items), message)
            return 0
        for item in items:
            self.work.done(item)
        self._on_moved(units, sign)
        return len(items)

    def _read(self, sku: str) -> tuple[int, Decimal]:
        item = self.commerce.catalog.get_stock_item(sku)
        return item.item_id, item.qty

