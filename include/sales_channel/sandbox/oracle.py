"""What a correct import of sandbox orders produces, derived from Amazon's data and the shared catalog
alone — never from the importer's code — and what the sandboxes hold; and what a correct status sync
leaves on Amazon (``status_sync_verdict``), judged from the two sandboxes' ledgers. Tests and
benchmarks check the import and the sync against it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from sales_channel.commerce.models import CreditMemo
from sales_channel.sandbox.catalog import BY_SELLER_SKU, CatalogIssue

_MFN_CREATABLE = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
_REASONS = {CatalogIssue.MISSING_IN_COMMERCE: "unknown_sku", CatalogIssue.DISABLED: "product_disabled",
            CatalogIssue.OUT_OF_STOCK: "out_of_stock"}


def creatable(order: Mapping[str, Any]) -> bool:
    """The Adobe extension's creation rules: MFN once unshipped, AFN once shipped, never pending/cancelled."""
    status, channel = order["fulfillment"]["fulfillmentStatus"], order["fulfillment"]["fulfilledBy"]
    return status == "SHIPPED" if channel == "AMAZON" else status in _MFN_CREATABLE


def catalog_blocker(order: Mapping[str, Any], sku_map: Mapping[str, str] | None = None) -> str | None:
    """The quarantine reason the seeded Commerce catalog gives this order, if any."""
    for item in order["orderItems"]:
        seller_sku = item["product"]["sellerSku"]
        product = BY_SELLER_SKU[seller_sku]
        if product.amazon_sku == seller_sku and seller_sku not in (sku_map or {}):
            return "unknown_sku"  # the Amazon SKU differs from the Commerce one: it needs a SKU-map entry
        if product.issue is CatalogIssue.OUT_OF_STOCK and order["fulfillment"]["fulfilledBy"] == "AMAZON":
            continue  # Amazon ships from its own stock
        if product.issue is not CatalogIssue.NONE:
            return _REASONS[product.issue]
    return None


def importable(order: Mapping[str, Any]) -> bool:
    return creatable(order) and catalog_blocker(order) is None


def buyer_paid(order: Mapping[str, Any]) -> Decimal:
    """The sum of the items' charges, discounts subtracted: the Commerce grand total."""
    total = Decimal(0)
    for item in order["orderItems"]:
        for breakdown in item["proceeds"]["breakdowns"]:
            amount = Decimal(breakdown["subtotal"]["amount"])
            total += -abs(amount) if breakdown["type"] == "DISCOUNT" else amount
    return total


def stock_units(order: Mapping[str, Any]) -> Counter[str]:
    """Commerce SKU → units still to ship, for a merchant-fulfilled order."""
    units: Counter[str] = Counter()
    for item in order["orderItems"]:
        shipped = (item.get("fulfillment") or {}).get("quantityFulfilled") or 0
        units[BY_SELLER_SKU[item["product"]["sellerSku"]].sku] += item["quantityOrdered"] - shipped
    return units


def amazon_orders(amazon_url: str, marketplace_ids: list[str]) -> list[dict[str, Any]]:
    """Every order the Amazon sandbox holds for these marketplaces, as Amazon returns it now (all datasets).

    Read as a separate seller-side reader (its own usage-plan bucket in this process)."""
    from sales_channel.amazon.auth import LwaCredentials
    from sales_channel.amazon.client import SpApiClient
    from sales_channel.amazon.models import ALL_INCLUDED_DATA
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

    now = datetime.now(UTC)
    with SpApiClient(LwaCredentials(CREDS["lwa_client_id"], CREDS["lwa_client_secret"], CREDS["refresh_token"]),
                     seller_id="oracle-reader", base_url=amazon_url) as client:
        return [order.raw for order in client.search_orders(
            created_after=now - timedelta(days=400), created_before=now - timedelta(minutes=3),
            marketplace_ids=marketplace_ids, included_data=ALL_INCLUDED_DATA)]


def commerce_orders_created(commerce_url: str) -> Counter[str]:
    """How many Commerce orders were created for each ext_order_id (the Commerce sandbox's ledger)."""
    response = requests.get(f"{commerce_url}/_sandbox/ledger", params={"event": "order_created"}, timeout=60)
    response.raise_for_status()
    return Counter(e["ext_order_id"] for e in response.json()["events"])


@dataclass
class SyncVerdict:
    """The Amazon ledger against what the merchant did in Commerce (the Commerce ledger).

    Packages: one per Commerce shipment of a merchant-fulfilled order (packageReferenceId = the
    shipment's entity id) with its items and quantities and its tracking number; an untracked shipment
    of a store that holds such shipments is rightly absent (``held``). Refunds: one Amazon refund
    entry per item of each credit memo (MerchantAdjustmentItemID ``CM<credit memo id>-<n>``, the
    credit memo being the merchant's adjustment id), adding up to what the memo itemizes. Cancellations:
    one per Amazon order whose Commerce order was cancelled (not by an admin edit)."""

    packages_expected: int = 0
    packages_sent: int = 0  # expected packages found on Amazon
    package_duplicates: int = 0  # confirmShipment packages beyond the first per reference
    held: int = 0
    refunds_expected: int = 0  # credit memo items
    refunds_sent: int = 0
    refund_duplicates: int = 0
    cancellations_expected: int = 0
    cancellations_sent: int = 0
    cancellation_duplicates: int = 0
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # on Amazon, but not as Commerce has it
    unexpected: list[str] = field(default_factory=list)  # on Amazon without a Commerce document asking for it

    @property
    def duplicates(self) -> int:
        return self.package_duplicates + self.refund_duplicates + self.cancellation_duplicates

    def problems(self) -> list[str]:
        return ([f"{self.duplicates} duplicates"] if self.duplicates else []) + [
            f"missing: {m}" for m in self.missing] + [f"wrong: {w}" for w in self.wrong] + [
            f"unexpected: {u}" for u in self.unexpected]

    def to_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if not isinstance(v, list)},
                "duplicates": self.duplicates, "missing": len(self.missing), "wrong": len(self.wrong),
                "unexpected": len(self.unexpected)}


def status_sync_verdict(amazon_url: str, commerce_url: str, *, holding_stores: Collection[int] = (),
                        shipped_elsewhere: Collection[str] = ()) -> SyncVerdict:
    """Judge the sync from the sandboxes' ledgers. ``holding_stores``: Commerce store ids whose
    untracked shipments wait for a track; ``shipped_elsewhere``: Amazon orders shipped in Seller Central,
    whose Commerce shipments must not become packages (Amazon has every unit shipped already)."""
    from sales_channel.commerce.client import CommerceClient
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS

    events = control_get(f"{commerce_url}/_sandbox/ledger")["events"]
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_event[event["event"]].append(event)
    entries = control_get(f"{amazon_url}/_sandbox/ledger")["entries"]
    amazon: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        amazon[entry["kind"]].append(entry)
    documents = by_event["order_shipped"] + by_event["order_refunded"]
    with CommerceClient(commerce_url, CREDS["commerce_token"], store_code="all") as client:
        orders = client.orders.get_many(sorted({int(e["entity_id"]) for e in documents}))
        memos = {memo.entity_id: memo for memo in client.creditmemos.for_orders(
            sorted({int(e["entity_id"]) for e in by_event["order_refunded"]}))}
    amazon_item = {item.item_id: item.ext_order_item_id for order in orders.values() for item in order.items}
    verdict = SyncVerdict()
    _judge_packages(verdict, amazon_url, by_event, amazon["shipment"], amazon_item, set(holding_stores),
                    set(shipped_elsewhere))
    _judge_refunds(verdict, by_event["order_refunded"], memos, amazon["refund"], amazon_item)
    _judge_cancellations(verdict, by_event, amazon["cancellation"])
    return verdict


def control_get(url: str, **params: Any) -> Any:
    """A GET of a sandbox's control API (no token, no usage plan, never faulted)."""
    response = requests.get(url, params=params, timeout=300)
    response.raise_for_status()
    return response.json()


def _items(lines: list[dict[str, Any]], amazon_item: Mapping[int | None, str | None]) -> list[tuple[str, int]]:
    return sorted((str(amazon_item.get(int(line["order_item_id"]))), int(line["qty"]))
                  for line in lines if float(line["qty"]) > 0)


def _judge_packages(verdict: SyncVerdict, amazon_url: str, by_event: Mapping[str, list[dict[str, Any]]],
                    shipments: list[dict[str, Any]], amazon_item: Mapping[int | None, str | None],
                    holding_stores: set[int], shipped_elsewhere: set[str]) -> None:
    tracks: dict[int, str] = {}
    for event in by_event["order_shipped"]:
        numbers = [t["track_number"] for t in event["tracks"] if (t["track_number"] or "").strip()]
        if numbers:
            tracks[int(event["shipment_id"])] = numbers[0].strip()
    for event in by_event["track_added"]:  # what a held shipment is confirmed with
        if int(event["store_id"]) in holding_stores:
            tracks.setdefault(int(event["shipment_id"]), event["track_number"].strip())
    on_amazon: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in shipments:
        if entry.get("source") == "confirmShipment":
            on_amazon[str(entry["packageReferenceId"])].append(entry)
    verdict.package_duplicates = sum(len(found) - 1 for found in on_amazon.values())
    fulfilled_by: dict[str, str] = {}
    judged: set[str] = set()
    for event in by_event["order_shipped"]:
        order_id, reference = event["ext_order_id"], str(event["shipment_id"])
        if order_id not in fulfilled_by:
            order = control_get(f"{amazon_url}/_sandbox/orders/{order_id}")["order"]
            fulfilled_by[order_id] = order["fulfillment"]["fulfilledBy"]
        if fulfilled_by[order_id] != "MERCHANT":
            continue  # Amazon shipped it: nothing to confirm
        judged.add(reference)
        found = on_amazon.get(reference, [])
        if order_id in shipped_elsewhere:
            if found:
                verdict.unexpected.append(f"shipment {reference} of {order_id}, shipped in Seller Central, is on Amazon too")
            continue
        if int(event["store_id"]) in holding_stores and int(event["shipment_id"]) not in tracks:
            verdict.held += 1
            if found:
                verdict.unexpected.append(f"untracked shipment {reference} of {order_id} is on Amazon, not held")
            continue
        verdict.packages_expected += 1
        if not found:
            verdict.missing.append(f"package {reference} of {order_id}")
            continue
        verdict.packages_sent += 1
        package = found[0]
        if found[0]["orderId"] != order_id:
            verdict.wrong.append(f"package {reference}: on order {package['orderId']}, not {order_id}")
        sent = sorted((i["orderItemId"], int(i["quantity"])) for i in package["items"])
        if sent != _items(event["items"], amazon_item):
            verdict.wrong.append(f"package {reference} of {order_id}: items {sent}, Commerce shipped "
                                 f"{_items(event['items'], amazon_item)}")
        track = tracks.get(int(event["shipment_id"]))
        if track is not None and package["trackingNumber"] != track:
            verdict.wrong.append(f"package {reference} of {order_id}: tracking {package['trackingNumber']}, "
                                 f"not {track}")
    verdict.unexpected += [f"package {reference} of {found[0]['orderId']}: no such Commerce shipment"
                           for reference, found in on_amazon.items()
                           if reference not in judged and found[0]["orderId"] not in shipped_elsewhere]


def itemized_total(memo: CreditMemo) -> Decimal:
    """What a credit memo itemizes: its items (net of discount), tax (shipping tax included), shipping
    and gift wrapping — what Amazon can be asked to refund (adjustment refunds and fees are not)."""
    extra = memo.raw.get("extension_attributes") or {}
    gift_wrap = sum((Decimal(str(extra.get(k) or 0)) for k in ("gw_items_price", "gw_items_tax_amount")), Decimal(0))
    return memo.subtotal - abs(memo.discount_amount) + memo.tax_amount + memo.shipping_amount + gift_wrap


def _judge_refunds(verdict: SyncVerdict, events: list[dict[str, Any]], memos: Mapping[int, CreditMemo],
                   refunds: list[dict[str, Any]], amazon_item: Mapping[int | None, str | None]) -> None:
    by_adjustment: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in refunds:
        if entry.get("merchantAdjustmentItemId"):
            by_adjustment[entry["merchantAdjustmentItemId"]].append(entry)
    verdict.refund_duplicates = sum(len(found) - 1 for found in by_adjustment.values())
    judged: set[str] = set()
    for memo in events:
        prefix = f"CM{memo['creditmemo_id']}-"
        found = {adjustment: entries[0] for adjustment, entries in by_adjustment.items()
                 if adjustment.startswith(prefix)}
        judged.update(found)
        expected = {item for item, _ in _items(memo["items"], amazon_item)}
        verdict.refunds_expected += len(expected)
        refunded = {entry["orderItemId"] for entry in found.values()}
        verdict.refunds_sent += len(expected & refunded)
        what = f"credit memo {memo['creditmemo_id']} of {memo['ext_order_id']}"
        verdict.missing += [f"{what}: refund of item {item}" for item in sorted(expected - refunded)]
        if found and not expected - refunded:
            total = sum((Decimal(amount) for entry in found.values() for amount in entry["components"].values()),
                        Decimal(0))
            itemized = itemized_total(memos[int(memo["creditmemo_id"])])
            if abs(total - itemized) >= Decimal("0.005"):
                verdict.wrong.append(f"{what}: {total} refunded on Amazon, the memo itemizes {itemized}")
    verdict.unexpected += [f"refund {adjustment} of {entries[0]['orderId']}: no such credit memo"
                           for adjustment, entries in by_adjustment.items()
                           if adjustment.startswith("CM") and adjustment not in judged]


def _judge_cancellations(verdict: SyncVerdict, by_event: Mapping[str, list[dict[str, Any]]],
                         cancellations: list[dict[str, Any]]) -> None:
    edited = {int(e["entity_id"]) for e in by_event["order_edited"]}
    cancelled = {e["ext_order_id"] for e in by_event["order_canceled"]
                 if e.get("ext_order_id") and int(e["entity_id"]) not in edited}
    on_amazon = Counter(entry["orderId"] for entry in cancellations)
    verdict.cancellations_expected = len(cancelled)
    verdict.cancellations_sent = sum(1 for order_id in cancelled if on_amazon[order_id])
    verdict.cancellation_duplicates = sum(n - 1 for n in on_amazon.values() if n > 1)
    verdict.missing += [f"cancellation of {order_id}" for order_id in sorted(cancelled) if not on_amazon[order_id]]
    verdict.unexpected += [f"cancellation of {entry['orderId']} by feed: not cancelled in Commerce"
                           for entry in cancellations
                           if entry.get("source") == "feed" and entry["orderId"] not in cancelled]
