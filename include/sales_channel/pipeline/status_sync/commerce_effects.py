"""Effects of the status sync on Commerce orders — comments, cancels, invoices — exactly once by effect.

Both directions of the sync ask for them (``comment``, ``cancel``, ``invoice``): each is an outbox row
unique on ``<store>/<Amazon order>/<topic>`` (a cancel's topic is ``cancel``, an invoice's ``invoice``),
so asking again — a re-run, an overlapping window — never queues it twice. ``apply_due`` claims the
store's due rows and applies them in batches, with one ``orders.get_many`` per batch for the orders'
state (never one GET per order):

* first the cancels and invoices. Each looks at the order before writing: already canceled (or fully
  invoiced) is done; a cancel Commerce would refuse — on hold, complete or closed, shipped, fully
  invoiced — is not sent. After an ambiguous failure (sent, no answer: ``pipeline.outbox_work``) the
  row comes due again only after the settle delay, and then reads back before writing again: the
  order's state for a cancel, ``invoices.for_orders`` for an invoice;
* then the comments, each keeping the order's current status (read after the cancels and invoices
  changed it). A resumed comment is done when ``orders.list_comments`` has its text already.

A done cancel or invoice adds a comment saying why; a refused one (``False``/400, or one refused before
it is sent) ends ``failed`` with the reason, and a refused cancel adds a comment saying why Commerce
cannot cancel the order. Every applied or refused effect is a per-order event. One order's failure
never stops the others: a transient one leaves its row due again.

Read-only store: nothing is queued or sent; what would have been is logged ("would …") and counted.
Payloads hold ids and this pipeline's own texts, never buyer data (``ensure_no_pii`` checks them).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.errors import NotFoundError, ValidationError
from sales_channel.commerce.models import Invoice, Order, OrderItem
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.outbox_work import OutboxWork, describe_error
from sales_channel.pipeline.status_sync.kinds import CANCEL_KIND, COMMENT_KIND, INVOICE_KIND
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxItem
from sales_channel.store.outbox import LeaseLost

log = logging.getLogger(__name__)

__all__ = ["CANCEL_KIND", "COMMENT_KIND", "INVOICE_KIND", "CommerceEffects", "EffectsSummary", "cannot_cancel", "fully_invoiced",
           "fully_shipped"]

ACTION_KINDS = (CANCEL_KIND, INVOICE_KIND)
KINDS = (*ACTION_KINDS, COMMENT_KIND)
SIGNATURE = "the Amazon Sales Channel pipelines"
ZERO = Decimal(0)


@dataclass
class EffectsSummary:
    """What one store's effects did in a run, by kind (``commerce_order_cancel``, ...)."""

    store: str
    applied: Counter[str] = field(default_factory=Counter)  # done now, or found done after an ambiguous write
    already_done: Counter[str] = field(default_factory=Counter)  # Commerce had it already: nothing sent
    refused: Counter[str] = field(default_factory=Counter)  # Commerce refuses: the row ended failed
    retrying: Counter[str] = field(default_factory=Counter)  # transient failures: due again
    would_send: Counter[str] = field(default_factory=Counter)  # read-only: queued or sent otherwise
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "applied": dict(self.applied), "already_done": dict(self.already_done),
                "refused": dict(self.refused), "retrying": dict(self.retrying),
                "would_send": dict(self.would_send), "errors": self.errors[:20]}


def _lines(order: Order) -> list[OrderItem]:
    """The order's own lines (a configurable's child rows carry no quantities of their own)."""
    return [item for item in order.items if item.parent_item_id is None]


def _to_invoice(item: OrderItem) -> Decimal:
    return max(ZERO, item.qty_ordered - item.qty_invoiced - item.qty_canceled)


def fully_invoiced(order: Order) -> bool:
    return all(_to_invoice(item) == ZERO for item in _lines(order))


def fully_shipped(order: Order) -> bool:
    """Every line shipped, in what was not canceled (and something to ship at all)."""
    lines = [item for item in order.items if item.parent_item_id is None]
    return any(item.qty_ordered > item.qty_canceled for item in lines) and all(
        item.qty_shipped >= item.qty_ordered - item.qty_canceled for item in lines)


def cannot_cancel(order: Order) -> str | None:
    """Why Commerce cannot (or must not) cancel ``order``, in words for its comment; None when it can.

    Magento itself refuses on hold, in payment review, complete, closed and fully invoiced. A shipped
    order is refused here too: Magento would cancel what is left and call it canceled although goods
    have left, which hides the conflict from the merchant."""
    if order.state == "holded":
        return "it is on hold"
    if order.state == "payment_review":
        return "its payment is under review"
    if order.state in ("complete", "closed"):
        return f"it is {order.state}"
    if any(item.qty_shipped > ZERO for item in _lines(order)):
        return "it has shipped items"
    if fully_invoiced(order):
        return "it is fully invoiced (refund it with a credit memo instead)"
    return None


def _covered(order: Order, invoices: Iterable[Invoice]) -> bool:
    """The order's invoices cover every line (an invoice of the whole order exists, or several do)."""
    invoiced: Counter[int] = Counter()
    for invoice in invoices:
        for line in invoice.items:
            invoiced[line.order_item_id] += line.qty
    lines = _lines(order)
    return bool(lines) and all(invoiced[item.item_id] >= item.qty_ordered - item.qty_canceled
                               for item in lines if item.item_id is not None)


class Refused(Exception):
    """The effect cannot be made as asked (e.g. the Commerce order is gone): the row is given up."""


class CommerceEffects:
    """The Commerce effects of one store: queued once each, applied by ``apply_due``."""

    def __init__(self, channel: ChannelStore, commerce: CommerceClient, store: StoreSettings, work: OutboxWork,
                 logger: logging.Logger = log) -> None:
        self.channel, self.commerce, self.store, self.work, self._log = channel, commerce, store, work, logger
        self.summary = EffectsSummary(store.key)

    # -- asking for an effect -------------------------------------------------------------------------

    def comment(self, amazon_order_id: str, commerce_order_id: int, topic: str, text: str) -> bool:
        """Queue a comment on the Commerce order, once per (store, order, topic). True when queued now
        (False: queued before, or the store is read-only)."""
        if not text:
            raise ValueError(f"order {amazon_order_id}: comment {topic!r} has no text")
        return self._queue(COMMENT_KIND, amazon_order_id, commerce_order_id, topic, {"text": text},
                           f"comment on Commerce order {commerce_order_id}: {text}")

    def cancel(self, amazon_order_id: str, commerce_order_id: int, why: str) -> bool:
        """Queue the cancel of the Commerce order (once per order); ``why`` goes into its comment."""
        return self._queue(CANCEL_KIND, amazon_order_id, commerce_order_id, "cancel", {"why": why},
                           f"cancel Commerce order {commerce_order_id}: {why}")

    def invoice(self, amazon_order_id: str, commerce_order_id: int,
                why: str = "Amazon reports it shipped and every item is shipped in Commerce") -> bool:
        """Queue an invoice of everything left to invoice on the Commerce order (once per order)."""
        return self._queue(INVOICE_KIND, amazon_order_id, commerce_order_id, "invoice", {"why": why},
                           f"invoice Commerce order {commerce_order_id}: {why}")

    def complete_shipped(self, amazon_order_id: str, order: Order) -> str | None:
        """Amazon reports the order shipped: once Commerce has shipped every item too, invoice it (``auto_invoice``;
        Magento then calls it *complete*) or ask for the invoice in a comment. The decision made, or None."""
        if order.state in ("canceled", "holded", "complete", "closed") or fully_invoiced(order):
            return None  # complete already, or nothing Commerce would invoice
        if not fully_shipped(order):
            return "shipped_not_in_commerce"  # completed when Commerce ships the rest (the sync's shipment read)
        if self.store.auto_invoice:
            return "commerce_invoice" if self.invoice(
                amazon_order_id, order.entity_id,
                f"Amazon reports Amazon order {amazon_order_id} shipped and every item is shipped in Commerce") else None
        return "invoice_comment" if self.comment(
            amazon_order_id, order.entity_id, "ready_to_invoice",
            f"Amazon reports Amazon order {amazon_order_id} shipped and every item is shipped here: invoice this "
            "order to complete it (this store does not invoice automatically).") else None

    def source(self, amazon_order_id: str, topic: str) -> str:
        return f"{self.store.key}/{amazon_order_id}/{topic}"

    def _queue(self, kind: str, amazon_order_id: str, commerce_order_id: int, topic: str, extra: dict[str, Any],
               what: str) -> bool:
        if self.store.read_only:
            self.summary.would_send[kind] += 1
            self._log.info("read-only store %s: would %s (Amazon order %s)", self.store.key, what, amazon_order_id)
            return False
        payload = {"store": self.store.key, "amazon_order_id": amazon_order_id,
                   "commerce_order_id": int(commerce_order_id), "topic": topic, **extra}
        _, created = self.channel.outbox.enqueue(kind, self.source(amazon_order_id, topic), self.store.key, payload)
        return created

    # -- applying them --------------------------------------------------------------------------------

    def apply_due(self, limit: int = 500) -> EffectsSummary:
        """Apply this store's due effects (up to ``limit`` of each kind): cancels and invoices, then
        comments. Returns the summary of everything this object did (queueing included)."""
        if self.store.read_only:
            for kind in KINDS:
                if due := self.work.due(kind, self.store.key, limit):
                    self.summary.would_send[kind] += len(due)
                    self._log.info("read-only store %s: would apply %d queued %s rows", self.store.key, len(due), kind)
            return self.summary
        orders: dict[int, Order] = {}  # what is known of the batch's orders (dropped once changed)
        actions = [item for kind in ACTION_KINDS for item in self._claim(kind, limit)]
        if actions and self._read(actions, orders):
            actions, invoices = self._read_back_invoices(actions)
            for item in actions:
                self._isolated(item, orders, lambda item=item: self._act(item, orders, invoices))
        comments = self._claim(COMMENT_KIND, limit)
        if comments and self._read(comments, orders):
            for item in comments:
                self._isolated(item, orders, lambda item=item: self._comment(item, self._known(item, orders)))
        return self.summary

    def _claim(self, kind: str, limit: int) -> list[OutboxItem]:
        return list(self.work.claim(kind, self.work.due(kind, self.store.key, limit)).values())

    def _read(self, items: list[OutboxItem], orders: dict[int, Order]) -> bool:
        """Read the items' orders not known yet, in one batch; on failure the items come due again."""
        missing = {self._order_id(item) for item in items} - set(orders)
        try:
            orders.update(self.commerce.orders.get_many(sorted(missing)) if missing else {})
        except Exception as exc:  # noqa: BLE001 - the batch comes due again; the run goes on
            for item in items:
                self._retry(item, exc)
            return False
        return True

    def _read_back_invoices(self, actions: list[OutboxItem]) -> tuple[list[OutboxItem], dict[int, list[Invoice]]]:
        """The invoices of the orders whose invoice may have happened already (a resumed row), by order,
        in one batch; on failure those rows come due again and the others go on."""
        resumed = [item for item in actions if item.kind == INVOICE_KIND and item.attempts > 1]
        if not resumed:
            return actions, {}
        try:
            invoices = self.commerce.invoices.for_orders(sorted({self._order_id(item) for item in resumed}))
        except Exception as exc:  # noqa: BLE001 - those rows come due again; the run goes on
            for item in resumed:
                self._retry(item, exc)
            return [item for item in actions if item not in resumed], {}
        found: dict[int, list[Invoice]] = {}
        for invoice in invoices:
            found.setdefault(invoice.order_id, []).append(invoice)
        return actions, found

    def _isolated(self, item: OutboxItem, orders: dict[int, Order], apply: Callable[[], None]) -> None:
        """Apply one row; whatever it raises stays that row's problem. The order's state is read again
        for later rows (it may have changed, even when the answer was lost)."""
        try:
            apply()
        except LeaseLost as exc:  # another worker took it over (our lease expired): theirs now
            self._log.warning("%s %s: %s", item.kind, item.source_id, exc)
        except Refused as exc:
            self._refuse(item, str(exc))
        except (ValidationError, NotFoundError) as exc:  # Commerce refuses it (400), or the order is gone (404)
            self._refuse(item, f"{type(exc).__name__}: {exc.summary}")
        except Exception as exc:  # noqa: BLE001 - one order's failure never stops the others
            self._retry(item, exc)
        finally:
            orders.pop(self._order_id(item), None)

    def _known(self, item: OutboxItem, orders: dict[int, Order]) -> Order:
        order_id = self._order_id(item)
        if order_id not in orders:  # dropped after an earlier row of the batch acted on it: read it again
            orders.update(self.commerce.orders.get_many([order_id]))
        order = orders.get(order_id)
        if order is None:
            raise Refused(f"Commerce order {self._order_id(item)} does not exist")
        return order

    def _act(self, item: OutboxItem, orders: dict[int, Order], invoices: Mapping[int, list[Invoice]]) -> None:
        order = self._known(item, orders)
        if item.kind == CANCEL_KIND:
            self._cancel(item, order)
        else:
            self._invoice(item, order, invoices.get(order.entity_id, []))

    def _cancel(self, item: OutboxItem, order: Order) -> None:
        step = item.payload
        if order.state == "canceled":
            # Canceled by an earlier attempt (its answer was lost) or by someone else: done either way.
            self._finished(item, order, "commerce_canceled", f"Commerce order {order.increment_id} is canceled",
                           found=True)
            return
        reason = cannot_cancel(order)
        if reason is None:
            if not self.work.renew(item):
                return  # the lease was lost: another worker holds the row now
            if self.commerce.orders.cancel(order.entity_id):
                self._finished(item, order, "commerce_canceled", f"canceled Commerce order {order.increment_id}")
                return
            reason = "Commerce refused to cancel it"
        with self.channel.transaction():  # the row given up and the comment saying why: both or neither
            self.comment(step["amazon_order_id"], order.entity_id, "cancel_refused",
                         f"{step['why']}, but Commerce cannot cancel this order: {reason}. Please resolve it by hand.")
            self._refuse(item, f"Commerce cannot cancel order {order.increment_id}: {reason}")

    def _invoice(self, item: OutboxItem, order: Order, invoices: list[Invoice]) -> None:
        if item.attempts > 1 and _covered(order, invoices):
            self._finished(item, order, "commerce_invoiced", f"Commerce order {order.increment_id} is invoiced",
                           found=True)
            return
        if fully_invoiced(order):
            self._already(item, f"Commerce order {order.increment_id} was invoiced already")
            return
        if self.work.renew(item):
            invoice_id = self.commerce.invoices.create(order.entity_id, capture=True)
            self._finished(item, order, "commerce_invoiced", f"invoiced Commerce order {order.increment_id}",
                           {"invoice_id": invoice_id})

    def _comment(self, item: OutboxItem, order: Order) -> None:
        step = item.payload
        if item.attempts > 1 and any(c.comment == step["text"] for c in self.commerce.orders.list_comments(order.entity_id)):
            self._done(item, "commerce_commented", f"comment on Commerce order {order.increment_id} found added")
            return
        if self.work.renew(item):
            try:  # the status read for the batch; a blank one is read again, and never blanked by us
                self.commerce.orders.add_comment(order.entity_id, step["text"], status=order.status or None)
            except ValueError as exc:
                raise Refused(str(exc)) from None
            self._done(item, "commerce_commented", f"commented on Commerce order {order.increment_id}")

    # -- outcomes -------------------------------------------------------------------------------------

    def _finished(self, item: OutboxItem, order: Order, event: str, message: str,
                  details: dict[str, Any] | None = None, found: bool = False) -> None:
        """A cancel or invoice took effect; its comment says why. ``found``: seen done in Commerce
        rather than answered — by an earlier attempt of this row (then it is ours and gets its comment)
        or by someone else (then nothing of ours happened)."""
        if found and item.attempts == 1:
            self._already(item, message)
            return
        verb = "Canceled" if item.kind == CANCEL_KIND else "Invoiced"
        with self.channel.transaction():  # the row done and its comment queued: both or neither
            self.comment(item.payload["amazon_order_id"], order.entity_id, f"{item.payload['topic']}_done",
                         f"{verb} by {SIGNATURE}: {item.payload['why']}.")
            self._done(item, event, message, details)

    def _done(self, item: OutboxItem, event: str, message: str, details: dict[str, Any] | None = None) -> None:
        with self.channel.transaction():
            self.work.done(item)
            self._event(item, event, message, details)
        self.summary.applied[item.kind] += 1

    def _already(self, item: OutboxItem, message: str) -> None:
        with self.channel.transaction():
            self.work.done(item)
            self._event(item, "commerce_already_done", f"{message}; nothing sent")
        self.summary.already_done[item.kind] += 1

    def _refuse(self, item: OutboxItem, reason: str) -> None:
        """Given up: a person looks at it (the row's last_error, the order's events)."""
        with self.channel.transaction():
            self.work.rejected(item, reason)
            self._event(item, "commerce_refused", f"{item.kind} refused: {reason}")
        self.summary.refused[item.kind] += 1
        self.summary.errors.append(f"order {item.payload['amazon_order_id']} ({item.kind}): {reason}")
        self._log.warning("store %s: order %s: %s refused: %s", self.store.key, item.payload["amazon_order_id"],
                          item.kind, reason)

    def _retry(self, item: OutboxItem, exc: BaseException) -> None:
        try:
            message = self.work.failed(item, exc)
        except LeaseLost as lost:
            self._log.warning("%s %s: %s", item.kind, item.source_id, lost)
            return
        self.summary.retrying[item.kind] += 1
        self.summary.errors.append(f"order {item.payload['amazon_order_id']} ({item.kind}): {message}")
        self._event(item, "commerce_effect_failed", f"{item.kind} will be retried: {message}")
        self._log.error("store %s: order %s: %s failed (will retry): %s", self.store.key,
                        item.payload["amazon_order_id"], item.kind, describe_error(exc))

    def _event(self, item: OutboxItem, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        self.channel.events.append(self.store.amazon_conn_id, item.payload["amazon_order_id"], kind, message,
                                   {"effect": item.kind, "topic": item.payload["topic"],
                                    "commerce_entity_id": item.payload["commerce_order_id"], **(details or {})})

    @staticmethod
    def _order_id(item: OutboxItem) -> int:
        return int(item.payload["commerce_order_id"])
