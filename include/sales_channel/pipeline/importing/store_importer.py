"""One store's side of an import: Amazon orders (raw JSON) become Commerce orders, exactly once.

Per batch (the store's orders of one searchOrders page, or orders re-read one by one):

1. Keep a PII-free snapshot of each order; parse it and decide by the creation matrix.
2. For the orders to create: one batch lookup of links, the catalog and stock; map each order.
3. The *create claim*: an outbox item per Amazon order, unique on (kind, order) and claimed under a
   lease, so that of two overlapping runs or workers exactly one creates. One batch lookup of
   Commerce orders by ``ext_order_id`` adopts orders that exist already.
4. Create the rest concurrently; link; queue the stock take and the *finishing* (comment; for
   Amazon-fulfilled orders, invoice and shipment) as outbox items of their own, resumed until done.

**Per-order isolation is the rule**: whatever one order's data or one order's call does, that order is
quarantined (a reason and a message naming the order and the field, never a buyer's value) or left
to its outbox item, and the batch goes on. Only a Commerce that answers nothing at all
(``CommerceUnavailable``) stops the batch, so the run can be retried from the same page.

After an ambiguous create (sent, no answer) the claim is due again only after the settle delay, and
the next attempt looks the order up by ``ext_order_id`` before creating (``pipeline.outbox_work``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.errors import (
    AmbiguousWriteError,
    CommerceError,
    ServerError,
    TransportError,
    ValidationError,
)
from sales_channel.commerce.models import Order as CommerceOrder
from sales_channel.domain.amazon_order import ORDER_ID_PATTERN, AmazonOrder, parse_order
from sales_channel.domain.corrections import AddressCorrection
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
from sales_channel.pipeline.importing.stock import SalableQuantities, StockMoves, order_source
from sales_channel.pipeline.outbox_work import OutboxWork, describe_error
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem, OutboxStatus, QuarantinedOrder
from sales_channel.store.outbox import LeaseLost
from sales_channel.store.quarantine import UNREADABLE
from sales_channel.store.snapshots import OrderSnapshot

log = logging.getLogger(__name__)

CREATE_KIND = "commerce_order_create"
FINISH_KIND = "commerce_order_finish"
COMMENT = "{how} by the Amazon Sales Channel pipelines: Amazon order {order_id} ({channel})."


class Outcome(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"  # a Commerce order with this ext_order_id existed: linked, not re-created
    ALREADY_LINKED = "already_linked"
    SKIPPED = "skipped"  # by rule (pending, cancelled, before connected, ...)
    SKIPPED_BY_PERSON = "skipped_by_person"  # a person resolved its quarantine by skipping it: never imported
    QUARANTINED = "quarantined"
    ELSEWHERE = "in_progress_elsewhere"  # another worker holds the create claim right now
    WAITING = "waiting_retry"  # its create is scheduled again (after a failure or an ambiguous create)
    READ_ONLY = "read_only"  # would be created; the store is in read-only mode
    FAILED = "failed"  # a transient error: its outbox item is resumed by the next run


class CommerceUnavailable(RuntimeError):
    """Commerce answered none of a batch's lookups: the batch is not done, the run stops and is retried."""


@dataclass
class ImportSummary:
    store: str
    outcomes: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    resolved: int = 0
    retried_from_quarantine: int = 0
    resumed: int = 0
    unfinished: int = 0  # finishing steps (comment, FBA invoice/shipment) left for a later run
    errors: list[str] = field(default_factory=list)
    # Per order: its outcome and what explains it (the rule, the reason, the Commerce order) — kept only
    # when asked for (an operator's re-import reports each order; a scheduled run only counts them).
    orders: dict[str, tuple[Outcome, str]] | None = None

    def count(self, outcome: Outcome, order_id: str, detail: str = "") -> None:
        """One order's outcome (the caller holds the importer's lock)."""
        self.outcomes[outcome] += 1
        if self.orders is not None:
            self.orders[order_id] = (outcome, detail)

    @property
    def failed(self) -> int:
        return self.outcomes[Outcome.FAILED] + self.unfinished

    def line(self) -> str:
        counts = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()) if n) or "no orders"
        reasons = f" (quarantine: {dict(self.quarantine_reasons)})" if self.quarantine_reasons else ""
        unfinished = f", {self.unfinished} left to finish" if self.unfinished else ""
        return f"store {self.store}: {counts}{reasons}{unfinished}; {self.resolved} resolved"

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "outcomes": dict(self.outcomes), "quarantine_reasons": dict(self.quarantine_reasons),
                "resolved": self.resolved, "retried_from_quarantine": self.retried_from_quarantine,
                "resumed": self.resumed, "unfinished": self.unfinished}


def quarantine_key(order_id: str, raw: Any = None) -> str:
    """The quarantine's key for an order: its id, or for an id that is not Amazon's 3-7-7 digits (any
    length, or none at all) a digest of the order as received, so two such orders keep two entries.
    Amazon cannot be asked for such an order again: its entry waits for a person (``UNREADABLE``)."""
    if ORDER_ID_PATTERN.fullmatch(order_id):
        return order_id
    try:
        content = json.dumps(raw, sort_keys=True, default=repr) if raw is not None else order_id
    except (RecursionError, ValueError):  # nested beyond what json can write: the id must do
        content = order_id
    return f"{UNREADABLE}{hashlib.sha256(content.encode('utf-8', 'replace')).hexdigest()[:16]}"


def raw_order_id(raw: Any) -> str:
    """The order's id as far as it can be told from raw JSON (for messages about unreadable orders)."""
    order_id = raw.get("orderId") if isinstance(raw, Mapping) else None
    return order_id if isinstance(order_id, str) and order_id else "(no orderId)"


def connections_needed(workers: int) -> int:
    """HTTP connections one store's import uses at once: its creating and its lookup threads, and the
    one taking stock (the size of its Commerce client's pool)."""
    return 2 * workers + 1


class StoreImporter:
    """Imports one store's Amazon orders into its Commerce store. ``run()`` is the account's job
    (``pipeline.importing.account``): this class takes batches of raw orders already routed to it."""

    def __init__(self, settings: StoreSettings, commerce: CommerceClient, channel: ChannelStore, work: OutboxWork,
                 *, workers: int = 8, salable: SalableQuantities | None = None,
                 logger: logging.Logger = log) -> None:
        self.settings, self.commerce, self.channel, self.work = settings, commerce, channel, work
        self.workers, self._log = max(1, workers), logger
        self.account = settings.amazon_conn_id
        self._salable = salable if salable is not None else SalableQuantities()
        self._lock = threading.Lock()  # guards the summary's counters across threads
        self._currency: StoreCurrency | None = None
        self._website: int | None = None
        self._pool: ThreadPoolExecutor | None = None  # creates
        self._io: ThreadPoolExecutor | None = None  # parallel lookups and stock calls
        self._finisher: ThreadPoolExecutor | None = None  # each batch's stock, after its creates
        self._in_flight: set[str] = set()  # orders this run has claimed and is creating
        self.stock = StockMoves.for_store(settings, work, commerce, channel, each=self._each,
                                          on_moved=self._stock_moved, logger=logger)

    # -- the threads of one run ---------------------------------------------------------------------

    @contextmanager
    def writers(self) -> Iterator[None]:
        """The threads that write to Commerce, for the block: ``workers`` creating orders, as many for
        lookups and stock calls, and one that takes each batch's stock once its orders exist. Leaving
        the block waits for all of them."""
        if self._pool is not None:  # already inside a run
            yield
            return
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"create-{self.settings.key}")
        self._io = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"commerce-{self.settings.key}")
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stock-{self.settings.key}")
        try:
            yield
        finally:
            self._pool.shutdown(wait=True)
            self._finisher.shutdown(wait=True)
            self._io.shutdown(wait=True)
            self._pool = self._io = self._finisher = None
            self._in_flight.clear()

    # -- one batch ----------------------------------------------------------------------------------

    def import_orders(self, raw_orders: Sequence[Mapping[str, Any]], summary: ImportSummary,
                      corrections: Mapping[str, AddressCorrection] | None = None) -> Future[None] | None:
        """Import a batch of raw Amazon orders of this store. Returns the batch's completion (its
        creates and stock), or None when nothing is left running; call inside ``writers()``.
        ``corrections``: a person's corrected shipping address by order id, used for this batch only."""
        if not raw_orders:
            return None
        order_ids = [raw_order_id(raw) for raw in raw_orders]
        open_quarantine = self.channel.quarantine.open_among(self.account, order_ids)
        skipped = self.channel.quarantine.skipped_among(self.account, order_ids)
        to_create: list[tuple[AmazonOrder, Decision]] = []
        for raw, changed in zip(raw_orders, self._snapshot(raw_orders, summary), strict=True):
            order_id = raw_order_id(raw)
            if changed is None:
                continue  # quarantined while being recorded
            if order_id in skipped:
                with self._lock:
                    summary.count(Outcome.SKIPPED_BY_PERSON, order_id, "its quarantine was resolved by skipping it")
                continue
            try:
                order = parse_order(raw)
                if corrections and order_id in corrections:
                    order = corrections[order_id].applied_to(order)
                decision = decide(order, self.settings)
            except ImportBlocked as blocked:
                self._quarantine(blocked, summary, raw)
                continue
            except Exception as exc:  # noqa: BLE001 - a defect of one order's data must never stop the others
                self._unreadable(order_id, "reading", exc, summary, raw)
                continue
            summary.decisions[decision] += 1
            if decision.creates and self.settings.import_enabled:
                to_create.append((order, decision))
                continue
            self._skip(order, decision, changed, open_quarantine, summary)
        return self._create_all(to_create, open_quarantine, summary) if to_create else None

    def _skip(self, order: AmazonOrder, decision: Decision, changed: bool, open_quarantine: set[str],
              summary: ImportSummary) -> None:
        with self._lock:
            summary.count(Outcome.SKIPPED, order.order_id, decision.value)
        if decision is Decision.SKIP_CANCELLED and self.stock.give_back(self._source(order.order_id)):
            self._event(order.order_id, "stock_returned", "cancelled on Amazon: stock given back")
        if changed:
            self._event(order.order_id, "skipped", f"not imported: {decision.value.replace('_', ' ')}",
                        {"status": str(order.status), "fulfilled_by": str(order.fulfilled_by)})
        if order.order_id in open_quarantine and decision is not Decision.SKIP_OTHER_MARKETPLACE:
            self._resolve(order.order_id, f"skipped by rule: {decision.value}", summary)

    def _create_all(self, orders: list[tuple[AmazonOrder, Decision]], open_quarantine: set[str],
                    summary: ImportSummary) -> Future[None] | None:
        # An order Amazon returned on two pages is being created already, by this run.
        orders = [(o, d) for o, d in orders if o.order_id not in self._in_flight]
        links = self.channel.links.get_many(self.account, [o.order_id for o, _ in orders])
        for order, _ in orders:
            if order.order_id in links:
                with self._lock:
                    summary.count(Outcome.ALREADY_LINKED, order.order_id,
                                  f"Commerce order {links[order.order_id].commerce_increment_id}")
                if order.order_id in open_quarantine:
                    self._resolve(order.order_id, "already imported", summary)
        pending = [(o, d) for o, d in orders if o.order_id not in links]
        drafts = self._map_all(pending, summary) if pending else []
        if not drafts:
            return None
        if self.settings.read_only:
            with self._lock:
                for order, _ in drafts:
                    summary.count(Outcome.READ_ONLY, order.order_id, f"store {self.settings.key} is read-only")
            self._log.info("read-only store %s: %d orders would be created", self.settings.key, len(drafts))
            return None
        mine = self._claim(drafts, open_quarantine, summary)
        if not mine:
            return None
        try:
            existing = self.commerce.orders.find_by_ext_order_ids([order.order_id for order, _, _ in mine])
        except Exception as exc:  # noqa: BLE001 - the claims come due again; the run goes on
            for order, _, claim in mine:
                self._fail(order.order_id, claim, exc, summary)
            return None
        to_create = []
        for order, draft, claim in mine:
            if found := existing.get(order.order_id):
                self._adopt(order, draft, claim, found, summary, open_quarantine)
            else:
                to_create.append((order, draft, claim))
        if self.settings.customer_creation is CustomerCreation.CREATE:
            to_create = self._as_customers(to_create, summary)
        self._in_flight.update(order.order_id for order, _, _ in mine)
        creates = [self._pool.submit(self._create_one, order, draft, claim, summary, open_quarantine)
                   for order, draft, claim in to_create]
        return self._finisher.submit(self._after_creates, creates, [order.order_id for order, _, _ in mine])

    def _after_creates(self, creates: list[Future[None]], order_ids: list[str]) -> None:
        wait(creates)
        self.stock.take([self._source(i) for i in order_ids])

    def _map_all(self, orders: list[tuple[AmazonOrder, Decision]],
                 summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft]]:
        """Map each order, quarantining the blocked ones; stock is counted down in Amazon's order."""
        sku_map = self.channel.skus.get_many(self.account, {i.seller_sku for o, _ in orders for i in o.items})
        products, unavailable = self._catalog({commerce_sku_for(i, sku_map) for o, _ in orders for i in o.items})
        currency = self._store_currency()
        drafts = []
        for order, decision in orders:
            try:
                for n, item in enumerate(order.items):
                    sku = commerce_sku_for(item, sku_map)
                    if sku in unavailable:
                        raise ImportBlocked(QuarantineReason.CATALOG_LOOKUP_FAILED, order.order_id,
                                            f"orderItems[{n}].product.sellerSku",
                                            f"Commerce could not tell the stock of SKU {sku!r}: {unavailable[sku]}")
                with self._salable.lock:
                    draft = map_order(order, decision, self.settings, currency, self._with_salable(products), sku_map)
                    for sku, qty in draft.stock_moves:
                        self._salable.qty[sku] -= qty
            except ImportBlocked as blocked:
                self._quarantine(blocked, summary)
                continue
            except Exception as exc:  # noqa: BLE001 - one order's arithmetic must never stop the others
                self._unreadable(order.order_id, "mapping", exc, summary)
                continue
            drafts.append((order, draft))
        return drafts

    def _claim(self, drafts: list[tuple[AmazonOrder, CommerceOrderDraft]], open_quarantine: set[str],
               summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]]:
        """Take the create claim of each order; those another worker holds are left to it, and those
        scheduled for later (after a failure, or to let an ambiguous create settle) wait for their time."""
        sources = {self._source(order.order_id): (order, draft) for order, draft in drafts}
        self.channel.outbox.enqueue_many(CREATE_KIND, self.settings.key, {
            source: {"store": self.settings.key, "amazon_order_id": order.order_id}
            for source, (order, _) in sources.items()})
        for source, (order, _) in sources.items():
            if order.order_id in open_quarantine:  # a quarantine retry: its create was given up, try again
                self._requeue_given_up(source)
        claimed = self.work.claim(CREATE_KIND, list(sources))
        mine = []
        for source, (order, draft) in sources.items():
            if source in claimed:
                mine.append((order, draft, claimed[source]))
                continue
            item = self.channel.outbox.get(CREATE_KIND, source)
            held = item is not None and item.status == OutboxStatus.CLAIMED
            with self._lock:
                summary.count(Outcome.ELSEWHERE if held else Outcome.WAITING, order.order_id,
                              "another worker is creating it" if held else
                              f"its create is due again at {item.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}" if item else "")
            with self._salable.lock:
                for sku, qty in draft.stock_moves:  # not ours to take now
                    self._salable.qty[sku] += qty
        return mine

    def _requeue_given_up(self, source: str) -> None:
        item = self.channel.outbox.get(CREATE_KIND, source)
        if item is not None and item.status == OutboxStatus.FAILED:
            self.channel.outbox.requeue(CREATE_KIND, source)

    def _create_one(self, order: AmazonOrder, draft: CommerceOrderDraft, claim: OutboxItem,
                    summary: ImportSummary, open_quarantine: set[str]) -> None:
        try:
            if not self.work.renew(claim):
                # Waited so long that the claim expired and another worker took it over: it is theirs now.
                with self._lock:
                    summary.count(Outcome.ELSEWHERE, order.order_id, "another worker took its create over")
                return
            try:
                created = self.commerce.orders.create(draft.entity)
            except AmbiguousWriteError as exc:
                # The create may have happened, or may still be happening: look now, and if nothing is
                # there yet, look again after the settle delay before ever creating again.
                found = self.commerce.orders.find_by_ext_order_ids([order.order_id]).get(order.order_id) or []
                if not found:
                    self._fail(order.order_id, claim, exc, summary)
                    return
                self._adopt(order, draft, claim, found, summary, open_quarantine, ours=True)
                return
            except ValidationError as rejected:
                self._refused(order, claim, "order", "the order", rejected, summary)
                return
            self._finish(order, draft, claim, created, Outcome.CREATED, summary, open_quarantine, take_stock=True)
        except LeaseLost:
            # Another worker took the claim over (this one waited past its lease): the order is theirs.
            self._log.warning("order %s: the create claim was taken over by another worker", order.order_id)
            with self._lock:
                summary.count(Outcome.ELSEWHERE, order.order_id, "another worker took its create over")
        except Exception as exc:  # noqa: BLE001 - one order's failure must not stop the others
            self._fail(order.order_id, claim, exc, summary)

    def _adopt(self, order: AmazonOrder, draft: CommerceOrderDraft, claim: OutboxItem, found: list[CommerceOrder],
               summary: ImportSummary, open_quarantine: set[str], ours: bool = False) -> None:
        """Link an order that exists in Commerce already. Found on a later attempt of our own create
        (an ambiguous create that did commit, a worker that died between create and link), it is ours:
        its stock is taken and it is finished like a created one. Found on the first attempt, another
        connector made it, and was in charge of its stock."""
        first = min(found, key=lambda o: o.entity_id)
        if len(found) > 1:
            self._log.warning("order %s has %d Commerce orders already (entity ids %s): linking the first",
                              order.order_id, len(found), sorted(o.entity_id for o in found))
        ours = ours or claim.attempts > 1
        self._finish(order, draft, claim, first, Outcome.ADOPTED, summary, open_quarantine, take_stock=ours)

    def _finish(self, order: AmazonOrder, draft: CommerceOrderDraft, claim: OutboxItem, commerce_order: CommerceOrder,
                outcome: Outcome, summary: ImportSummary, open_quarantine: set[str], take_stock: bool) -> None:
        """Link; queue the stock take and the finishing steps; release the claim; record the event — in
        one transaction, all or nothing. Then finish the order (a failure there leaves its finishing
        item for a later run, not the claim)."""
        entity_id, increment_id = commerce_order.entity_id, commerce_order.increment_id
        source = self._source(order.order_id)
        how = "Imported" if outcome is Outcome.CREATED else "Linked"
        verb = "created" if outcome is Outcome.CREATED else "adopted existing"
        with self.channel.transaction():
            result = self.channel.links.create(self.account, order.order_id, commerce_entity_id=entity_id,
                                               commerce_increment_id=increment_id,
                                               store_code=self.settings.store_code)
            if take_stock and draft.stock_moves and self.settings.stock_handling is not StockHandling.LEAVE:
                self.stock.queue_take(source, draft.stock_moves)  # taken for the whole batch (_after_creates)
            finish, _ = self.channel.outbox.enqueue(FINISH_KIND, source, self.settings.key, {
                "entity_id": entity_id, "comment": self._comment_text(order, how), "status": commerce_order.status,
                "afn": order.is_afn and commerce_order.state != "complete", "fresh": outcome is Outcome.CREATED})
            self.work.done(claim)
            self._event(order.order_id, outcome.value, f"{verb} Commerce order {increment_id}",
                        {"commerce_entity_id": entity_id, "commerce_increment_id": increment_id,
                         "store_code": self.settings.store_code})
        if not result.created and result.link.commerce_entity_id != entity_id:
            self._log.warning("order %s was linked meanwhile to Commerce order %s; %s left unlinked",
                              order.order_id, result.link.commerce_entity_id, entity_id)
        with self._lock:
            summary.count(outcome, order.order_id, f"Commerce order {increment_id}")
        if order.order_id in open_quarantine:
            self._resolve(order.order_id, f"{outcome.value} as Commerce order {increment_id}", summary)
        for item in self.work.claim(FINISH_KIND, [finish.source_id]).values():
            self._complete(item, summary)

    def _complete(self, item: OutboxItem, summary: ImportSummary) -> None:
        """The finishing steps of one linked order: the comment (keeping the order's status), and for an
        order Amazon shipped, its invoice and shipment, so it is complete in Commerce too. A resumed item
        checks what an earlier attempt did before doing it again."""
        step = item.payload
        entity_id, resumed = int(step["entity_id"]), item.attempts > 1
        try:
            if not (resumed and any(c.comment == step["comment"] for c in self.commerce.orders.list_comments(entity_id))):
                # A resumed order's status may have moved on: the client reads it (None) rather than reset it.
                self.commerce.orders.add_comment(entity_id, step["comment"], status=None if resumed else step["status"])
            if step["afn"]:
                fresh = step["fresh"] and not resumed
                if fresh or not self.commerce.invoices.for_orders([entity_id]):
                    self.commerce.invoices.create(entity_id, capture=True)
                if fresh or not self.commerce.shipments.for_orders([entity_id]):
                    self.commerce.shipments.create(entity_id, comment="Shipped by Amazon (Fulfilled by Amazon)")
        except Exception as exc:  # noqa: BLE001 - left for a later run; the order is created and linked
            message = self.work.failed(item, exc)
            order_id = item.source_id.split("/", 1)[1]
            self._event(order_id, "finish_failed", f"finishing will be retried: {message}")
            with self._lock:
                summary.unfinished += 1
                summary.errors.append(f"order {order_id} (finishing): {message}")
            self._log.error("order %s: finishing failed (will resume): %s", order_id, message)
            return
        self.work.done(item)

    def resume_unfinished(self, summary: ImportSummary, limit: int = 500) -> None:
        """Finishing steps and stock moves left due by an earlier failure (no Amazon call needed)."""
        for item in self.work.claim(FINISH_KIND, self.work.due(FINISH_KIND, self.settings.key, limit)).values():
            summary.resumed += 1
            self._complete(item, summary)
        self.stock.resume(limit)

    def due_creates(self, limit: int) -> list[str]:
        """Amazon order ids whose create is due again (a failure, a settled ambiguous create, a dead worker)."""
        return [source.split("/", 1)[1] for source in self.work.due(CREATE_KIND, self.settings.key, limit)]

    def _comment_text(self, order: AmazonOrder, how: str) -> str:
        channel = "Fulfilled by Amazon" if order.is_afn else "merchant fulfilled"
        return COMMENT.format(how=how, order_id=order.order_id, channel=channel)

    def _stock_moved(self, units: Counter[str], sign: int) -> None:
        with self._salable.lock:  # what this run believes is salable follows what it gave back
            for sku, qty in units.items():
                if sku in self._salable.qty and sign > 0:
                    self._salable.qty[sku] += qty

    # -- customers ----------------------------------------------------------------------------------

    def _as_customers(self, batch: list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]],
                      summary: ImportSummary) -> list[tuple[AmazonOrder, CommerceOrderDraft, OutboxItem]]:
        """Place each order as its buyer's customer account (created when missing). Orders without a
        buyer email (Amazon-fulfilled) stay guest orders. An account Commerce refuses quarantines that
        order only; one that failed transiently leaves that order's claim for a later run."""
        failures: dict[str, Exception] = {}
        customers = self._customers([order for order, _, _ in batch], failures)
        placed = []
        for order, draft, claim in batch:
            email = order.buyer.email.casefold() if order.buyer and order.buyer.email else None
            if email in failures:
                if isinstance(failures[email], ValidationError):
                    self._refused(order, claim, "buyer", "the buyer's customer account", failures[email], summary)
                else:
                    self._fail(order.order_id, claim, failures[email], summary)
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
        found: dict[str, int] = {}

        def look_up(emails: Sequence[str]) -> None:
            try:
                found.update({e: c.id for e, c in self.commerce.customers.find_by_emails(emails, website_id).items()})
            except ValidationError as exc:
                if len(emails) == 1:
                    failures[emails[0]] = exc
                    return
                for email in emails:  # one address Commerce cannot search for: find out which, alone
                    look_up([email])
            except Exception as exc:  # noqa: BLE001 - those buyers' orders wait; the others go on
                failures.update(dict.fromkeys(emails, exc))

        look_up(list(buyers))

        def create(email: str) -> None:
            order = buyers[email]
            first, last = split_name(order.buyer.name or "") if order.buyer.name else ("Amazon", "Customer")
            try:
                customer = self.commerce.customers.create({
                    "email": order.buyer.email, "firstname": first, "lastname": last,
                    "website_id": website_id, "store_id": self.settings.store_id})
            except (ValidationError, AmbiguousWriteError) as exc:
                # Created meanwhile by another worker, or maybe by this call: look before failing.
                try:
                    existing = self.commerce.customers.find_by_emails([email], website_id).get(email)
                except Exception:  # noqa: BLE001 - the create's own error says more
                    existing = None
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

        self._each(create, [(email,) for email in buyers if email not in found and email not in failures])
        return found

    def _website_id(self) -> int:
        if self._website is None:
            self._website = int(self.commerce.directory.store_config()["website_id"])
        return self._website

    # -- lookups ------------------------------------------------------------------------------------

    def _catalog(self, skus: set[str]) -> tuple[dict[str, CatalogProduct], dict[str, str]]:
        """The products and their salable quantities, and the SKUs whose stock Commerce could not tell
        (SKU → why). A SKU Commerce refuses to look up is that SKU's problem, not the batch's."""
        try:
            products = self.commerce.catalog.get_products(skus)
        except (ServerError, TransportError) as exc:
            raise CommerceUnavailable(f"store {self.settings.key}: product lookup failed: {describe_error(exc)}") from exc
        with self._salable.lock:
            unknown = [sku for sku in products if sku not in self._salable.qty]
        unavailable: dict[str, str] = {}
        answers = self._each(self._salable_or_error, [(sku,) for sku in unknown])
        transient = [a for a in answers if isinstance(a, ServerError | TransportError)]
        if transient and len(transient) == len(answers):
            raise CommerceUnavailable(f"store {self.settings.key}: every salable-quantity lookup failed: "
                                      f"{describe_error(transient[0])}")
        with self._salable.lock:
            for sku, answer in zip(unknown, answers, strict=True):
                if isinstance(answer, Exception):
                    unavailable[sku] = describe_error(answer)
                else:
                    self._salable.qty.setdefault(sku, answer)
        return ({sku: CatalogProduct(sku=sku, name=p.name, product_id=p.id or 0, enabled=p.enabled,
                                     salable_qty=Decimal(0)) for sku, p in products.items()}, unavailable)

    def _salable_or_error(self, sku: str) -> Decimal | Exception:
        try:
            return self.commerce.catalog.get_salable_quantity(sku)
        except CommerceError as exc:
            return exc

    def _with_salable(self, products: dict[str, CatalogProduct]) -> dict[str, CatalogProduct]:
        return {sku: CatalogProduct(p.sku, p.name, p.product_id, p.enabled, self._salable.qty.get(sku, Decimal(0)))
                for sku, p in products.items()}

    def _store_currency(self) -> StoreCurrency:
        if self._currency is None:
            try:
                info = self.commerce.directory.currency_info()
            except CommerceError as exc:
                raise CommerceUnavailable(f"store {self.settings.key}: currency lookup failed: "
                                          f"{describe_error(exc)}") from exc
            self._currency = StoreCurrency(base=info.base_currency_code, rates=info.exchange_rates)
        return self._currency

    # -- helpers ------------------------------------------------------------------------------------

    def _each(self, call: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``call(*args)`` for each argument tuple, on the run's lookup threads at once; results in order.
        Returns (or raises the first failure) only once every call has ended: a write still running
        after its caller gave up and released the stock lock would race the next holder."""
        if len(arguments) <= 1 or self._io is None:
            return [call(*args) for args in arguments]
        futures = [self._io.submit(call, *args) for args in arguments]
        wait(futures)
        return [future.result() for future in futures]

    def _source(self, order_id: str) -> str:
        return order_source(self.account, order_id)

    def _snapshot(self, raw_orders: Sequence[Mapping[str, Any]], summary: ImportSummary) -> list[bool | None]:
        """Keep the latest PII-free snapshot of each order; per order, whether it changed, or None for
        an order too malformed to be recorded (quarantined here, with the field when it can be told)."""
        snapshots: list[OrderSnapshot | None] = []
        for raw in raw_orders:
            try:
                snapshots.append(OrderSnapshot.from_amazon(self.account, dict(raw)))
            except Exception as exc:  # noqa: BLE001 - one order's shape must never stop the others
                snapshots.append(None)
                try:
                    parse_order(raw)
                except ImportBlocked as blocked:
                    self._quarantine(blocked, summary, raw)
                    continue
                except Exception:  # noqa: BLE001 - the snapshot's error is the one reported
                    pass
                self._unreadable(raw_order_id(raw), "recording", exc, summary, raw)
        stored = iter(self.channel.snapshots.upsert_many([s for s in snapshots if s is not None]))
        return [None if s is None else next(stored) for s in snapshots]

    def _unreadable(self, order_id: str, stage: str, exc: BaseException, summary: ImportSummary,
                    raw: Any = None) -> None:
        """An order that broke something while being read, recorded or mapped: quarantined with the
        error's kind (never its text, which may echo a value), so it can be looked at."""
        self._quarantine(ImportBlocked(QuarantineReason.MALFORMED_DATA, order_id, "order",
                                       f"could not be imported: {type(exc).__name__} while {stage} it"), summary, raw)

    def _quarantine(self, blocked: ImportBlocked, summary: ImportSummary, raw: Any = None) -> QuarantinedOrder:
        key = quarantine_key(blocked.order_id, raw)
        entry = self.channel.quarantine.record(self.account, key, blocked.reason.value, str(blocked))
        self._event(key, "quarantined", str(blocked),
                    {"reason": blocked.reason.value, "field": blocked.field, "attempts": entry.attempts})
        with self._lock:
            summary.count(Outcome.QUARANTINED, key, f"{blocked.reason.value}: {blocked.field}: {blocked.problem}")
            summary.quarantine_reasons[blocked.reason.value] += 1
        self._log.warning("quarantined: %s", blocked)
        return entry

    def _resolve(self, order_id: str, how: str, summary: ImportSummary) -> None:
        if self.channel.quarantine.resolve(self.account, order_id, resolved_by="import", resolution=how):
            self._event(order_id, "quarantine_resolved", how)
            with self._lock:
                summary.resolved += 1

    def _refused(self, order: AmazonOrder, claim: OutboxItem, field: str, what: str, refusal: ValidationError,
                 summary: ImportSummary) -> None:
        """Commerce refused the order (or its buyer's account): quarantined, and the claim given up —
        the quarantine owns the retry now (it re-reads the order and requeues the claim)."""
        why = f"Commerce refused {what}: {refusal.summary}"
        self._quarantine(ImportBlocked(QuarantineReason.COMMERCE_REJECTED, order.order_id, field, why), summary)
        self.channel.outbox.mark_failed(claim.id, why, self.work.worker_id)

    def _fail(self, order_id: str, claim: OutboxItem, exc: Exception, summary: ImportSummary) -> None:
        message = self.work.failed(claim, exc)
        self._event(order_id, "import_failed", f"will retry: {message}")
        with self._lock:
            summary.count(Outcome.FAILED, order_id, message)
            summary.errors.append(f"order {order_id}: {message}")
        self._log.error("order %s failed (will retry): %s", order_id, message)

    def _event(self, order_id: str, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        self.channel.events.append(self.account, order_id, kind, message, details)
