"""The daily reconciliation of a large store: how long ``classify`` takes on N orders, and whether it
finds every discrepancy planted among them and nothing else.

    python bench/reconcile_scale.py --orders 1000000

Not timed: synthetic frames of N Amazon orders (1–3 items, about two on average; USD, CAD, GBP, EUR, JPY,
KWD; merchant- and Amazon-fulfilled; pending, unshipped, partially shipped, shipped, cancelled), their
Commerce orders, items and links as the import leaves them (refunds, admin edits followed, orders
imported before the report's window, quarantined orders, the outbox's rows), then a few hundred
discrepancies of every finding kind planted on distinct orders and recorded as the truth. Timed:
``classify`` (classification and repair planning, details included) — the frames are validated when
``Inputs`` is built, before the clock starts.

Prints one JSON object: ``orders``, ``items``, ``elapsed_s``, ``peak_rss_mb`` (the whole process's peak
resident size, ``ru_maxrss``), ``found`` / ``planted``, ``false_positives`` / ``missed`` (findings
against the planted truth, by kind and order) and ``by_kind`` (found per kind).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sales_channel.pipeline.reconciliation.compare import KINDS, Policy, classify
from sales_channel.pipeline.reconciliation.frames import (
    AMAZON_ITEMS,
    CATEGORICAL_ITEM_COLUMNS,
    COMMERCE_ITEMS,
    COMMERCE_ORDERS,
    LINKS,
    OUTBOX,
    QUARANTINE,
    Inputs,
)
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND, REFUND_KIND

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
CURRENCIES = np.array(["USD", "CAD", "GBP", "EUR", "JPY", "KWD"], dtype=object)
CURRENCY_SHARE = [0.45, 0.08, 0.12, 0.2, 0.12, 0.03]
MARKETPLACES = np.array(["Amazon.com", "Amazon.ca", "Amazon.co.uk", "Amazon.de", "Amazon.co.jp", "Amazon.ae"],
                        dtype=object)
PRICE_SCALE = np.array([100, 100, 100, 100, 1, 1000])  # minor units per major unit (JPY 0, KWD 3 decimals)
STATUSES = ("pending", "unshipped", "partially_shipped", "shipped", "cancelled")
P, U, PS, S, C = range(5)
SKUS = 2000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=300, help="discrepancies planted per kind")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def order_ids(start: int, count: int) -> np.ndarray:
    """Distinct 3-7-7 digit ids (the first group and the second together encode the number)."""
    return np.array([f"{100 + i % 800:03d}-{i // 800:07d}-{(i * 2654435761) % 10_000_000:07d}"
                     for i in range(start, start + count)], dtype=object)


def strings(values: np.ndarray) -> pd.Series:
    """A string column whose every cell is a string object of its own, as a loader's (read_csv, a database
    driver) are: no cached hash or shared object makes the joins cheaper than they would be."""
    return pd.Series([None if v is None else v.encode().decode() for v in values], dtype="string")


def categorical(codes: np.ndarray, names: np.ndarray) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(strings(names))))


def utc(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(ns, utc=True))


class Synthetic:
    """N orders on every side, as the import leaves them, and the discrepancies planted into them."""

    def __init__(self, n: int, per_kind: int, seed: int) -> None:
        self.rng = rng = np.random.default_rng(seed)
        self.n, self.per_kind = n, per_kind
        self.truth: set[tuple[str, str]] = set()
        self.now_ns = pd.Timestamp(NOW).value
        day = 86_400 * 10**9
        # -- Amazon, per order
        self.ids = order_ids(0, n)
        self.currency = rng.choice(len(CURRENCIES), n, p=CURRENCY_SHARE)
        self.amazon_fulfilled = rng.random(n) < 0.2
        self.status = np.where(self.amazon_fulfilled, rng.choice(5, n, p=[0.04, 0.06, 0.0, 0.82, 0.08]),
                               rng.choice(5, n, p=[0.04, 0.45, 0.05, 0.42, 0.04]))
        self.purchase = self.now_ns - rng.integers(day // 24, 30 * day, n)
        # -- Amazon, per item
        self.n_items = rng.choice([1, 2, 3], n, p=[0.3, 0.4, 0.3])
        self.item_order = np.repeat(np.arange(n), self.n_items)
        m = len(self.item_order)
        self.first_item = np.r_[True, self.item_order[1:] != self.item_order[:-1]]
        self.sku = rng.integers(0, SKUS, m)
        self.c_sku = self.sku.copy()  # the Commerce item's SKU (the SKU map already applied)
        self.quantity = rng.integers(1, 4, m)
        unit = rng.integers(299, 9999, m) * PRICE_SCALE[self.currency[self.item_order]] // 100
        self.item_total = self.quantity * unit + rng.integers(0, 500, m) * PRICE_SCALE[self.currency[self.item_order]] // 100
        status = self.status[self.item_order]
        self.shipped = np.where(status == S, self.quantity, np.where((status == PS) & self.first_item, self.quantity, 0))
        # -- what the import made of them (FBA imported: the bench's store imports it)
        merchant = ~self.amazon_fulfilled
        expected = (merchant & np.isin(self.status, (U, PS, S))) | (self.amazon_fulfilled & (self.status == S))
        cancelled_after_import = merchant & (self.status == C) & (rng.random(n) < 0.6)
        self.imported = expected | cancelled_after_import
        quarantined = expected & (self.status == U) & (rng.random(n) < 0.002)
        self.imported &= ~quarantined
        self.quarantined = np.flatnonzero(quarantined)
        self.linked = self.imported.copy()
        self.entity = np.where(self.imported, 10_000_000 + np.arange(n), -1)
        self.state = np.select([self.status == S, self.status == C], ["complete", "canceled"], "processing").astype(object)
        self.grand_total = np.bincount(self.item_order, weights=self.item_total, minlength=n).astype(np.int64)
        self.c_currency = self.currency.copy()
        self.c_shipped = self.shipped.copy()
        self.c_quantity = self.quantity.copy()
        self.c_refunded = np.where((status == S) & (rng.random(m) < 0.03), 1, 0)
        self.commerce_item = self.imported[self.item_order].copy()
        self.used = ~self.imported | quarantined  # orders a plant may not touch
        self.extra_orders: list[dict] = []  # Commerce rows beyond one per imported order (edits, duplicates, orphans)
        self.extra_items: list[pd.DataFrame] = []
        self.link_override: dict[int, int] = {}
        self.quarantine_rows: list[tuple[str, str, int]] = [
            (self.ids[i], "out_of_stock", self.now_ns - 3600 * 10**9) for i in self.quarantined]
        self.outbox_rows: list[tuple[str, str, str, str | None, int, str]] = []
        self.next_entity = 20_000_000
        self.edit_child: dict[int, int] = {}
        self.background()

    # -- helpers ----------------------------------------------------------------------------------
    def pick(self, eligible: np.ndarray, count: int | None = None) -> np.ndarray:
        pool = np.flatnonzero(eligible & ~self.used)
        chosen = self.rng.choice(pool, min(count or self.per_kind, len(pool)), replace=False)
        self.used[chosen] = True
        return np.sort(chosen)

    def plant(self, kind: str, orders: np.ndarray) -> None:
        self.truth.update((kind, self.ids[i]) for i in orders)

    def items_of(self, orders: np.ndarray) -> np.ndarray:
        wanted = np.zeros(self.n, dtype=bool)
        wanted[orders] = True
        return np.flatnonzero(wanted[self.item_order])

    def copy_order(self, i: int, *, state: str) -> int:
        """Another Commerce order for Amazon order ``i``, with the same items and total."""
        entity = self.next_entity
        self.next_entity += 1
        self.extra_orders.append({"commerce_entity_id": entity, "ext_order_id": self.ids[i], "state": state,
                                  "currency": CURRENCIES[self.currency[i]], "grand_total_minor": self.grand_total[i]})
        rows = self.items_of(np.array([i]))
        self.extra_items.append(pd.DataFrame({"commerce_entity_id": entity, "sku": self.sku_names(self.c_sku[rows]),
                                              "qty_ordered": self.quantity[rows], "qty_shipped": self.shipped[rows],
                                              "qty_refunded": 0, "qty_canceled": 0}))
        return entity

    def outbox(self, kind: str, source: str, status: str, i: int | None, age_s: int, error: str = "") -> None:
        self.outbox_rows.append((kind, source, status, None if i is None else self.ids[i],
                                 self.now_ns - age_s * 10**9, error))

    # -- as the import and the status sync leave things -------------------------------------------
    def background(self) -> None:
        rng, n = self.rng, self.n
        merchant_imported = self.imported & ~self.amazon_fulfilled
        # Admin edits: the original canceled, its copy live; the link on the original or moved to the copy.
        for i in self.pick(merchant_imported & (self.status == U), max(1, n // 200)):
            child = self.copy_order(i, state="processing")
            self.state[i] = "canceled"
            self.edit_child[i] = child
            if rng.random() < 0.5:
                self.link_override[i] = child
        # Fully refunded after shipping: closed, still compared as ordered.
        closed = self.pick(merchant_imported & (self.status == S), max(1, n // 500))
        self.state[closed] = "closed"
        self.c_refunded[self.items_of(closed)] = self.quantity[self.items_of(closed)]
        # Shipment confirmations: done for shipped merchant orders, a few young ones still pending.
        shipped = np.flatnonzero(merchant_imported & np.isin(self.status, (PS, S)))
        for i in shipped[: max(1, n // 100)]:
            self.outbox(CONFIRM_KIND, f"store/shipment/{i}", "pending", i, 300)
        self.confirmed = shipped[max(1, n // 100):]

    def plant_all(self) -> None:
        rng, n = self.rng, self.n
        # Imported and not cancelled: compared on every count.
        merchant = self.imported & ~self.amazon_fulfilled & np.isin(self.status, (U, PS, S))
        unshipped, shipped = merchant & (self.status == U), merchant & (self.status == S)
        expected_unshipped = ~self.amazon_fulfilled & (self.status == U) & self.imported

        missing = self.pick(expected_unshipped)
        self.imported[missing] = self.linked[missing] = False
        self.commerce_item[self.items_of(missing)] = False
        self.plant("missing_in_commerce", missing)

        unlinked = self.pick(merchant)
        self.linked[unlinked] = False
        self.plant("unlinked_commerce_order", unlinked)

        self.orphans = order_ids(n + n // 10, self.per_kind)  # ids neither in the report nor linked
        for position, oid in enumerate(self.orphans):
            entity = self.next_entity
            self.next_entity += 1
            self.extra_orders.append({"commerce_entity_id": entity, "ext_order_id": "" if position % 10 == 0 else oid,
                                      "state": "processing", "currency": "USD", "grand_total_minor": 1999})
            self.truth.add(("orphan_commerce_order", f"entity:{entity}" if position % 10 == 0 else oid))

        duplicated = self.pick(merchant)
        for i in duplicated:
            self.copy_order(i, state="processing")
        self.plant("duplicate_commerce_orders", duplicated)

        amazon_only = np.r_[self.pick(shipped, self.per_kind // 2),
                            self.pick(self.imported & self.amazon_fulfilled & (self.status == S), self.per_kind // 2)]
        self.c_shipped[self.items_of(amazon_only)] = 0
        self.state[amazon_only] = "processing"
        self.plant("shipped_on_amazon_only", amazon_only)

        commerce_only = self.pick(unshipped)
        rows = self.items_of(commerce_only)
        self.c_shipped[rows] = self.quantity[rows]
        for i in commerce_only[::2]:  # half can be sent again: their confirmation row is pending
            self.outbox(CONFIRM_KIND, f"store/shipment/c{i}", "pending", i, 600)
        self.plant("shipped_in_commerce_only", commerce_only)

        cancelled_amazon = self.pick(unshipped)
        self.status[cancelled_amazon] = C
        self.plant("cancelled_on_amazon_only", cancelled_amazon)

        cancelled_commerce = self.pick(unshipped)
        self.state[cancelled_commerce] = "canceled"
        self.plant("cancelled_in_commerce_only", cancelled_commerce)

        totals = self.pick(merchant | (self.imported & self.amazon_fulfilled))
        self.grand_total[totals[::2]] += rng.choice([-1, 1, 100], len(totals[::2]))
        self.c_currency[totals[1::2]] = (self.currency[totals[1::2]] + 1) % len(CURRENCIES)
        self.plant("total_mismatch", totals)

        items = self.pick(merchant)
        rows = self.items_of(items)
        first = rows[self.first_item[rows]]
        self.c_quantity[first[::2]] += 1  # one more unit, same total (as a wrong item line would)
        self.sku[first[1::2]] = (self.sku[first[1::2]] + 1) % SKUS  # Amazon's SKU differs: one on each side only
        self.plant("item_mismatch", items)

        stuck = self.pick(~self.amazon_fulfilled & (self.status == U) & self.imported)
        self.imported[stuck] = self.linked[stuck] = False
        self.commerce_item[self.items_of(stuck)] = False
        self.quarantine_rows += [(self.ids[i], "unknown_sku", self.now_ns - 3 * 86_400 * 10**9) for i in stuck]
        self.plant("stuck_in_quarantine", stuck)

        unsent = self.pick(merchant)
        for position, i in enumerate(unsent):
            self.outbox(REFUND_KIND, f"store/{self.ids[i]}/creditmemo/{i}", ("pending", "sent", "held")[position % 3], i,
                        6 * 3600)
        self.plant("outbox_unsent", unsent)

        failed = self.pick(merchant)
        for position, i in enumerate(failed):
            error = ("ServerError: createFeed 503 InternalFailure" if position % 2
                     else "Amazon refused it in feed 123: 18028: the refund exceeds the order's amount")
            self.outbox(REFUND_KIND, f"store/{self.ids[i]}/creditmemo/{i}", "failed", i, 3600, error)
        self.plant("outbox_failed", failed)

    # -- frames -----------------------------------------------------------------------------------
    def inputs(self) -> Inputs:
        n, rng = self.n, self.rng
        io = self.item_order
        # As amazon_items_from_report gives them: the order id, status, channel, marketplace and currency as
        # categories (built from their codes here: the conversion's own cost is not what this measures).
        fulfillment = self.amazon_fulfilled[io].astype(np.int64)
        items = pd.DataFrame({
            "amazon_order_id": categorical(io, self.ids), "purchase_date": utc(self.purchase[io]),
            "last_updated": utc(np.maximum(self.purchase[io], self.now_ns - 3600 * 10**9)),
            "order_status": categorical(self.status[io], np.array(STATUSES, dtype=object)),
            "fulfillment": categorical(fulfillment, np.array(["merchant", "amazon"], dtype=object)),
            "marketplace": categorical(self.currency[io], MARKETPLACES), "sku": self.sku_names(self.sku),
            "quantity": self.quantity, "quantity_shipped": self.shipped,
            "currency": categorical(self.currency[io], CURRENCIES), "total_minor": self.item_total})
        assert set(CATEGORICAL_ITEM_COLUMNS) == {c for c in items if isinstance(items[c].dtype, pd.CategoricalDtype)}
        # Orders bought before the report's window: in Commerce and linked, not in the report.
        earlier = max(1, n // 20)
        earlier_ids = order_ids(n, earlier)
        imported = np.flatnonzero(self.imported)
        child = np.full(n, -1, dtype=np.int64)
        child[list(self.edit_child)] = list(self.edit_child.values())
        extra = pd.DataFrame(self.extra_orders)
        orders = pd.DataFrame({
            "commerce_entity_id": np.r_[self.entity[imported], 30_000_000 + np.arange(earlier),
                                        extra["commerce_entity_id"].to_numpy(np.int64)],
            "ext_order_id": strings(np.r_[self.ids[imported], earlier_ids, extra["ext_order_id"].to_numpy(object)]),
            "state": strings(np.r_[self.state[imported], np.full(earlier, "complete", object),
                                   extra["state"].to_numpy(object)]),
            "currency": strings(np.r_[CURRENCIES[self.c_currency[imported]], np.full(earlier, "USD", object),
                                      extra["currency"].to_numpy(object)]),
            "grand_total_minor": np.r_[self.grand_total[imported], np.full(earlier, 2500),
                                       extra["grand_total_minor"].to_numpy(np.int64)],
        })
        orders["increment_id"] = strings(np.char.add("0", orders["commerce_entity_id"].to_numpy().astype(str)).astype(object))
        orders["created_at"] = utc(self.now_ns - rng.integers(0, 40 * 86_400 * 10**9, len(orders)))
        relation_child = np.r_[child[imported], np.full(earlier + len(extra), -1, np.int64)]
        orders["relation_child_id"] = pd.array(relation_child, dtype="Int64")
        orders.loc[relation_child < 0, "relation_child_id"] = pd.NA
        rows = np.flatnonzero(self.commerce_item)
        commerce_items = pd.concat([pd.DataFrame({
            "commerce_entity_id": self.entity[io[rows]], "sku": self.sku_names(self.c_sku[rows]),
            "qty_ordered": self.c_quantity[rows], "qty_shipped": self.c_shipped[rows],
            "qty_refunded": self.c_refunded[rows], "qty_canceled": np.where(self.status[io[rows]] == C, self.quantity[rows], 0)}),
            pd.DataFrame({"commerce_entity_id": 30_000_000 + np.arange(earlier), "sku": self.sku_names(np.zeros(earlier, int)),
                          "qty_ordered": 1, "qty_shipped": 1, "qty_refunded": 0, "qty_canceled": 0}),
            *self.extra_items], ignore_index=True)
        commerce_items["sku"] = strings(commerce_items["sku"].to_numpy(object))
        linked = np.flatnonzero(self.linked)
        link_entity = self.entity[linked].copy()
        moved = np.array(list(self.link_override), dtype=np.int64)
        link_entity[np.searchsorted(linked, moved)] = list(self.link_override.values())  # followed to the copy
        links = pd.DataFrame({"amazon_order_id": strings(np.r_[self.ids[linked], earlier_ids]),
                              "commerce_entity_id": np.r_[link_entity, 30_000_000 + np.arange(earlier)]})
        quarantine = pd.DataFrame(self.quarantine_rows, columns=["amazon_order_id", "reason_code", "first_seen_at"])
        for column in ("amazon_order_id", "reason_code"):
            quarantine[column] = strings(quarantine[column].to_numpy(object))
        quarantine["first_seen_at"] = utc(quarantine["first_seen_at"].to_numpy(np.int64))
        # Confirmed rows of every other shipped merchant order (the outbox the sync leaves behind).
        confirmed = self.confirmed
        outbox = pd.concat([
            pd.DataFrame({"kind": CONFIRM_KIND, "source_id": np.char.add("store/shipment/", confirmed.astype(str)).astype(object),
                          "status": "confirmed", "amazon_order_id": self.ids[confirmed],
                          "updated_at": self.now_ns - rng.integers(3600, 30 * 86_400, len(confirmed)) * 10**9,
                          "last_error": ""}),
            pd.DataFrame(self.outbox_rows, columns=list(OUTBOX))], ignore_index=True)
        for column in ("kind", "source_id", "status", "amazon_order_id", "last_error"):
            outbox[column] = strings(outbox[column].to_numpy(object))
        outbox["updated_at"] = utc(outbox["updated_at"].to_numpy(np.int64))
        return Inputs(amazon_items=items[list(AMAZON_ITEMS)], commerce_orders=orders[list(COMMERCE_ORDERS)],
                      commerce_items=commerce_items[list(COMMERCE_ITEMS)], links=links[list(LINKS)],
                      quarantine=quarantine[list(QUARANTINE)], outbox=outbox[list(OUTBOX)])

    @staticmethod
    def sku_names(codes: np.ndarray) -> pd.Series:
        names = np.array([f"SKU-{k:05d}" for k in range(SKUS)], dtype=object)
        return strings(names[codes])


def main() -> None:
    args = parse_args()
    world = Synthetic(args.orders, args.per_kind, args.seed)
    world.plant_all()
    inputs, truth = world.inputs(), world.truth
    del world  # the generator's arrays: what a reconciliation task would not hold
    gc.collect()
    policy = Policy(now=NOW, connected_since=NOW - timedelta(days=365), import_enabled=True, import_fba=True,
                    quarantine_stuck_after=timedelta(hours=24), outbox_stuck_after=timedelta(hours=2))
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = classify(inputs, policy)
    elapsed = time.perf_counter() - started
    findings = result.findings
    keys = np.where(findings["amazon_order_id"].isna(),
                    "entity:" + findings["commerce_entity_id"].astype("string").fillna(""),
                    findings["amazon_order_id"].fillna(""))
    found = set(zip(findings["kind"].to_numpy(object), keys.astype(object), strict=True))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "benchmark": "reconcile_scale", "orders": args.orders, "items": len(inputs.amazon_items),
        "elapsed_s": round(elapsed, 3), "peak_rss_mb": round(peak_kib / 1024, 1),
        "peak_rss_before_classify_mb": round(before_kib / 1024, 1),
        "found": len(findings), "planted": len(truth), "false_positives": len(found - truth),
        "missed": len(truth - found), "by_kind": {kind: result.counts[kind] for kind in KINDS},
        "orders_checked": result.orders_checked, "ok": result.ok,
    }))


if __name__ == "__main__":
    main()
