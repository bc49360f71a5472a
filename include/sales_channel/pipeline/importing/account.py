"""One seller account's import run: one search for all of its stores, resumable page by page.

Amazon's usage plan is per seller account: searchOrders allows one call per three minutes (burst 20).
So the account's stores share one search — every active store's marketplaces in one call (up to 50)
— and each order is routed to the store of its marketplace (``StoreImporter``).

The window (see ../shared/DESIGN.md, "The flows"): ``lastUpdatedAfter`` = the earliest store watermark
minus an overlap, ``lastUpdatedBefore`` = two minutes back. It is planned once and kept in a
*checkpoint* until every page of it is imported: after each page whose orders are all done (imported,
skipped by rule, quarantined, or left to their outbox item), the checkpoint moves to the next page's
token. A retry, or the next run, continues from there instead of from page 1; a run stops cleanly
at its deadline (before Airflow's execution timeout) with its progress saved. So a backlog of any
size completes over successive runs, and a quarantined or failed order never holds the watermark —
they are retried from their own tables. When the last page is done, each store's watermark moves to
the window end Amazon returned.

A person's re-import (``pipeline.operations``) goes the same way without moving any of that:
``import_now`` imports orders just re-read, ``reimport_window`` reads a window of creation times on a
checkpoint stream of its own and leaves the watermarks alone.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_channel.amazon.client import OrderPage, OrderSearch, SpApiClient
from sales_channel.amazon.errors import SpApiError
from sales_channel.amazon.models import IncludedData
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.corrections import AddressCorrection
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.stock import SalableQuantities
from sales_channel.pipeline.importing.store_importer import (
    CREATE_KIND,
    ImportSummary,
    StoreImporter,
)
from sales_channel.pipeline.outbox_work import DEFAULT_RETRY, DEFAULT_SETTLE, OutboxWork, describe_error
from sales_channel.pipeline.progress import ProgressLog
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.checkpoints import Checkpoint

log = logging.getLogger(__name__)

ORDER_DATASETS = (IncludedData.BUYER, IncludedData.RECIPIENT, IncludedData.PROCEEDS, IncludedData.PROMOTION,
                  IncludedData.FULFILLMENT, IncludedData.PACKAGES, IncludedData.TAX, IncludedData.CANCELLATION)
STREAM = "import"
# An operator's re-import of a window keeps its checkpoint apart from the scheduled import's (one per
# window, so a retry continues it and two re-imports never share one); it moves no watermark.
REIMPORT_STREAM = "reimport"
# Re-read a little before the watermark: Amazon's lastUpdatedTime can land late in its index.
OVERLAP = timedelta(minutes=10)
# searchOrders refuses a lastUpdatedBefore less than two minutes before the request.
SETTLE = timedelta(minutes=2, seconds=5)
# Pages whose creates may still be running while the next page is taken: enough to keep Commerce busy,
# few enough that a run's deadline only has to wait for these.
PAGES_IN_FLIGHT = 2
# Re-reads (getOrder) of quarantined orders and of creates to resume, per store and run.
REREAD_LIMIT = 200


class ImportIncomplete(RuntimeError):
    """Some orders failed transiently; the rest were imported. The task fails so Airflow retries it."""


@dataclass(frozen=True)
class ImportWindow:
    after: datetime
    before: datetime
    marketplace_ids: tuple[str, ...]
    by_creation: bool = False  # orders created in the window (an operator's re-import), not updated in it

    def to_json(self) -> dict[str, Any]:
        return {"after": self.after.isoformat(), "before": self.before.isoformat(),
                "marketplace_ids": list(self.marketplace_ids), "by_creation": self.by_creation}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportWindow:
        return cls(datetime.fromisoformat(data["after"]), datetime.fromisoformat(data["before"]),
                   tuple(data["marketplace_ids"]), bool(data.get("by_creation", False)))


@dataclass
class AccountSummary:
    account: str
    stores: dict[str, ImportSummary]
    pages: int = 0
    resumed_at_page: int = 0  # pages of this window done by earlier runs
    fetch_s: float = 0.0
    window_complete: bool = False
    window_end: datetime | None = None
    watermarks: dict[str, datetime] = field(default_factory=dict)
    rereads_failed: int = 0

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stores.values())

    def line(self) -> str:
        if self.window_complete:
            end = (f"window complete, watermark → {self.window_end:%Y-%m-%dT%H:%M:%SZ}" if self.window_end
                   else "window complete")
        else:
            end = f"window continues next run after page {self.resumed_at_page + self.pages}"
        return (f"account {self.account}: {self.pages} pages in {self.fetch_s:.1f}s "
                f"(from page {self.resumed_at_page + 1}); {end}")

    def to_json(self) -> dict[str, Any]:
        """A small summary for XCom."""
        return {"account": self.account, "pages": self.pages, "resumed_at_page": self.resumed_at_page,
                "fetch_s": round(self.fetch_s, 3), "window_complete": self.window_complete,
                "watermarks": {k: v.isoformat() for k, v in self.watermarks.items()},
                "rereads_failed": self.rereads_failed,
                "stores": {key: s.to_json() for key, s in self.stores.items()}}


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def store_start(store: StoreSettings, channel: ChannelStore) -> datetime:
    """Where a store's next window starts: its watermark minus the overlap, or when it was connected."""
    mark = channel.watermarks.get(store.key, STREAM)
    return mark - OVERLAP if mark else store.connected_since


def plan_window(stores: Sequence[StoreSettings], channel: ChannelStore, now: datetime) -> ImportWindow:
    """The account's window: the unfinished one if there is one (same marketplaces), else from the
    earliest store start to two minutes before ``now``. Fixed in the checkpoint, so that retries and
    the next runs read the same window until it is done."""
    account = stores[0].amazon_conn_id
    markets = tuple(sorted({m for store in stores for m in store.marketplace_ids}))
    current = channel.checkpoints.get(account, STREAM)
    if current is not None and current.marketplace_ids == markets:
        return ImportWindow(current.after, current.before, markets)
    before = now - SETTLE
    after = min(min(store_start(store, channel) for store in stores), before)
    channel.checkpoints.save(account, STREAM, Checkpoint(after, before, markets, None, 0, None))
    return ImportWindow(after, before, markets)


def reimport_stream(window: ImportWindow) -> str:
    """The checkpoint stream of an operator's re-import of ``window``."""
    kind = "created" if window.by_creation else "updated"
    return f"{REIMPORT_STREAM}:{kind}:{window.after:%Y%m%dT%H%M%S}-{window.before:%Y%m%dT%H%M%S}"


class AccountImport:
    """Imports the Amazon orders of one seller account into the Commerce stores it feeds."""

    def __init__(self, stores: Sequence[StoreSettings], amazon: SpApiClient, commerce: Mapping[str, CommerceClient],
                 channel: ChannelStore, *, workers: int = 8, worker_id: str | None = None,
                 lease: timedelta = timedelta(minutes=15), settle: timedelta = DEFAULT_SETTLE,
                 retry: timedelta = DEFAULT_RETRY, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 logger: logging.Logger = log) -> None:
        accounts = {store.amazon_conn_id for store in stores}
        if len(accounts) != 1:
            raise ValueError(f"one seller account per import, got {sorted(accounts)}")
        self.stores, self.amazon, self.channel, self._clock, self._log = list(stores), amazon, channel, clock, logger
        self.account = accounts.pop()
        self.work = OutboxWork(channel.outbox, worker_id or default_worker_id(), lease, settle, retry, clock)
        salable: dict[str, SalableQuantities] = {}  # one per Commerce installation
        self.importers = {store.key: StoreImporter(
            store, commerce[store.key], channel, self.work, workers=workers,
            salable=salable.setdefault(store.commerce_conn_id, SalableQuantities()), logger=logger)
            for store in stores}
        self._by_marketplace = {m: self.importers[store.key] for store in stores for m in store.marketplace_ids}

    def plan_window(self) -> ImportWindow:
        return plan_window(self.stores, self.channel, self._clock())

    # -- a run --------------------------------------------------------------------------------------

    def run(self, window: ImportWindow, deadline: float | None = None) -> AccountSummary:
        """Import the window (from its checkpoint), then retry due quarantined orders and resume what
        earlier runs left. ``deadline`` (``time.monotonic()``) ends the run early with its progress saved."""
        summary = self._summary()
        with self._writers():
            summary.window_complete = self._read_window(window, deadline, summary)
            if summary.window_complete:
                self._advance_watermarks(window, summary)
            self._retry_quarantined(window, deadline, summary)
            for key, importer in self.importers.items():
                self._resume_creates(importer, deadline, summary)
                importer.resume_unfinished(summary.stores[key])
        for store in summary.stores.values():
            self._log.info("summary: %s", store.line())
        self._log.info("summary: %s", summary.line())
        if summary.failed:
            errors = [e for s in summary.stores.values() for e in s.errors]
            raise ImportIncomplete(f"account {self.account}: {summary.failed} orders failed and will be retried; "
                                   f"first errors: {'; '.join(errors[:3])}")
        return summary

    # -- an operator's re-import (see pipeline.operations) --------------------------------------------

    def read_order(self, order_id: str) -> Mapping[str, Any]:
        """The order as Amazon has it now: getOrder with every dataset the import uses (``SpApiError``
        with status 404 when this seller account has no such order)."""
        return self.amazon.get_order(order_id, ORDER_DATASETS).raw

    def import_now(self, raws: Sequence[Mapping[str, Any]],
                   corrections: Mapping[str, AddressCorrection] | None = None) -> AccountSummary:
        """Import orders read by ``read_order`` at once, on the path of a run's re-reads: a linked order
        is not created again, a quarantined one is retried whatever its backoff, one a person skipped
        stays skipped. ``corrections``: a corrected shipping address by order id, for this import only.
        The summary keeps each order's outcome."""
        summary = self._summary(track_orders=True)
        with self._writers():
            self._import_rereads(list(raws), summary, corrections)
        return summary

    def reimport_window(self, window: ImportWindow, deadline: float | None = None) -> AccountSummary:
        """Read ``window`` again and import its orders as a run imports its window, but apart from the
        scheduled import: a checkpoint of its own (``reimport_stream``: a retry continues after the last
        page done), no watermark moved, no quarantine retries or resumed creates. The summary keeps each
        order's outcome; ``window_complete`` is False when ``deadline`` came first."""
        summary = self._summary(track_orders=True)
        stream = reimport_stream(window)
        with self._writers():
            summary.window_complete = self._read_window(window, deadline, summary, stream)
        if summary.window_complete:
            self.channel.checkpoints.clear(self.account, stream)
        return summary

    def _summary(self, track_orders: bool = False) -> AccountSummary:
        return AccountSummary(self.account, {key: ImportSummary(key, orders={} if track_orders else None)
                                             for key in self.importers})

    @contextmanager
    def _writers(self) -> Iterator[None]:
        """Every store's Commerce writers for the block (see ``StoreImporter.writers``)."""
        with ExitStack() as stack:
            for importer in self.importers.values():
                stack.enter_context(importer.writers())
            yield

    def _read_window(self, window: ImportWindow, deadline: float | None, summary: AccountSummary,
                     stream: str = STREAM) -> bool:
        """Import the window's pages from the checkpoint of ``stream`` on; True when its last page is done."""
        current = self.channel.checkpoints.get(self.account, stream)
        if current is None or (current.after, current.before, current.marketplace_ids) != (
                window.after, window.before, window.marketplace_ids):
            if stream == STREAM and self._window_done(window):
                self._log.info("account %s: window up to %s is imported already", self.account, window.before)
                return True
            current = Checkpoint(window.after, window.before, window.marketplace_ids, None, 0, None)
            self.channel.checkpoints.save(self.account, stream, current)
        elif current.pages_done and current.next_token is None:
            return True  # its last page was done by a run that stopped before moving the watermarks
        summary.resumed_at_page = current.pages_done
        if current.pages_done:
            self._log.info("account %s: continuing the window at page %d", self.account, current.pages_done + 1)
        progress = ProgressLog(self._log)
        pending: deque[tuple[OrderPage, list[Future[None]]]] = deque()
        stop = threading.Event()
        done = current
        try:
            for page in self._read_ahead(window, current.next_token, stop, deadline, summary):
                summary.pages += 1
                pending.append((page, self._import_routed([order.raw for order in page.orders], summary)))
                self._wait_for_room(pending)
                done = self._save_done_pages(pending, done, stream, wait_all=False)
                progress.maybe(lambda: f"account {self.account}: {summary.pages} pages read, "
                                       f"{ {k: dict(s.outcomes) for k, s in summary.stores.items()} }, waited "
                                       f"{self.amazon.stats.total('rate_wait_s'):.1f}s for Amazon's rate limits")
                if deadline is not None and time.monotonic() >= deadline:
                    self._log.info("account %s: the run's time is up; the window continues next run", self.account)
                    break
        finally:
            stop.set()
            done = self._save_done_pages(pending, done, stream, wait_all=True)
        summary.window_end = done.window_end or window.before
        return done.pages_done > 0 and done.next_token is None

    def _read_ahead(self, window: ImportWindow, token: str | None, stop: threading.Event, deadline: float | None,
                    summary: AccountSummary) -> Iterator[OrderPage]:
        """The window's pages from ``token`` on, read by a thread of their own while the previous page
        is imported: Amazon's usage plan paces the reading and Commerce the writing. One page ahead, no
        more: a page read and never imported (the run's deadline came) is read again by the next run,
        and an unread page costs nothing (the usage plan's burst waits in the bucket). The reader stops —
        spending no more of the shared plan — as soon as the importing side stops or the deadline is near."""
        pages: queue.Queue[OrderPage | BaseException | None] = queue.Queue()
        taken = threading.Semaphore(1)  # the next page is fetched once the previous one is taken
        bounds = ({"created_after": window.after, "created_before": window.before} if window.by_creation
                  else {"last_updated_after": window.after, "last_updated_before": window.before})
        search = self.amazon.search_orders(**bounds, marketplace_ids=window.marketplace_ids,
                                           included_data=ORDER_DATASETS)

        def may_read_on() -> bool:
            while not taken.acquire(timeout=0.2):
                if stop.is_set():
                    return False
            return not stop.is_set() and (deadline is None or time.monotonic() < deadline)

        def read() -> None:
            started = time.monotonic()
            try:
                if not may_read_on():
                    return
                for page in self._pages_from(search, token):
                    pages.put(page)
                    if not page.next_token or not may_read_on():
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the importing thread, which raises it
                pages.put(exc)
            finally:
                summary.fetch_s = time.monotonic() - started
                pages.put(None)

        threading.Thread(target=read, name=f"read-{self.account}", daemon=True).start()
        while (page := pages.get()) is not None:
            if isinstance(page, BaseException):
                raise page
            taken.release()
            yield page

    def _pages_from(self, search: OrderSearch, token: str | None) -> Iterator[OrderPage]:
        """The pages from the saved token on; a token Amazon refuses (expired after 24 hours) restarts
        the window from its first page: orders read twice are linked already and cost nothing more."""
        first = True
        try:
            for page in search.pages(start_token=token):
                first = False
                yield page
        except SpApiError as exc:
            if token is None or not first or exc.status != 400:
                raise
            self._log.warning("account %s: the saved page token was refused (%s); reading the window from its "
                              "first page", self.account, describe_error(exc))
            yield from search.pages()

    def _import_routed(self, raws: Sequence[Mapping[str, Any]], summary: AccountSummary,
                       corrections: Mapping[str, AddressCorrection] | None = None) -> list[Future[None]]:
        """Route the orders to their stores by marketplace and import them; the futures of their creates."""
        routed: dict[str, list[Mapping[str, Any]]] = {}
        for raw in raws:
            routed.setdefault(self.route(raw).settings.key, []).append(raw)
        return [future for key, batch in routed.items()
                if (future := self.importers[key].import_orders(batch, summary.stores[key], corrections)) is not None]

    @staticmethod
    def _wait_for_room(pending: deque[tuple[OrderPage, list[Future[None]]]]) -> None:
        """Hold the next page back while more than ``PAGES_IN_FLIGHT`` pages are still being created."""
        running = [futures for _, futures in pending if not all(f.done() for f in futures)]
        while len(running) > PAGES_IN_FLIGHT:
            wait(running[0])
            running.pop(0)

    def _save_done_pages(self, pending: deque[tuple[OrderPage, list[Future[None]]]], done: Checkpoint, stream: str,
                         wait_all: bool) -> Checkpoint:
        """Move the checkpoint past the leading pages whose orders are all done."""
        moved = done
        while pending:
            page, futures = pending[0]
            if wait_all:
                wait(futures)
            elif not all(f.done() for f in futures):
                break
            if any(f.exception() for f in futures):
                break  # re-raised below, after the checkpoint is saved
            pending.popleft()
            moved = Checkpoint(done.after, done.before, done.marketplace_ids, page.next_token,
                               moved.pages_done + 1, page.last_updated_before or moved.window_end)
        if moved is not done:
            self.channel.checkpoints.save(self.account, stream, moved)
        if wait_all:
            for _, futures in pending:
                _raise_first_failure(futures)
        return moved

    def _window_done(self, window: ImportWindow) -> bool:
        marks = [self.channel.watermarks.get(store.key, STREAM) for store in self.stores]
        return all(mark is not None and mark >= window.before for mark in marks)

    def _advance_watermarks(self, window: ImportWindow, summary: AccountSummary) -> None:
        """Each store the window covered from its own start moves to the window's end; a store whose
        start lies before the window (added since it was planned) is read by the next window."""
        end = summary.window_end or window.before
        for store in self.stores:
            if store_start(store, self.channel) >= window.after:
                summary.watermarks[store.key] = self.channel.watermarks.advance(store.key, STREAM, end)
        self.channel.checkpoints.clear(self.account, STREAM)

    # -- retries ------------------------------------------------------------------------------------

    def _retry_quarantined(self, window: ImportWindow, deadline: float | None, summary: AccountSummary) -> None:
        """Re-read the quarantined orders of these stores' marketplaces whose backoff has passed."""
        due = self.channel.quarantine.due(self.account, limit=REREAD_LIMIT * len(self.stores),
                                          marketplace_ids=window.marketplace_ids)
        raws = self._reread([entry.amazon_order_id for entry in due], deadline, summary, self._unservable_quarantine)
        for raw in raws:
            importer = self.route(raw)
            summary.stores[importer.settings.key].retried_from_quarantine += 1
        self._import_rereads(raws, summary)

    def _resume_creates(self, importer: StoreImporter, deadline: float | None, summary: AccountSummary) -> None:
        """Creates left due: a transient failure, an ambiguous create whose settle delay has passed, a
        worker that died holding the claim. Re-read (no buyer data is kept) and imported again."""
        order_ids = importer.due_creates(REREAD_LIMIT)
        if not order_ids:
            return
        summary.stores[importer.settings.key].resumed += len(order_ids)
        self._import_rereads(self._reread(order_ids, deadline, summary, self._unservable_create), summary)

    def _import_rereads(self, raws: list[Mapping[str, Any]], summary: AccountSummary,
                        corrections: Mapping[str, AddressCorrection] | None = None) -> None:
        futures = self._import_routed(raws, summary, corrections)
        wait(futures)
        _raise_first_failure(futures)

    def route(self, raw: Mapping[str, Any]) -> StoreImporter:
        """The store of the order's marketplace. An order whose marketplace cannot be told goes to the
        first store, which quarantines it naming the field (or skips it: another marketplace)."""
        channel = raw.get("salesChannel") if isinstance(raw, Mapping) else None
        marketplace = channel.get("marketplaceId") if isinstance(channel, Mapping) else None
        first = self.importers[self.stores[0].key]
        return self._by_marketplace.get(marketplace, first) if isinstance(marketplace, str) else first

    def _reread(self, order_ids: Sequence[str], deadline: float | None, summary: AccountSummary,
                unservable: Callable[[str, str], None]) -> list[Mapping[str, Any]]:
        """The orders as Amazon has them now, one getOrder each. One that cannot be re-read never stops
        the others: ``unservable`` closes what Amazon will never serve (a 404); a transient failure
        pushes that order's next attempt back."""
        raws = []
        for order_id in dict.fromkeys(order_ids):
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                raws.append(self.amazon.get_order(order_id, ORDER_DATASETS).raw)
            except SpApiError as exc:
                if exc.status == 404:
                    unservable(order_id, "Amazon no longer serves this order (getOrder: 404 NotFound; "
                                         "orders older than two years are not served)")
                    continue
                self._reread_failed(order_id, exc, summary)
            except Exception as exc:  # noqa: BLE001 - one re-read must not stop the others
                self._reread_failed(order_id, exc, summary)
        return raws

    def _reread_failed(self, order_id: str, exc: BaseException, summary: AccountSummary) -> None:
        summary.rereads_failed += 1
        self._log.warning("order %s: re-reading from Amazon failed (%s); tried again later", order_id,
                          describe_error(exc))
        entry = self.channel.quarantine.get(self.account, order_id)
        if entry is not None and entry.resolved_at is None:  # push its next attempt back
            self.channel.quarantine.record(self.account, order_id, entry.reason_code, entry.message)

    def _unservable_quarantine(self, order_id: str, why: str) -> None:
        if self.channel.quarantine.resolve(self.account, order_id, resolved_by="import", resolution=f"closed: {why}"):
            self.channel.events.append(self.account, order_id, "quarantine_closed", why)
            self._log.warning("order %s: quarantine closed: %s", order_id, why)

    def _unservable_create(self, order_id: str, why: str) -> None:
        source = f"{self.account}/{order_id}"
        for item in self.work.claim(CREATE_KIND, [source]).values():
            self.channel.outbox.mark_failed(item.id, f"given up: {why}", self.work.worker_id)
        self.channel.events.append(self.account, order_id, "import_given_up", why)
        self._log.error("order %s: create given up: %s", order_id, why)


def _raise_first_failure(futures: Sequence[Future[None]]) -> None:
    for future in futures:
        if (exc := future.exception()) is not None:
            raise exc
