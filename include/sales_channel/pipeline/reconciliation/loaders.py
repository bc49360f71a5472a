"""The three sides of a reconciliation, read in batches into the frames of ``frames``.

* **Amazon**: one order report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``) per seller
  account and window — createReport, getReport until it is final, getReportDocument, one download: a
  handful of calls whatever the volume (searchOrders would spend hours of its usage plan on a busy day
  and starve the import). The account's report is shared by its stores: each keeps the rows of its
  marketplaces (the report's ``sales-channel``). Amazon SKUs become Commerce SKUs through the SKU map.
* **Commerce**: the store's orders carrying the Amazon payment method — those created in the window
  (widened by a margin: an order is created in Commerce after Amazon's purchase date; an Amazon-fulfilled
  one only once Amazon ships it) and those whose ``ext_order_id`` is an order of the report, looked up
  50 ids per call. Magento's order search cannot filter on the payment method (it lives in
  ``sales_order_payment``, which ``GET /V1/orders`` does not join), so that filter is applied here, on
  the orders read. Quantities shipped, refunded and cancelled come with the order items.
* **Ours**: the links of those orders, the account's unresolved quarantine entries of the store's
  marketplaces, and the store's outbox rows that are not confirmed.

No call is made per order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from sales_channel.amazon.client import SpApiClient
from sales_channel.amazon.models import ProcessingStatus
from sales_channel.amazon.reports import ORDERS_BY_ORDER_DATE, read_order_report
from sales_channel.commerce.client import CommerceClient
from sales_channel.commerce.models import Order
from sales_channel.commerce.search import Condition, SearchCriteria
from sales_channel.domain.mapping import MARKETPLACE_NAMES, PAYMENT_METHOD
from sales_channel.domain.money import minor_units
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.reconciliation import frames
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OrderLink

log = logging.getLogger(__name__)

ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")


class ReportFailed(RuntimeError):
    """Amazon could not produce the order report (FATAL, or cancelled although the window has orders)."""


class ReportNotReady(TimeoutError):
    """The order report was still being processed when the wait for it ended: the retry asks again."""


@dataclass(frozen=True)
class OrderReport:
    """An account's order report of a window: its document, or None when Amazon cancelled the report."""

    account: str
    report_id: str
    document_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "report_id": self.report_id, "document_id": self.document_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderReport:
        return cls(data["account"], data["report_id"], data.get("document_id"))


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M:%SZ} to {self.end:%Y-%m-%dT%H:%M:%SZ}"


def create_order_report(amazon: SpApiClient, account: str, marketplace_ids: Sequence[str], window: Window, *,
                        logger: logging.Logger = log) -> str:
    """Ask Amazon for the account's order report of ``window`` (orders by purchase date); its report id.
    Amazon makes it in minutes: look at it with ``order_report_outcome`` until it is final."""
    report_id = amazon.create_report(ORDERS_BY_ORDER_DATE, sorted(marketplace_ids), window.start, window.end)
    logger.info("account %s: order report %s requested for %s (%s)", account, report_id, window.describe(),
                ", ".join(sorted(marketplace_ids)))
    return report_id


def order_report_outcome(amazon: SpApiClient, account: str, report_id: str, *,
                         logger: logging.Logger = log) -> OrderReport | None:
    """One look at the report (one getReport): None while Amazon is still making it; the report once DONE
    (or CANCELLED: Amazon does so when the window has no data); ``ReportFailed`` when it ended FATAL."""
    report = amazon.get_report(report_id)
    status = report.processing_status
    if not status.is_final:
        return None
    if status is ProcessingStatus.FATAL:
        raise ReportFailed(f"order report {report_id} of account {account} ended FATAL: Amazon could not make "
                           f"it (error document {report.report_document_id or 'none'}); the retry requests a "
                           "new one")
    if status is ProcessingStatus.CANCELLED:
        logger.warning("account %s: Amazon cancelled order report %s (it does so when the window has no "
                       "data); each store checks that it knows no order of the window", account, report_id)
        return OrderReport(account, report_id, None)
    if not report.report_document_id:
        raise ReportFailed(f"order report {report_id} of account {account} is DONE without a document")
    logger.info("account %s: order report %s done (document %s)", account, report_id, report.report_document_id)
    return OrderReport(account, report_id, report.report_document_id)


def read_amazon_items(amazon: SpApiClient, report: OrderReport, store: StoreSettings, channel: ChannelStore,
                      window: Window) -> pd.DataFrame:
    """The store's rows of the account's order report as the typed ``amazon_items`` frame, Amazon SKUs
    translated to Commerce SKUs through the SKU map."""
    if report.document_id is None:
        known = channel.snapshots.count_created(store.amazon_conn_id, store.marketplace_ids, window.start, window.end)
        if known:
            raise ReportFailed(f"order report {report.report_id} of account {report.account} was cancelled, but the "
                               f"channel database knows {known} orders of store {store.key} created in "
                               f"{window.describe()}: the retry requests a new report")
        raw = read_order_report("")
    else:
        raw = read_order_report(amazon.download_report_document(amazon.get_report_document(report.document_id)))
    names = marketplace_names(store)
    items = frames.amazon_items_from_report(raw[raw["sales-channel"].isin(names)], minor_units)
    mapped = channel.skus.get_many(store.amazon_conn_id, items["sku"].unique().tolist())
    if mapped:  # map, not replace: replace passes over every row once per mapped SKU
        items["sku"] = items["sku"].map(mapped).fillna(items["sku"]).astype(items["sku"].dtype)
    return items


def marketplace_names(store: StoreSettings) -> list[str]:
    """The report's ``sales-channel`` of each of the store's marketplaces."""
    unknown = [m for m in store.marketplace_ids if m not in MARKETPLACE_NAMES]
    if unknown:
        raise ValueError(f"store {store.key}: field marketplace_ids: no order-report sales channel is known for "
                         f"{', '.join(unknown)} (add it to sales_channel.domain.mapping.MARKETPLACE_NAMES)")
    return [MARKETPLACE_NAMES[m] for m in store.marketplace_ids]


def read_commerce(commerce: CommerceClient, store: StoreSettings, window: Window, margin: timedelta,
                  amazon_order_ids: Iterable[str], linked_entity_ids: Iterable[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``commerce_orders`` and ``commerce_items`` frames of the store's Amazon orders: those created in
    the window ± ``margin``, those carrying one of ``amazon_order_ids`` and the linked ones, whenever
    they were created."""
    created = (SearchCriteria().where("store_id", store.store_id)
               .where("created_at", window.start - margin, Condition.GTEQ)
               .where("created_at", window.end + margin, Condition.LT))
    found: dict[int, Order] = {order.entity_id: order for order in commerce.orders.iterate(created)}
    for orders in commerce.orders.find_by_ext_order_ids(sorted(set(amazon_order_ids))).values():
        found.update((order.entity_id, order) for order in orders)
    found.update(commerce.orders.get_many(sorted(set(linked_entity_ids) - set(found))))
    ours = [order for _, order in sorted(found.items())
            if order.store_id == store.store_id and _payment_method(order) == PAYMENT_METHOD]
    return commerce_orders_frame(ours), commerce_items_frame(ours)


def _payment_method(order: Order) -> str | None:
    payment = order.raw.get("payment")
    return payment.get("method") if isinstance(payment, dict) else None


def commerce_orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    rows = [{"commerce_entity_id": order.entity_id, "increment_id": order.increment_id,
             "ext_order_id": order.ext_order_id or "", "state": order.state, "currency": order.currency,
             "grand_total_minor": to_minor(order.grand_total, order.currency,
                                           f"Commerce order {order.increment_id}: field grand_total"),
             "created_at": order.created_at, "relation_child_id": order.relation_child_id} for order in orders]
    frame = pd.DataFrame(rows, columns=["commerce_entity_id", "increment_id", "ext_order_id", "state", "currency",
                                        "grand_total_minor", "created_at", "relation_child_id"])
    return frame.astype({"commerce_entity_id": "int64", "increment_id": "string", "ext_order_id": "string",
                         "state": "string", "currency": "string", "grand_total_minor": "int64",
                         "relation_child_id": "Int64"}).assign(created_at=pd.to_datetime(frame["created_at"], utc=True))


def commerce_items_frame(orders: Sequence[Order]) -> pd.DataFrame:
    """One row per order line; a configurable product's child lines are left out (their parent line
    carries the SKU and the quantities)."""
    quantities = ("qty_ordered", "qty_shipped", "qty_refunded", "qty_canceled")
    rows = [{"commerce_entity_id": order.entity_id, "sku": item.sku,
             **{name: _whole(getattr(item, name), f"Commerce order {order.increment_id}: field items[{n}].{name}")
                for name in quantities}}
            for order in orders for n, item in enumerate(order.items) if item.parent_item_id is None]
    frame = pd.DataFrame(rows, columns=["commerce_entity_id", "sku", *quantities])
    return frame.astype({"commerce_entity_id": "int64", "sku": "string", **dict.fromkeys(quantities, "int64")})


def to_minor(amount: Decimal, currency: str, what: str) -> int:
    """``amount`` in minor units of ``currency``; ValueError naming ``what`` when it has more decimals."""
    scaled = amount.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what}: {amount} has more decimals than {currency} has ({minor_units(currency)})")
    return int(scaled)


def _whole(quantity: Decimal, what: str) -> int:
    if quantity != quantity.to_integral_value():
        raise ValueError(f"{what}: {quantity} is not a whole number of units")
    return int(quantity)


def read_links(channel: ChannelStore, store: StoreSettings, amazon_order_ids: Iterable[str],
               commerce_entity_ids: Iterable[int] = ()) -> dict[str, OrderLink]:
    """The store's links of these Amazon orders or these Commerce orders, by Amazon order id."""
    links = {**channel.links.get_many(store.amazon_conn_id, amazon_order_ids),
             **{link.amazon_order_id: link for link in channel.links.get_by_commerce_ids(store.store_code,
                                                                                          commerce_entity_ids).values()}}
    return {order_id: link for order_id, link in links.items() if link.store_code == store.store_code}


def read_ours(channel: ChannelStore, store: StoreSettings, amazon_order_ids: Iterable[str],
              links: dict[str, OrderLink]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``links``, ``quarantine`` and ``outbox`` frames: the store's ``links``, the account's unresolved
    quarantine of the store's marketplaces, the store's unconfirmed outbox rows."""
    account = store.amazon_conn_id
    ids = set(amazon_order_ids)
    links_frame = pd.DataFrame(
        [{"amazon_order_id": link.amazon_order_id, "commerce_entity_id": link.commerce_entity_id}
         for link in links.values()],
        columns=["amazon_order_id", "commerce_entity_id"]).astype({"amazon_order_id": "string",
                                                                  "commerce_entity_id": "int64"})

    entries = channel.quarantine.open(account)
    snapshots = channel.snapshots.get_many(account, [e.amazon_order_id for e in entries if e.amazon_order_id not in ids])
    markets = set(store.marketplace_ids)
    quarantine = pd.DataFrame(
        [{"amazon_order_id": e.amazon_order_id, "reason_code": e.reason_code, "first_seen_at": e.first_seen_at}
         for e in entries if e.amazon_order_id in ids or (
             e.amazon_order_id in snapshots and snapshots[e.amazon_order_id].marketplace_id in markets)],
        columns=["amazon_order_id", "reason_code", "first_seen_at"])
    quarantine = quarantine.astype({"amazon_order_id": "string", "reason_code": "string"}).assign(
        first_seen_at=pd.to_datetime(quarantine["first_seen_at"], utc=True))

    store_ids = ids | set(links)
    rows = []
    for item in channel.outbox.unfinished([store.key, account]):
        order_id = _order_of(item.payload, item.source_id)
        # The account's rows (import, stock, Amazon cancels) are the store's when their order is.
        if item.target == store.key or item.source_id.startswith(f"{store.key}/") or order_id in store_ids:
            rows.append({"kind": item.kind, "source_id": item.source_id, "status": item.status,
                         "amazon_order_id": order_id, "updated_at": item.updated_at, "last_error": item.last_error})
    outbox = pd.DataFrame(rows, columns=["kind", "source_id", "status", "amazon_order_id", "updated_at", "last_error"])
    outbox = outbox.astype({"kind": "string", "source_id": "string", "status": "string", "amazon_order_id": "string",
                            "last_error": "string"}).assign(updated_at=pd.to_datetime(outbox["updated_at"], utc=True))
    return links_frame, quarantine, outbox


def _order_of(payload: Any, source_id: str) -> str | None:
    """The Amazon order an outbox row is about: its payload's ``amazon_order_id``, else the id in its source."""
    if isinstance(payload, dict) and isinstance(payload.get("amazon_order_id"), str):
        return payload["amazon_order_id"]
    found = ORDER_ID.search(source_id)
    return found.group(0) if found else None
