"""Import: Amazon orders become Commerce orders, exactly once, one store at a time.

The flow of one run (see ../shared/DESIGN.md, "The flows"):

1. Read the window ``lastUpdatedAfter`` = watermark − overlap … ``lastUpdatedBefore`` = two minutes
   back, planned once per run and reused by its retries (``plan_window``).
2. Page through searchOrders (items inline: no per-order Amazon call). For each page: keep a snapshot
   without buyer PII, decide per order by the creation matrix, check the catalog and stock, map.
3. For the orders to create: one batch lookup of links, then the *create claim* — an outbox item per
   Amazon order, unique on (kind, order) and claimed under a lease — so that of two overlapping runs or
   workers exactly one creates; then one batch lookup of Commerce orders by ``ext_order_id``, which
   covers a crash between create and link and adopts orders made earlier by another connector.
4. Create the rest concurrently, link, take stock (its own outbox item: once), complete Amazon-
   fulfilled orders (invoice + shipment), record events.
5. Advance the watermark to the ``lastUpdatedBefore`` Amazon returned, only when every order of the
   window was imported, skipped by rule or quarantined.

Quarantined orders are retried from their own table (re-read with getOrder: no PII is kept), and
create claims left behind by a crashed worker are resumed once their lease expires.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sales_channel.amazon.client import OrderPage, OrderSearch, SpApiClient
from sales_channel.amazon.errors import SpApiError
from sales_channel.amazon.models import IncludedData
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.errors import AmbiguousWriteError, CommerceError, ValidationError
from sales_channel.commerce.models import Order as CommerceOrder
from sales_channel.domain.amazon_order import AmazonOrder, parse_order
from sales_channel.domain.errors import ImportBlocked, QuarantineReason
from sales_channel.domain.mapping import (
    CatalogProduct,
    CommerceOrderDraft,
    StoreCurrency,
    commerce_sku_for,
    for_customer,
    map_order,
    split_name,
)
from sales_channel.domain.rules import Decision, decide
from sales_channel.domain.settings import CustomerCreation, StockHandling, StoreSettings
from sales_channel.pipeline.progress import ProgressLog
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.locks import hold
from sales_channel.store.models import OutboxItem, OutboxStatus, QuarantinedOrder
from sales_channel.store.snapshots import OrderSnapshot

log = logging.getLogger(__name__)

ORDER_DATASETS = (IncludedData.BUYER, IncludedData.RECIPIENT, IncludedData.PROCEEDS, IncludedData.PROMOTION,
                  IncludedData.FULFILLMENT, IncludedData.PACKAGES, IncludedData.TAX, IncludedData.CANCELLATION)
WATERMARK_STREAM = "import"
# Re-read a little before the watermark: Amazon's lastUpdatedTime can land late in its index.
OVERLAP = timedelta(minutes=10)
# searchOrders refuses a lastUpdatedBefore less than two minutes before the request.
SETTLE = timedelta(minutes=2, seconds=5)
# Pages read ahead of the import (memory: ~100 orders each, no buyer data kept beyond the run).
READ_AHEAD_PAGES = 20
CREATE_KIND = "commerce_order_create"
STOCK_KIND = "commerce_stock_take"
STOCK_RETURN_KIND = "commerce_stock_return"
COMMENT = "{how} by the Amazon Sales Channel pipelines: Amazon order {order_id} ({channel})."


class Outcome(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"  # a Commerce order with this ext_order_id existed: linked, not re-created
    ALREADY_LINKED = "already_linked"
    SKIPPED = "skipped"  # by rule (pending, cancelled, before connected, ...)
    QUARANTINED = "quarantined"
    ELSEWHERE = "in_progress_elsewhere"  # another worker holds the create claim
    READ_ONLY = "read_only"  # would be created; the store is in read-only mode
    FAILED = "failed"  # a transient error: retried by the task and by the next run


DONE = {Outcome.CREATED, Outcome.ADOPTED, Outcome.ALREADY_LINKED, Outcome.SKIPPED, Outcome.QUARANTINED}


class ImportIncomplete(RuntimeError):
    """Some orders failed transiently; the rest were imported. The task fails so Airflow retries it."""


@dataclass(frozen=True)
class ImportWindow:
    after: datetime
    before: datetime

    def to_json(self) -> dict[str, str]:
        return {"after": self.after.isoformat(), "before": self.before.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> ImportWindow:
        return cls(datetime.fromisoformat(data["after"]), datetime.fromisoformat(data["before"]))


@dataclass
class ImportSummary:
    store: str
    pages: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    resolved: int = 0
    retried_from_quarantine: int = 0
    resumed: int = 0
    window_end: datetime | None = None
    watermark: datetime | None = None
    fetch_s: float = 0.0  # from the first searchOrders call to the last page
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not any(self.outcomes[o] for o in Outcome if o not in DONE)

    def line(self) -> str:
        counts = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()) if n) or "no orders"
        reasons = f" (quarantine: {dict(self.quarantine_reasons)})" if self.quarantine_reasons else ""
        end = f"; watermark → {self.watermark:%Y-%m-%dT%H:%M:%SZ}" if self.watermark else "; watermark unchanged"
        return (f"store {self.store}: {self.pages} pages in {self.fetch_s:.1f}s, {counts}{reasons}; "
                f"{self.resolved} resolved{end}")

    def to_json(self) -> dict[str, Any]:
        """A small summary for XCom."""
        return {"store": self.store, "pages": self.pages, "fetch_s": round(self.fetch_s, 3),
                "outcomes": dict(self.outcomes),
                "quarantine_reasons": dict(self.quarantine_reasons), "resolved": self.resolved,
                "watermark": self.watermark.isoformat() if self.watermark else None}


def plan_window(settings: StoreSettings, channel: ChannelStore, now: datetime) -> ImportWindow:
    """A run's window: from the store's watermark (minus an overlap) to two minutes before ``now``."""
    mark = channel.watermarks.get(settings.key, WATERMARK_STREAM)
    after = mark - OVERLAP if mark else settings.connected_since
    before = now - SETTLE
    return ImportWindow(after=min(after, before), before=before)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OrderImporter:
    """Imports one store's Amazon orders into its Commerce store."""

    def __init__(self, settings: StoreSettings, amazon: SpApiClient, commerce: CommerceClient,
                 channel: ChannelStore, *, workers: int = 8, worker_id: str | None = None,
                 lease: timedelta = timedelta(minutes=15), clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 logger: logging.Logger = log) -> None:
        self.settings, self.amazon, self.commerce, self.channel = settings, amazon, commerce, channel
        self.workers, self.lease, self._clock, self._log = max(1, workers), lease, clock, logger
        self.worker_id = worker_id or default_worker_id()
        self.account = settings.amazon_conn_id
        self._salable: dict[str, Decimal] = {}  # Commerce SKU → salable quantity, minus what this run took
        self._lock = threading.Lock()  # guards _salable and the summary's counters across creating threads
        self._currency: StoreCurrency | None = None
        self._website: int | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._finisher: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()  # orders this run has claimed and is creating
        self._batches: list[Future[None]] = []  # each batch's stock taking, after its creates

    # -- the window ----------------------------------------------------------------------------------

    def plan_window(self) -> ImportWindow:
        return plan_window(self.settings, self.channel, self._clock())

    # -- a run ---------------------------------------------------------------------------------------

    def run(self, window: ImportWindow) -> ImportSummary:
        """Import the window, retry due quarantined orders and resume abandoned creates."""
        summary = ImportSummary(store=self.settings.key)
        progress = ProgressLog(self._log)
        search = self.amazon.search_orders(
            last_updated_after=window.after, last_updated_before=window.before,
            marketplace_ids=self.settings.marketplace_ids, included_data=ORDER_DATASETS)
        with self._writers():  # a page is prepared while the previous one's orders are being created
            for page in self._read_ahead(search, summary):
                summary.pages += 1
                self.import_orders([order.raw for order in page.orders], summary)
                progress.maybe(lambda: f"store {self.settings.key}: {summary.pages} pages read, "
                                       f"{dict(summary.outcomes)}, waited "
                                       f"{self.amazon.stats.total('rate_wait_s'):.1f}s for Amazon's rate limits")
        summary.window_end = search.window_end
        window_complete = summary.complete
        self.retry_quarantined(summary)
        self.resume_abandoned(summary)
        if window_complete and not self.settings.read_only and summary.window_end:
            summary.watermark = self.channel.watermarks.advance(self.settings.key, WATERMARK_STREAM,
                                                                summary.window_end)
        self._log.info("summary: %s", summary.line())
        if summary.outcomes[Outcome.FAILED]:
            raise ImportIncomplete(f"store {self.settings.key}: {summary.outcomes[Outcome.FAILED]} orders failed "
                                   f"and will be retried; first errors: {'; '.join(summary.errors[:3])}")
        return summary

    def _read_ahead(self, search: OrderSearch, summary: ImportSummary) -> Iterator[OrderPage]:
        """The window's pages, read by a thread of their own while earlier pages are imported: Amazon's
        usage plan paces the reading and Commerce the writing, and neither waits for the other."""
        pages: queue.Queue[OrderPage | BaseException | None] = queue.Queue(maxsize=READ_AHEAD_PAGES)

        def read() -> None:
            started = time.monotonic()
            try:
                for page in search.pages():
                    pages.put(page)
            except BaseException as exc:  # noqa: BLE001 - handed to the importing thread, which raises it
                pages.put(exc)
            finally:
                summary.fetch_s = time.monotonic() - started
                pages.put(None)

        threading.Thread(target=read, name=f"read-{self.settings.key}", daemon=True).start()
        while (page := pages.get()) is not None:
            if isinstance(page, BaseException):
                raise page
            yield page

    def retry_quarantined(self, summary: ImportSummary, limit: int = 100) -> None:
        """Re-read quarantined orders whose backoff has passed and import them again."""
        due = [e.amazon_order_id for e in self.channel.quarantine.due(self.account, limit=limit)]
        # A seller account may feed several stores (one per marketplace group): retry only this store's.
        snapshots = self.channel.snapshots.get_many(self.account, due)
        mine = [i for i in due if i not in snapshots or snapshots[i].marketplace_id in self.settings.marketplace_ids]
        if mine:
            summary.retried_from_quarantine += len(mine)
            self.import_orders(self._reread(mine), summary)

    def resume_abandoned(self, summary: ImportSummary, limit: int = 100) -> None:
        """Creates claimed by a worker that died (lease expired) or that failed transiently."""
        ids = self.channel.outbox.due_sources(CREATE_KIND, target=self.settings.key, limit=limit)
        if ids:
            summary.resumed += len(ids)
            self.import_orders(self._reread(source.split("/", 1)[1] for source in ids), summary)

    def reimport(self, order_ids: Sequence[str]) -> ImportSummary:
        """Import these orders now (a person's re-import): re-read from Amazon, same rules."""
        summary = ImportSummary(store=self.settings.key)
        self.import_orders(self._reread(order_ids), summary)
        return summary

    def _reread(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        return [self.amazon.get_order(order_id, ORDER_DATASETS).raw for order_id in dict.fromkeys(order_ids)]

    # -- one batch -----------------------------------------------------------------------------------

    def import_orders(self, raw_orders: Sequence[Mapping[str, Any]], summary: ImportSummary) -> None:
        """Import a batch of raw Amazon orders (one searchOrders page, or orders re-read one by one)."""
        if not raw_orders:
            return
        with self._writers():
            self._import_batch(raw_orders, summary)

    @contextmanager
    def _writers(self) -> Iterator[None]:
        """The threads that write to Commerce, for the block: ``workers`` creating orders, and one that
        takes each batch's stock once its orders exist. Leaving the block waits for all of them."""
        if self._pool is not None:  # already inside a run
            yield
            return
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="import")
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-stock")
        try:
            yield
            for batch in self._batches:
                batch.result()  # re-raises what taking a batch's stock raised
        finally:
            self._pool.shutdown(wait=True)
            self._finisher.shutdown(wait=True)
            self._pool = self._finisher = None
            self._in_flight.clear()
            self._batches.clear()

    def _import_batch(self, raw_orders: Sequence[Mapping[str, Any]], summary: ImportSummary) -> None:
        changed = self._snapshot(raw_orders)
        open_quarantine = self.channel.quarantine.open_among(
            self.account, [raw["orderId"] for raw in raw_orders if isinstance(raw.get("orderId"), str)])
        to_create: list[tuple[AmazonOrder, Decision]] = []
        for raw in raw_orders:
            try:
                order = parse_order(raw)
            except ImportBlocked as blocked:
                self._quarantine(blocked, summary)
                continue
            decision = decide(order, self.settings)
            summary.decisions[decision] += 1
            if decision.creates and self.settings.import_enabled:
                to_create.append((order, decision))
                continue
            summary.outcomes[Outcome.SKIPPED] += 1
            if decision is Decision.SKIP_CANCELLED:
                self._return_stock(order.order_id)
            if changed.get(order.order_id):
                self._event(order.order_id, "skipped", f"not imported: {decision.value.replace('_', ' ')}",
                            {"status": order.status.value, "fulfilled_by": order.fulfilled_by.value})
            if order.order_id in open_quarantine and decision is not Decision.SKIP_OTHER_MARKETPLACE:
                self._resolve(order.order_id, f"skipped by rule: {decision.value}", summary)
        if to_create:
            self._create_all(to_create, open_quarantine, summary)

    def _create_all(self, orders: list[tuple[AmazonOrder, Decision]], open_quarantine: set[str],
                    summary: ImportSummary) -> None:
        # An order Amazon returned on two pages is being created already, by this run.
        orders = [(o, d) for o, d in orders if o.order_id not in self._in_flight]
        links = self.channel.links.get_many(self.account, [o.order_id for o, _ in orders])
        for order, _ in orders:
            if order.order_id in links:
                summary.outcomes[Outcome.ALREADY_LINKED] += 1
                if order.order_id in open_quarantine:
                    self._resolve(order.order_id, "already imported", summary)
        pending = [(o, d) for o, d in orders if o.order_id not in links]
        if not pending:
            return
        drafts = self._map_all(pending, summary)
        if not drafts:
            return
        if self.settings.read_only:
            summary.outcomes[Outcome.READ_ONLY] += len(drafts)
            self._log.info("read-only store %s: %d orders would be created", self.settings.key, len(drafts))
            return
        mine = self._claim(drafts, summary)
        if not mine:
            return
        existing = self.commerce.find_orders_by_ext_order_ids([order.order_id for order, _, _ in mine])
        to_create = []
        for order, draft, claim in mine:
            found = existing.get(order.order_id) or []
            if found:
                self._adopt(order, claim, found, summary, open_quarantine)
            else:
                to_create.append((order, draft, claim))
        if self.settings.customer_creation is CustomerCreation.CREATE:
            to_create = self._as_customers(to_create, summary)
        self._in_flight.update(order.order_id for order, _, _ in mine)
        creates = [self._pool.submit(self._create_one, order, draft, claim, summary, open_quarantine)
                   for order, draft, claim in to_create]
        self._batches.append(self._finisher.submit(self._after_creates, creates,
                                                   [order.order_id for order, _, _ in mine]))

    def _after_creates(self, creates: list[Future[None]], order_ids: list[str]) -> None:
        wait(creates)
        self._take_stock(order_ids)

    def _map_all(self, orders: list[tuple[AmazonOrder, Decision]],
                 summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft]]:
        """Map each order, quarantining the blocked ones; stock is counted down in Amazon's order."""
        sku_map = self.channel.skus.get_many(self.account, {i.seller_sku for o, _ in orders for i in o.items})
        products = self._catalog({commerce_sku_for(i, sku_map) for o, _ in orders for i in o.items})
        currency = self._store_currency()
        drafts = []
        for order, decision in orders:
            try:
                with self._lock:
                    draft = map_order(order, decision, self.settings, currency, self._with_salable(products), sku_map)
                    for sku, qty in draft.stock_moves:
                        self._salable[sku] -= qty
            except ImportBlocked as blocked:
                self._quarantine(blocked, summary)
                continue
            drafts.append((order, draft))
        return drafts

    def _claim(self, drafts: list[tuple[AmazonOrder, CommerceOrderDraft]],
               summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]]:
        """Take the create claim of each order; those another worker holds are left to it."""
        sources = {self._source(order.order_id): (order, draft) for order, draft in drafts}
        self.channel.outbox.enqueue_many(CREATE_KIND, self.settings.key, {
            source: {"store": self.settings.key, "amazon_order_id": order.order_id}
            for source, (order, _) in sources.items()})
        claimed = self.channel.outbox.claim_sources(CREATE_KIND, list(sources), self.worker_id, self.lease)
        mine = []
        for source, (order, draft) in sources.items():
            if source in claimed:
                mine.append((order, draft, claimed[source]))
            else:
                summary.outcomes[Outcome.ELSEWHERE] += 1
                with self._lock:  # not ours to take
                    for sku, qty in draft.stock_moves:
                        self._salable[sku] += qty
        return mine

    def _create_one(self, order: AmazonOrder, draft: CommerceOrderDraft, claim: OutboxItem,
                    summary: ImportSummary, open_quarantine: set[str]) -> None:
        if not self.channel.outbox.renew(claim.id, self.worker_id, self.lease):
            # Waited so long that the claim expired and another worker took it over: it is theirs now.
            with self._lock:
                summary.outcomes[Outcome.ELSEWHERE] += 1
            return
        try:
            try:
                created = self.commerce.create_order(draft.entity)
            except AmbiguousWriteError:
                # The create may have happened: look before writing again.
                found = self.commerce.find_orders_by_ext_order_ids([order.order_id]).get(order.order_id) or []
                if not found:
                    raise
                self._adopt(order, claim, found, summary, open_quarantine)
                return
            except ValidationError as rejected:
                why = _without_values(rejected)
                entry = self._quarantine(ImportBlocked(QuarantineReason.COMMERCE_REJECTED, order.order_id, "order",
                                                       f"Commerce refused it: {why}"), summary)
                # The claim comes due again with the quarantine's next attempt, not before.
                self.channel.outbox.mark_failed(claim.id, f"Commerce refused the order: {why}", self.worker_id,
                                                retry_at=entry.next_attempt_at)
                return
            self._finish(order, claim, created, draft.stock_moves, Outcome.CREATED, summary, open_quarantine)
        except Exception as exc:  # noqa: BLE001 - one order's failure must not stop the others
            self._fail(order.order_id, claim.id, exc, summary)

    def _adopt(self, order: AmazonOrder, claim: OutboxItem, found: list[CommerceOrder], summary: ImportSummary,
               open_quarantine: set[str]) -> None:
        first = min(found, key=lambda o: o.entity_id)
        if len(found) > 1:
            self._log.warning("order %s has %d Commerce orders already (entity ids %s): linking the first",
                              order.order_id, len(found), sorted(o.entity_id for o in found))
        # Stock is not taken for an adopted order: whoever created it was in charge of that.
        self._finish(order, claim, first, (), Outcome.ADOPTED, summary, open_quarantine)

    def _finish(self, order: AmazonOrder, claim: OutboxItem, commerce_order: CommerceOrder,
                stock_moves: tuple[tuple[str, int], ...], outcome: Outcome, summary: ImportSummary,
                open_quarantine: set[str]) -> None:
        """Link, take stock, complete an Amazon-fulfilled order, comment, release the claim, record events."""
        entity_id, increment_id = commerce_order.entity_id, commerce_order.increment_id
        result = self.channel.links.create(self.account, order.order_id, commerce_entity_id=entity_id,
                                           commerce_increment_id=increment_id, store_code=self.settings.store_code)
        if not result.created and result.link.commerce_entity_id != entity_id:
            self._log.warning("order %s was linked meanwhile to Commerce order %s; %s left unlinked",
                              order.order_id, result.link.commerce_entity_id, entity_id)
        if stock_moves and self.settings.stock_handling is not StockHandling.LEAVE:
            # Taken for the whole batch once its orders are created (see _take_stock).
            self.channel.outbox.enqueue(STOCK_KIND, self._source(order.order_id), self.settings.key,
                                        {"moves": [[sku, qty] for sku, qty in stock_moves]})
        # Comment first, with the status the order has now: completing it afterwards needs no re-read.
        self._comment(order, entity_id, outcome, commerce_order.status)
        if order.is_afn and commerce_order.state != "complete":
            self._complete_afn(entity_id, fresh=outcome is Outcome.CREATED)
        self.channel.outbox.mark_confirmed(claim.id, self.worker_id)
        verb = "created" if outcome is Outcome.CREATED else "adopted existing"
        self._event(order.order_id, outcome.value, f"{verb} Commerce order {increment_id}",
                    {"commerce_entity_id": entity_id, "commerce_increment_id": increment_id,
                     "store_code": self.settings.store_code})
        with self._lock:
            summary.outcomes[outcome] += 1
        if order.order_id in open_quarantine:
            self._resolve(order.order_id, f"{outcome.value} as Commerce order {increment_id}", summary)

    def _complete_afn(self, entity_id: int, fresh: bool) -> None:
        """An order Amazon shipped: invoice and ship it in Commerce, so it is complete there too.
        An order this run just created has neither yet; an adopted one is checked first."""
        if fresh or not self.commerce.list_invoices([entity_id]):
            self.commerce.invoice_order(entity_id, capture=True)
        if fresh or not self.commerce.list_shipments([entity_id]):
            self.commerce.ship_order(entity_id, comment="Shipped by Amazon (Fulfilled by Amazon)")

    def _comment(self, order: AmazonOrder, entity_id: int, outcome: Outcome, status: str) -> None:
        """Record the import on the Commerce order, keeping its status (an empty one would blank it)."""
        how = "Imported" if outcome is Outcome.CREATED else "Linked"
        channel = "Fulfilled by Amazon" if order.is_afn else "merchant fulfilled"
        self.commerce.add_order_comment(entity_id, COMMENT.format(how=how, order_id=order.order_id, channel=channel),
                                        status=status)

    def _take_stock(self, order_ids: Sequence[str]) -> None:
        """Lower the salable quantity of the batch's new merchant-fulfilled orders, once per order.

        Each order's stock item was queued when the order was created; claiming them makes sure only
        one worker applies each, and the quantities are summed per SKU so a page costs two Commerce
        calls per SKU, not per order line.
        """
        claimed = self.channel.outbox.claim_sources(STOCK_KIND, [self._source(i) for i in order_ids],
                                                    self.worker_id, self.lease)
        if not claimed:
            return
        units: Counter[str] = Counter()
        for item in claimed.values():
            units.update({sku: qty for sku, qty in item.payload["moves"]})
        self._move_stock(tuple(units.items()), sign=-1)
        for item in claimed.values():
            self.channel.outbox.mark_confirmed(item.id, self.worker_id)

    def _return_stock(self, order_id: str) -> None:
        """An order cancelled on Amazon gives back the stock its import took, once."""
        source = self._source(order_id)
        taken = self.channel.outbox.get(STOCK_KIND, source)
        if taken is None or taken.status != OutboxStatus.CONFIRMED:
            return
        item, _ = self.channel.outbox.enqueue(STOCK_RETURN_KIND, source, self.settings.key, taken.payload)
        if source not in self.channel.outbox.claim_sources(STOCK_RETURN_KIND, [source], self.worker_id, self.lease):
            return
        moves = tuple((sku, qty) for sku, qty in taken.payload["moves"])
        self._move_stock(moves, sign=+1)
        self.channel.outbox.mark_confirmed(item.id, self.worker_id)
        self._event(order_id, "stock_returned", "cancelled on Amazon: stock given back",
                    {"moves": taken.payload["moves"]})

    def _move_stock(self, moves: tuple[tuple[str, int], ...], sign: int) -> None:
        """Add (sign +1) or take (-1) units. Commerce only sets absolute quantities, so each read and
        write of a store's stock happens under a lock every worker of that Commerce store shares."""
        def move(sku: str, qty: int) -> None:
            current = self.commerce.get_stock_item(sku).qty
            self.commerce.update_stock_qty(sku, max(Decimal(0), current + sign * qty))

        with hold(self.channel.engine, f"commerce-stock:{self.settings.commerce_conn_id}"):
            self._each(move, moves)
        with self._lock:  # what this run believes is salable follows what it changed
            for sku, qty in moves:
                if sku in self._salable and sign > 0:
                    self._salable[sku] += qty

    def _as_customers(self, batch: list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]],
                      summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]]:
        """Place each order as its buyer's customer account (created when missing). Orders without a
        buyer email (Amazon-fulfilled) stay guest orders; an order whose account could not be made fails
        for now and is retried, rather than being created as a guest."""
        failures: dict[str, Exception] = {}
        customers = self._customers([order for order, _, _ in batch], failures)
        placed = []
        for order, draft, claim in batch:
            email = order.buyer.email.casefold() if order.buyer and order.buyer.email else None
            if email in failures:
                self._fail(order.order_id, claim.id, failures[email], summary)
            elif email in customers:
                placed.append((order, for_customer(draft, customers[email]), claim))
            else:
                placed.append((order, draft, claim))
        return placed

    def _customers(self, orders: list[AmazonOrder], failures: dict[str, Exception]) -> dict[str, int]:
        """Lower-cased buyer email → Commerce customer id, creating the accounts that do not exist yet."""
        buyers = {o.buyer.email.casefold(): o for o in orders if o.buyer and o.buyer.email}
        if not buyers:
            return {}
        website_id = self._website_id()
        found = {email: c.id for email, c in self.commerce.find_customers_by_emails(buyers, website_id).items()}

        def create(email: str) -> None:
            order = buyers[email]
            first, last = split_name(order.buyer.name or "") if order.buyer.name else ("Amazon", "Customer")
            try:
                customer = self.commerce.create_customer({
                    "email": order.buyer.email, "firstname": first, "lastname": last,
                    "website_id": website_id, "store_id": self.settings.store_id})
            except (ValidationError, AmbiguousWriteError) as exc:
                # Created meanwhile by another worker, or maybe by this call: look before failing.
                existing = self.commerce.find_customers_by_emails([email], website_id).get(email)
                if existing is None:
                    with self._lock:
                        failures[email] = exc
                    return
                customer = existing
            except Exception as exc:  # noqa: BLE001 - that buyer's orders fail; the others go on
                with self._lock:
                    failures[email] = exc
                return
            else:
                self._event(order.order_id, "customer_created", f"created Commerce customer {customer.id}",
                            {"commerce_customer_id": customer.id})
            with self._lock:
                found[email] = customer.id

        self._each(create, [(email,) for email in buyers if email not in found])
        return found

    def _website_id(self) -> int:
        if self._website is None:
            self._website = int(self.commerce.get_store_config()["website_id"])
        return self._website

    # -- helpers -------------------------------------------------------------------------------------

    def _each(self, call: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``call(*args)`` for each argument tuple, on the workers at once; results in order."""
        if len(arguments) <= 1:
            return [call(*args) for args in arguments]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(arguments)), thread_name_prefix="commerce") as pool:
            return list(pool.map(lambda args: call(*args), arguments))

    def _source(self, order_id: str) -> str:
        return f"{self.account}/{order_id}"

    def _snapshot(self, raw_orders: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
        """Keep the latest PII-free snapshot of each order; returns which ones changed."""
        snapshots = []
        for raw in raw_orders:
            try:
                snapshots.append(OrderSnapshot.from_amazon(self.account, dict(raw)))
            except ValueError:
                continue  # malformed beyond a snapshot: parse_order quarantines it with the field
        changed = self.channel.snapshots.upsert_many(snapshots)
        return {s.amazon_order_id: c for s, c in zip(snapshots, changed, strict=True)}

    def _catalog(self, skus: set[str]) -> dict[str, CatalogProduct]:
        products = self.commerce.get_products(skus)
        with self._lock:
            unknown = [sku for sku in products if sku not in self._salable]
        salable = dict(zip(unknown, self._each(self.commerce.get_salable_quantity, [(sku,) for sku in unknown]),
                           strict=True))
        with self._lock:
            for sku, qty in salable.items():
                self._salable.setdefault(sku, qty)
        return {sku: CatalogProduct(sku=sku, name=p.name, product_id=p.id or 0, enabled=p.enabled,
                                    salable_qty=Decimal(0)) for sku, p in products.items()}

    def _with_salable(self, products: dict[str, CatalogProduct]) -> dict[str, CatalogProduct]:
        return {sku: CatalogProduct(p.sku, p.name, p.product_id, p.enabled, self._salable.get(sku, Decimal(0)))
                for sku, p in products.items()}

    def _store_currency(self) -> StoreCurrency:
        if self._currency is None:
            info = self.commerce.get_currency_info()
            self._currency = StoreCurrency(base=info.base_currency_code, rates=info.exchange_rates)
        return self._currency

    def _quarantine(self, blocked: ImportBlocked, summary: ImportSummary) -> QuarantinedOrder:
        entry = self.channel.quarantine.record(self.account, blocked.order_id, blocked.reason.value, str(blocked))
        self._event(blocked.order_id, "quarantined", str(blocked),
                    {"reason": blocked.reason.value, "field": blocked.field, "attempts": entry.attempts})
        with self._lock:
            summary.outcomes[Outcome.QUARANTINED] += 1
            summary.quarantine_reasons[blocked.reason.value] += 1
        self._log.warning("quarantined: %s", blocked)
        return entry

    def _resolve(self, order_id: str, how: str, summary: ImportSummary) -> None:
        if self.channel.quarantine.resolve(self.account, order_id, resolved_by="import", resolution=how):
            self._event(order_id, "quarantine_resolved", how)
            with self._lock:
                summary.resolved += 1

    def _fail(self, order_id: str, claim_id: int, exc: Exception, summary: ImportSummary) -> None:
        # The error's kind and the service's reason, never text that may echo an order's buyer data.
        if isinstance(exc, CommerceError):
            message = f"{type(exc).__name__}: {exc.operation} {exc.status or ''} {_without_values(exc)}".rstrip()
        elif isinstance(exc, SpApiError):
            message = f"{type(exc).__name__}: {exc.operation} {exc.status} {exc.code}"
        else:
            message = type(exc).__name__
        self.channel.outbox.mark_failed(claim_id, message, self.worker_id, retry_at=self._clock())
        self._event(order_id, "import_failed", f"will retry: {message}")
        with self._lock:
            summary.outcomes[Outcome.FAILED] += 1
            summary.errors.append(f"order {order_id}: {message}")
        self._log.error("order %s failed (will retry): %s", order_id, message)

    def _event(self, order_id: str, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        self.channel.events.append(self.account, order_id, kind, message, details)


def _without_values(error: CommerceError) -> str:
    """Magento's message with only field names filled in: a rendered message can echo a submitted value
    (``Invalid value of "%value"``), which may be buyer data that must not reach logs or the database."""
    message = error.template
    if isinstance(error.parameters, Mapping):
        for name in ("fieldName", "field_name", "field"):
            if isinstance(error.parameters.get(name), str):
                message = message.replace(f"%{name}", error.parameters[name])
    return message
