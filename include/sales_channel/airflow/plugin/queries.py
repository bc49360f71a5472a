"""What the "Amazon Orders" view reads from the channel database: one query per page section, read only.

Every function takes a SQLAlchemy ``Session`` (read-only transactions, see ``store.engine.read_only``)
and returns plain rows for the templates and the JSON API alike. Nothing here writes, and nothing
reads buyer data: the snapshots hold none, and only whitelisted fields of a snapshot are returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from sales_channel.domain.amazon_order import ORDER_ID_PATTERN
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.store.models import (
    Alert,
    AmazonOrder,
    OrderEvent,
    OrderLink,
    OutboxItem,
    OutboxStatus,
    QuarantinedOrder,
    ReconciliationFinding,
    ReconciliationRun,
)

MAX_PAGE = 200
# Outbox rows still to do (counted as "open" per order) and those given up (a person looks at them).
OPEN_STATES = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENT, OutboxStatus.HELD)
UNFINISHED_STATES = (*OPEN_STATES, OutboxStatus.FAILED)


@dataclass(frozen=True)
class Stores:
    """The stores' settings as the view needs them: which store an order belongs to, and back."""

    by_key: Mapping[str, StoreSettings] = field(default_factory=dict)

    def key_of(self, seller_account: str, marketplace_id: str | None, store_code: str | None) -> str | None:
        """The store taking this account's marketplace (and, for a linked order, its Commerce store code)."""
        for key, store in self.by_key.items():
            if store.amazon_conn_id == seller_account and marketplace_id in store.marketplace_ids and (
                    store_code is None or store.store_code == store_code):
                return key
        return None

    def account_of_source(self, source_id: str) -> str:
        """The seller account an outbox source names: its first segment, a store key or an account."""
        first = source_id.split("/", 1)[0]
        store = self.by_key.get(first)
        return store.amazon_conn_id if store is not None else first

    def condition(self, key: str) -> ColumnElement[bool]:
        """The orders of store ``key`` (nothing for an unknown key)."""
        store = self.by_key.get(key)
        if store is None:
            return false()
        return and_(OrderLink.seller_account == store.amazon_conn_id, OrderLink.store_code == store.store_code,
                    AmazonOrder.marketplace_id.in_(list(store.marketplace_ids)))


@dataclass(frozen=True)
class OrderFilter:
    """The orders list's search and filters; ``before`` is the keyset cursor (a link id: older than it)."""

    q: str | None = None  # an Amazon order id or a Commerce increment id, exactly
    store: str | None = None
    seller_account: str | None = None
    status: str | None = None  # Amazon's fulfillmentStatus
    fulfillment: str | None = None  # Amazon's fulfilledBy: MERCHANT or AMAZON
    before: int | None = None
    limit: int = 50


def _order_of(source_id: str, payload_order: str | None) -> str | None:
    """The Amazon order an outbox row is about: its payload's ``amazon_order_id`` (shipments), else its source's."""
    if payload_order:
        return payload_order
    found = ORDER_ID_PATTERN.search(source_id)
    return found.group(0) if found else None


def _payload_order() -> ColumnElement[str]:
    return OutboxItem.payload["amazon_order_id"].as_string()


def orders(session: Session, stores: Stores, wanted: OrderFilter) -> tuple[list[dict[str, Any]], int | None]:
    """A page of linked orders, newest link first, and the cursor of the next (older) page (None: last page).

    Keyset on the link's primary key, so a page costs the same on the 1st and the 1000th page. The page's
    last events and open/failed outbox rows come in one query each, not one per order.
    """
    limit = max(1, min(wanted.limit, MAX_PAGE))
    statement = select(OrderLink, AmazonOrder).outerjoin(AmazonOrder, and_(
        AmazonOrder.seller_account == OrderLink.seller_account,
        AmazonOrder.amazon_order_id == OrderLink.amazon_order_id))
    if wanted.q:
        statement = statement.where(or_(OrderLink.amazon_order_id == wanted.q,
                                        OrderLink.commerce_increment_id == wanted.q))
    if wanted.store:
        statement = statement.where(stores.condition(wanted.store))
    if wanted.seller_account:
        statement = statement.where(OrderLink.seller_account == wanted.seller_account)
    if wanted.status:
        statement = statement.where(AmazonOrder.status == wanted.status)
    if wanted.fulfillment:
        statement = statement.where(AmazonOrder.fulfillment_channel == wanted.fulfillment)
    if wanted.before is not None:
        statement = statement.where(OrderLink.id < wanted.before)
    found = session.execute(statement.order_by(OrderLink.id.desc()).limit(limit + 1)).tuples().all()
    page, more = found[:limit], len(found) > limit
    keys = [(link.seller_account, link.amazon_order_id) for link, _ in page]
    events = last_events(session, keys)
    outbox = outbox_counts(session, [order_id for _, order_id in keys])
    rows = []
    for link, snapshot in page:
        key = (link.seller_account, link.amazon_order_id)
        rows.append({
            "link_id": link.id, "seller_account": link.seller_account, "amazon_order_id": link.amazon_order_id,
            "store": stores.key_of(link.seller_account, snapshot.marketplace_id if snapshot else None, link.store_code),
            "store_code": link.store_code, "commerce_entity_id": link.commerce_entity_id,
            "commerce_increment_id": link.commerce_increment_id, "linked_at": link.created_at,
            "marketplace_id": snapshot.marketplace_id if snapshot else None,
            "status": snapshot.status if snapshot else None,
            "fulfillment": snapshot.fulfillment_channel if snapshot else None,
            "purchased_at": snapshot.created_time if snapshot else None,
            "last_event": events.get(key),
            "outbox": outbox.get(link.amazon_order_id, {"open": 0, "failed": 0}),
        })
    return rows, (page[-1][0].id if more else None)


def last_events(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest event of each ``(seller account, order id)``, in one query on ix_order_events_order
    (two plain IN lists use the index on both backends, a row-value IN does not on SQLite; the few rows
    of another account's order with the same id are dropped here)."""
    if not keys:
        return {}
    wanted = set(keys)
    ranked = select(OrderEvent.seller_account, OrderEvent.amazon_order_id, OrderEvent.occurred_at,
                    OrderEvent.event_type, OrderEvent.message, func.row_number().over(
                        partition_by=(OrderEvent.seller_account, OrderEvent.amazon_order_id),
                        order_by=(OrderEvent.occurred_at.desc(), OrderEvent.id.desc())).label("n")).where(
        OrderEvent.seller_account.in_(sorted({account for account, _ in wanted})),
        OrderEvent.amazon_order_id.in_(sorted({order_id for _, order_id in wanted}))).subquery()
    rows = session.execute(select(ranked).where(ranked.c.n == 1)).all()
    return {(r.seller_account, r.amazon_order_id): {"at": r.occurred_at, "type": r.event_type, "message": r.message}
            for r in rows if (r.seller_account, r.amazon_order_id) in wanted}


def outbox_counts(session: Session, order_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Open and failed outbox rows per Amazon order, from the unfinished rows (ix_outbox_due: by status).

    The outbox has no column for the order (it is in the source id, or in a shipment's payload), so the
    unfinished rows are read and assigned here; confirmed rows, nearly all of them, are never read.
    """
    wanted = set(order_ids)
    counts: dict[str, dict[str, int]] = {}
    if not wanted:
        return counts
    rows = session.execute(select(OutboxItem.source_id, OutboxItem.status, _payload_order()).where(
        OutboxItem.status.in_(list(UNFINISHED_STATES)))).all()
    for source_id, status, payload_order in rows:
        order_id = _order_of(source_id, payload_order)
        if order_id in wanted:
            entry = counts.setdefault(order_id, {"open": 0, "failed": 0})
            entry["failed" if status == OutboxStatus.FAILED else "open"] += 1
    return counts


def account_of(session: Session, amazon_order_id: str) -> str | None:
    """The seller account that knows an order (for a link that names the order only)."""
    for model in (OrderLink, AmazonOrder, QuarantinedOrder):
        account = session.scalar(select(model.seller_account).where(model.amazon_order_id == amazon_order_id).limit(1))
        if account is not None:
            return account
    return None


def order_detail(session: Session, stores: Stores, seller_account: str, amazon_order_id: str) -> dict[str, Any] | None:
    """Everything the channel knows of one order; None when it knows nothing."""
    link = session.scalar(select(OrderLink).where(OrderLink.seller_account == seller_account,
                                                  OrderLink.amazon_order_id == amazon_order_id))
    snapshot = session.get(AmazonOrder, (seller_account, amazon_order_id))
    quarantine = session.scalar(select(QuarantinedOrder).where(QuarantinedOrder.seller_account == seller_account,
                                                               QuarantinedOrder.amazon_order_id == amazon_order_id))
    events = session.scalars(select(OrderEvent).where(
        OrderEvent.seller_account == seller_account, OrderEvent.amazon_order_id == amazon_order_id,
    ).order_by(OrderEvent.occurred_at, OrderEvent.id)).all()
    # No index holds the order of an outbox row (see outbox_counts): its own rows are matched by source
    # (<account>/<order>, <store>/<order>/...) or by the shipment payload's order id.
    outbox = session.scalars(select(OutboxItem).where(or_(
        OutboxItem.source_id == f"{seller_account}/{amazon_order_id}",
        OutboxItem.source_id.contains(f"/{amazon_order_id}/", autoescape=True),
        and_(OutboxItem.kind == CONFIRM_KIND, _payload_order() == amazon_order_id),
    )).order_by(OutboxItem.created_at, OutboxItem.id)).all()
    findings = session.execute(select(ReconciliationFinding, ReconciliationRun.window_start,
                                      ReconciliationRun.window_end).join(ReconciliationRun).where(
        ReconciliationFinding.seller_account == seller_account,
        ReconciliationFinding.amazon_order_id == amazon_order_id,
    ).order_by(ReconciliationFinding.id.desc()).limit(20)).all()
    if link is None and snapshot is None and quarantine is None and not events:
        return None
    return {
        "seller_account": seller_account, "amazon_order_id": amazon_order_id,
        "store": stores.key_of(seller_account, snapshot.marketplace_id if snapshot else None,
                               link.store_code if link else None),
        "link": None if link is None else {
            "store_code": link.store_code, "commerce_entity_id": link.commerce_entity_id,
            "commerce_increment_id": link.commerce_increment_id, "linked_at": link.created_at},
        "snapshot": None if snapshot is None else snapshot_summary(snapshot),
        "quarantine": None if quarantine is None else _quarantine_row(quarantine),
        "events": [{"at": e.occurred_at, "type": e.event_type, "message": e.message} for e in events],
        "outbox": [_outbox_row(item) for item in outbox],
        "findings": [{"run_id": f.run_id, "window_start": start, "window_end": end, "kind": f.kind,
                      "detail": f.detail, "repair": f.repair, "status": f.status} for f, start, end in findings],
    }


def snapshot_summary(snapshot: AmazonOrder) -> dict[str, Any]:
    """Status, items and totals of a snapshot: named fields only, never a buyer's (the raw JSON is not shown)."""
    raw = snapshot.raw if isinstance(snapshot.raw, dict) else {}
    breakdowns = _dig(raw, "proceeds", "breakdowns")
    items = []
    for item in raw.get("orderItems") or []:
        if not isinstance(item, dict):
            continue
        items.append({
            "order_item_id": item.get("orderItemId"), "seller_sku": _dig(item, "product", "sellerSku"),
            "asin": _dig(item, "product", "asin"), "title": _dig(item, "product", "title"),
            "quantity": item.get("quantityOrdered"),
            "quantity_shipped": _dig(item, "fulfillment", "quantityFulfilled"),
            "unit_price": _money(_dig(item, "product", "price", "unitPrice")),
            "total": _money(_dig(item, "proceeds", "proceedsTotal")),
        })
    return {
        "status": snapshot.status, "fulfillment": snapshot.fulfillment_channel,
        "marketplace_id": snapshot.marketplace_id,
        "service_level": _dig(raw, "fulfillment", "fulfillmentServiceLevel"),
        "purchased_at": snapshot.created_time, "updated_at": snapshot.last_updated_time,
        "last_seen_at": snapshot.last_seen_at,
        "total": None if snapshot.order_total is None else f"{snapshot.order_total:.2f} {snapshot.currency or ''}".strip(),
        "breakdown": [{"type": b.get("type"), "amount": _money(b.get("subtotal"))}
                      for b in breakdowns if isinstance(b, dict)] if isinstance(breakdowns, list) else [],
        "items": items,
    }


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _money(node: Any) -> str | None:
    if not isinstance(node, dict) or node.get("amount") is None:
        return None
    return f"{node.get('amount')} {node.get('currencyCode') or ''}".strip()


def _quarantine_row(entry: QuarantinedOrder) -> dict[str, Any]:
    return {"seller_account": entry.seller_account, "amazon_order_id": entry.amazon_order_id,
            "reason_code": entry.reason_code, "message": entry.message, "first_seen_at": entry.first_seen_at,
            "last_seen_at": entry.last_seen_at, "attempts": entry.attempts, "next_attempt_at": entry.next_attempt_at,
            "resolved_at": entry.resolved_at, "resolved_by": entry.resolved_by, "resolution": entry.resolution}


def _outbox_row(item: OutboxItem) -> dict[str, Any]:
    """An outbox row without its payload (references and journals for the pipelines, not for people)."""
    return {"id": item.id, "kind": item.kind, "source_id": item.source_id, "target": item.target,
            "status": item.status, "attempts": item.attempts, "last_error": item.last_error,
            "created_at": item.created_at, "updated_at": item.updated_at, "sent_at": item.sent_at,
            "confirmed_at": item.confirmed_at, "next_attempt_at": item.next_attempt_at, "feed_id": item.feed_id}


def open_quarantine(session: Session, stores: Stores, *, store: str | None = None, offset: int = 0,
                    limit: int = 50) -> list[dict[str, Any]]:
    """Open quarantine entries, oldest first, with their store (from the snapshot's marketplace)."""
    statement = select(QuarantinedOrder, AmazonOrder.marketplace_id).outerjoin(AmazonOrder, and_(
        AmazonOrder.seller_account == QuarantinedOrder.seller_account,
        AmazonOrder.amazon_order_id == QuarantinedOrder.amazon_order_id,
    )).where(QuarantinedOrder.resolved_at.is_(None))
    if store:
        settings = stores.by_key.get(store)
        statement = statement.where(false() if settings is None else and_(
            QuarantinedOrder.seller_account == settings.amazon_conn_id,
            AmazonOrder.marketplace_id.in_(list(settings.marketplace_ids))))
    statement = statement.order_by(QuarantinedOrder.first_seen_at, QuarantinedOrder.id).offset(max(offset, 0)).limit(
        max(1, min(limit, MAX_PAGE)))
    return [{**_quarantine_row(entry), "store": stores.key_of(entry.seller_account, marketplace, None)}
            for entry, marketplace in session.execute(statement).tuples()]


def failed_outbox(session: Session, stores: Stores, *, offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Failed outbox rows, the latest failure first (ix_outbox_due: by status), with the order they are about."""
    statement = select(OutboxItem, _payload_order()).where(OutboxItem.status == OutboxStatus.FAILED).order_by(
        OutboxItem.updated_at.desc(), OutboxItem.id.desc()).offset(max(offset, 0)).limit(max(1, min(limit, MAX_PAGE)))
    rows = []
    for item, payload_order in session.execute(statement).tuples():
        rows.append({**_outbox_row(item), "amazon_order_id": _order_of(item.source_id, payload_order),
                     "seller_account": stores.account_of_source(item.source_id)})
    return rows


def reconciliation_runs(session: Session, *, store: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest reconciliation runs (ix_reconciliation_runs_store for one store)."""
    statement = select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if store:
        statement = statement.where(ReconciliationRun.store == store)
    return [_run_row(run) for run in session.scalars(statement)]


def _run_row(run: ReconciliationRun) -> dict[str, Any]:
    return {"id": run.id, "store": run.store, "seller_account": run.seller_account, "window_start": run.window_start,
            "window_end": run.window_end, "started_at": run.started_at, "finished_at": run.finished_at,
            "outcome": run.outcome, "orders_checked": run.orders_checked, "counts": run.counts,
            "repaired": run.repaired, "unrepaired": run.unrepaired, "results_path": run.results_path,
            "dag_run_id": run.dag_run_id}


def reconciliation_run(session: Session, run_id: int, *, offset: int = 0,
                       limit: int = 100) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """One run and a page of its findings (by run_id's index); None for an unknown run."""
    run = session.get(ReconciliationRun, run_id)
    if run is None:
        return None
    findings = session.scalars(select(ReconciliationFinding).where(ReconciliationFinding.run_id == run_id).order_by(
        ReconciliationFinding.id).offset(max(offset, 0)).limit(max(1, min(limit, MAX_PAGE)))).all()
    return _run_row(run), [{"id": f.id, "amazon_order_id": f.amazon_order_id, "seller_account": f.seller_account,
                            "commerce_increment_id": f.commerce_increment_id, "kind": f.kind, "detail": f.detail,
                            "repair": f.repair, "status": f.status} for f in findings]


def open_alerts(session: Session) -> list[dict[str, Any]]:
    """Open alerts, the oldest first (ix_alerts_open)."""
    statement = select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.first_raised_at, Alert.id)
    return [{"id": a.id, "check": a.check_key, "scope": a.scope, "severity": a.severity, "message": a.message,
             "action": a.action, "first_raised_at": a.first_raised_at, "last_raised_at": a.last_raised_at,
             "notified_at": a.notified_at} for a in session.scalars(statement)]


def age(since: datetime | None, now: datetime) -> str:
    """``3d 4h``, ``5h 12m`` or ``7m``: how long ago ``since`` was."""
    if since is None:
        return ""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"
