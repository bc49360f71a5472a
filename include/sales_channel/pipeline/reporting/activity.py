"""The order-activity report's figures, read from the channel database into tidy pandas frames.

No Airflow and no buyer data: every figure is a count, an amount or a duration per store, marketplace,
fulfillment channel and Amazon status; no name, address or message of an order is read.

What each measure counts, on the UTC day it happened (an order is counted once per measure and day):

* ``received`` — orders purchased on Amazon that day (the snapshot's ``created_time``);
* ``imported`` — Commerce orders created for them that day (the link's ``created_at``);
* ``shipped`` — orders (now shipped or partially shipped) whose first package left that day (``shipTime``
  of the snapshot's packages, as confirmed by us for merchant-fulfilled orders); an order without package
  times (Amazon gives none for most Amazon-fulfilled orders) on the day of its last update on Amazon;
* ``refunded`` — orders whose first refund Amazon processed that day (the outbox's ``amazon_refund``);
* ``cancelled`` — orders Amazon reports cancelled, on the day of their last update on Amazon.

``status`` is the order's Amazon status now (its latest snapshot). Latencies: purchase → Commerce order
(the link), and purchase → the first shipment confirmation Amazon accepted (the outbox's
``amazon_shipment_confirm``, merchant-fulfilled orders). State — quarantine, alerts — is taken at
``as_of`` (the period's end, or the report's time when the period is not over), so a report of a past
period reads the same whenever it is made again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, or_, select, tuple_

from sales_channel.domain.amazon_order import FulfillmentStatus
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND, REFUND_KIND
from sales_channel.store._sql import chunked
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import (
    Alert,
    AmazonOrder,
    ApiCallCount,
    OrderLink,
    OutboxItem,
    OutboxStatus,
    QuarantinedOrder,
    ReconciliationRun,
)

MEASURES = ("received", "imported", "shipped", "refunded", "cancelled")
DIMENSIONS = ("day", "store", "marketplace_id", "fulfillment_channel", "status")
LATENCY_METRICS = {"to_commerce_order": "Amazon purchase → Commerce order",
                   "to_shipment_confirmed": "Amazon purchase → shipment confirmed on Amazon"}
AGE_BUCKETS = (("under 1 hour", timedelta(hours=1)), ("1–24 hours", timedelta(days=1)),
               ("1–7 days", timedelta(days=7)), ("over 7 days", None))
UNKNOWN_STORE = "(unknown marketplace)"
MAX_PERIOD_DAYS = 93
_SHIPPED = (FulfillmentStatus.SHIPPED.value, FulfillmentStatus.PARTIALLY_SHIPPED.value)


@dataclass(frozen=True)
class Period:
    """Whole UTC days, ``first`` to ``last`` included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period: the end date {self.last} is before the start date {self.first}")
        if (self.last - self.first).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"period: {self.first} to {self.last} is longer than {MAX_PERIOD_DAYS} days")

    @classmethod
    def day_before(cls, moment: datetime) -> Period:
        day = moment.astimezone(UTC).date() - timedelta(days=1)
        return cls(day, day)

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime(self.last.year, self.last.month, self.last.day, tzinfo=UTC) + timedelta(days=1)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}_{self.last}"


@dataclass
class Activity:
    """The report's figures; every frame is tidy (one row per group, one column per variable)."""

    period: Period
    stores: tuple[str, ...]
    all_stores: bool
    as_of: datetime
    activity: pd.DataFrame  # DIMENSIONS + MEASURES
    revenue: pd.DataFrame  # DIMENSIONS + currency, orders, revenue (orders received)
    latency: pd.DataFrame  # metric, day, store, marketplace_id, fulfillment_channel, minutes (one row per order)
    latency_summary: pd.DataFrame  # metric, day, store, marketplace_id, fulfillment_channel, orders, median, p95
    quarantine_open: pd.DataFrame  # store, reason, age, orders (open at as_of)
    quarantine: pd.DataFrame  # store, reason, open, new, resolved, oldest_hours, attempts
    api_calls: pd.DataFrame  # seller_account, operation, calls, throttled, errors, throttled_pct
    reconciliation: pd.DataFrame  # one row per run whose window overlaps the period
    alerts: pd.DataFrame  # open at as_of

    def totals(self) -> dict[str, Any]:
        """The headline numbers (for the task's log and XCom)."""
        return {**{m: int(self.activity[m].sum()) for m in MEASURES},
                "quarantined": int(self.quarantine["open"].sum()),
                "amazon_calls": int(self.api_calls["calls"].sum()),
                "throttled": int(self.api_calls["throttled"].sum()),
                "open_alerts": len(self.alerts)}


def load_activity(channel: ChannelStore, stores: Sequence[StoreSettings], period: Period, *, now: datetime,
                  all_stores: bool = True) -> Activity:
    """The figures of ``stores`` over ``period``, made at ``now``: the quarantine and the alerts are
    looked at the period's end, or ``now`` when the period is not over. ``all_stores`` says the
    selection is every store (then alerts of any scope are shown, otherwise those of the stores and
    their seller accounts)."""
    if not stores:
        raise ValueError("stores: at least one store is required")
    as_of = min(now, period.end)
    keys = tuple(s.key for s in stores)
    market_store = {(s.amazon_conn_id, m): s.key for s in stores for m in s.marketplace_ids}
    accounts = sorted({s.amazon_conn_id for s in stores})
    with channel.engine.connect() as conn:
        links = _links(conn, accounts, period)
        firsts = _first_confirmed(conn, accounts, period)
        orders = _orders(conn, accounts, period, links, firsts)
        orders["store"] = [market_store.get(key) for key in zip(orders["seller_account"], orders["marketplace_id"],
                                                                  strict=True)]
        orders = orders[orders["store"].notna()]
        events = _events(orders, links, firsts, period)
        quarantine = _quarantine_rows(conn, accounts, market_store, period, as_of, set(keys))
        api_calls = _api_calls(conn, accounts, period)
        reconciliation = _reconciliation(conn, list(keys), period)
        scopes = None if all_stores else {*keys, *accounts}
        alerts = _alerts(conn, as_of, scopes)
    latency = _latency(orders, links, firsts, period)
    return Activity(
        period=period, stores=keys, all_stores=all_stores, as_of=as_of,
        activity=_activity(events), revenue=_revenue(events), latency=latency,
        latency_summary=_latency_summary(latency), quarantine_open=_quarantine_open(quarantine, as_of),
        quarantine=_quarantine_summary(quarantine, period, as_of), api_calls=api_calls,
        reconciliation=reconciliation, alerts=alerts)


# -- reading -----------------------------------------------------------------------------------------


def _frame(conn: Connection, statement: Any, columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(statement).all(), columns=list(columns))


def _links(conn: Connection, accounts: list[str], period: Period) -> pd.DataFrame:
    return _frame(conn, select(OrderLink.seller_account, OrderLink.amazon_order_id, OrderLink.created_at).where(
        OrderLink.seller_account.in_(accounts), OrderLink.created_at >= period.start,
        OrderLink.created_at < period.end), ["seller_account", "amazon_order_id", "imported_at"])


def _first_confirmed(conn: Connection, accounts: list[str], period: Period) -> pd.DataFrame:
    """Per order and kind (shipment confirmation, refund), when Amazon first accepted one, if that was
    in the period (an order's later packages or refunds are not counted again)."""
    # Grouped in the database: the outbox keeps every confirmation ever made, only the firsts in the
    # period come back.
    order_id = OutboxItem.payload["amazon_order_id"].as_string()
    first = func.min(OutboxItem.confirmed_at)
    return _frame(conn, select(OutboxItem.target, order_id, OutboxItem.kind, first).where(
        OutboxItem.kind.in_([CONFIRM_KIND, REFUND_KIND]), OutboxItem.status == OutboxStatus.CONFIRMED,
        OutboxItem.target.in_(accounts), OutboxItem.confirmed_at < period.end).group_by(
        OutboxItem.target, order_id, OutboxItem.kind).having(first >= period.start),
        ["seller_account", "amazon_order_id", "kind", "at"])


_ORDER_COLUMNS = (AmazonOrder.seller_account, AmazonOrder.amazon_order_id, AmazonOrder.marketplace_id,
                  AmazonOrder.fulfillment_channel, AmazonOrder.status, AmazonOrder.created_time,
                  AmazonOrder.last_updated_time, AmazonOrder.order_total, AmazonOrder.currency,
                  AmazonOrder.raw["packages"])
_ORDER_NAMES = ("seller_account", "amazon_order_id", "marketplace_id", "fulfillment_channel", "status",
                "created_time", "last_updated_time", "order_total", "currency", "packages")


def _orders(conn: Connection, accounts: list[str], period: Period, links: pd.DataFrame,
            firsts: pd.DataFrame) -> pd.DataFrame:
    """The snapshots of every order with something in the period: created or updated on Amazon in it,
    or imported, confirmed or refunded in it (an order bought earlier and imported late, say)."""
    orders = _frame(conn, select(*_ORDER_COLUMNS).where(
        AmazonOrder.seller_account.in_(accounts), AmazonOrder.created_time < period.end,
        or_(AmazonOrder.created_time >= period.start, AmazonOrder.last_updated_time >= period.start)),
        _ORDER_NAMES)
    known = set(zip(orders["seller_account"], orders["amazon_order_id"], strict=True))
    wanted = {key for frame in (links, firsts)
              for key in zip(frame["seller_account"], frame["amazon_order_id"], strict=True)} - known
    extra = [_frame(conn, select(*_ORDER_COLUMNS).where(
        tuple_(AmazonOrder.seller_account, AmazonOrder.amazon_order_id).in_(batch)), _ORDER_NAMES)
        for batch in chunked(sorted(wanted), 400)]
    orders = pd.concat([orders, *extra], ignore_index=True) if extra else orders
    orders["fulfillment_channel"] = orders["fulfillment_channel"].fillna("UNKNOWN")
    orders["status"] = orders["status"].fillna("UNKNOWN")
    orders["shipped_at"] = _first_ship_times(orders["packages"]).fillna(
        pd.to_datetime(orders["last_updated_time"], utc=True)).where(orders["status"].isin(_SHIPPED))
    return orders.drop(columns="packages")


def _first_ship_times(packages: pd.Series) -> pd.Series:
    """Per order, its earliest package ``shipTime`` (NaT without one): parsed in one pass over every
    package, not a frame per order (that took seconds per ten thousand orders)."""
    times = packages.map(lambda ps: [p.get("shipTime") for p in ps if isinstance(p, dict)] if isinstance(ps, list)
                         else [])
    parsed = pd.to_datetime(times.explode(), utc=True, errors="coerce", format="ISO8601")
    return parsed.groupby(level=0).min().reindex(packages.index)


def _quarantine_rows(conn: Connection, accounts: list[str], market_store: dict[tuple[str, str], str],
                     period: Period, as_of: datetime, selected: set[str]) -> pd.DataFrame:
    """Quarantine entries open at ``as_of`` or opened or resolved in the period, with their store
    (from the order's snapshot; an order too malformed to have one is under ``UNKNOWN_STORE``)."""
    rows = _frame(conn, select(QuarantinedOrder.seller_account, QuarantinedOrder.amazon_order_id,
                               QuarantinedOrder.reason_code, QuarantinedOrder.first_seen_at,
                               QuarantinedOrder.resolved_at, QuarantinedOrder.attempts,
                               AmazonOrder.amazon_order_id.is_not(None), AmazonOrder.marketplace_id).outerjoin(
        AmazonOrder, and_(AmazonOrder.seller_account == QuarantinedOrder.seller_account,
                          AmazonOrder.amazon_order_id == QuarantinedOrder.amazon_order_id)).where(
        QuarantinedOrder.seller_account.in_(accounts), QuarantinedOrder.first_seen_at < as_of,
        or_(QuarantinedOrder.resolved_at.is_(None), QuarantinedOrder.resolved_at >= period.start)),
        ["seller_account", "amazon_order_id", "reason", "first_seen_at", "resolved_at", "attempts", "snapshot",
         "marketplace_id"])
    rows["store"] = [market_store.get((a, m)) if snapshot else UNKNOWN_STORE
                     for a, snapshot, m in zip(rows["seller_account"], rows["snapshot"], rows["marketplace_id"],
                                               strict=True)]
    return rows[rows["store"].isin(selected | {UNKNOWN_STORE})].drop(columns=["snapshot", "marketplace_id"])


def _api_calls(conn: Connection, accounts: list[str], period: Period) -> pd.DataFrame:
    rows = _frame(conn, select(ApiCallCount.seller_account, ApiCallCount.operation, ApiCallCount.calls,
                               ApiCallCount.throttled, ApiCallCount.errors).where(
        ApiCallCount.seller_account.in_(accounts), ApiCallCount.period_start >= period.start,
        ApiCallCount.period_start < period.end), ["seller_account", "operation", "calls", "throttled", "errors"])
    totals = rows.groupby(["seller_account", "operation"], as_index=False)[["calls", "throttled", "errors"]].sum()
    totals["throttled_pct"] = (100 * totals["throttled"] / totals["calls"].where(totals["calls"] > 0)).round(1)
    return totals.sort_values(["seller_account", "calls"], ascending=[True, False], ignore_index=True)


def _reconciliation(conn: Connection, stores: list[str], period: Period) -> pd.DataFrame:
    columns = ["store", "window_start", "window_end", "started_at", "finished_at", "outcome", "orders_checked",
               "repaired", "unrepaired", "counts", "results_path"]
    runs = _frame(conn, select(*(getattr(ReconciliationRun, c) for c in columns)).where(
        ReconciliationRun.store.in_(stores), ReconciliationRun.window_start < period.end,
        ReconciliationRun.window_end > period.start).order_by(ReconciliationRun.store, ReconciliationRun.started_at),
        columns)
    runs["findings"] = [", ".join(f"{kind}: {n}" for kind, n in sorted((counts or {}).items()) if n) or "none"
                        for counts in runs["counts"]]
    return runs.drop(columns="counts")


def _alerts(conn: Connection, as_of: datetime, scopes: set[str] | None) -> pd.DataFrame:
    columns = ["severity", "check_key", "scope", "message", "action", "first_raised_at", "last_raised_at"]
    conditions = [Alert.first_raised_at <= as_of, or_(Alert.cleared_at.is_(None), Alert.cleared_at > as_of)]
    if scopes is not None:
        conditions.append(Alert.scope.in_(sorted(scopes)))
    alerts = _frame(conn, select(*(getattr(Alert, c) for c in columns)).where(and_(*conditions)), columns)
    alerts["_rank"] = (alerts["severity"] != "critical").astype(int)
    return alerts.sort_values(["_rank", "first_raised_at"], ignore_index=True).drop(columns="_rank")


# -- shaping -----------------------------------------------------------------------------------------


def _events(orders: pd.DataFrame, links: pd.DataFrame, firsts: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per order, measure and moment, inside the period, with the order's dimensions."""
    keys = ["seller_account", "amazon_order_id"]
    refunds = firsts.loc[firsts["kind"] == REFUND_KIND, [*keys, "at"]]
    cancelled = orders.loc[orders["status"] == FulfillmentStatus.CANCELLED.value, [*keys, "last_updated_time"]]
    parts = [
        orders[[*keys, "created_time"]].set_axis([*keys, "at"], axis=1).assign(measure="received"),
        links.set_axis([*keys, "at"], axis=1).assign(measure="imported"),
        orders[[*keys, "shipped_at"]].set_axis([*keys, "at"], axis=1).assign(measure="shipped"),
        refunds.assign(measure="refunded"),
        cancelled.set_axis([*keys, "at"], axis=1).assign(measure="cancelled"),
    ]
    events = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=[*keys, "at", "measure"])
    events["at"] = pd.to_datetime(events["at"], utc=True)
    events = events[(events["at"] >= period.start) & (events["at"] < period.end)]
    dims = orders[[*keys, "store", "marketplace_id", "fulfillment_channel", "status", "order_total", "currency"]]
    events = events.merge(dims, on=keys, how="inner")
    events["day"] = events["at"].dt.date
    return events


def _activity(events: pd.DataFrame) -> pd.DataFrame:
    counts = events.groupby([*DIMENSIONS, "measure"])["amazon_order_id"].nunique().unstack("measure", fill_value=0)
    counts = counts.reindex(columns=list(MEASURES), fill_value=0).astype(int).reset_index()
    counts.columns.name = None
    return counts.sort_values(list(DIMENSIONS), ignore_index=True)


def _revenue(events: pd.DataFrame) -> pd.DataFrame:
    received = events[(events["measure"] == "received") & events["currency"].notna()]
    revenue = received.groupby([*DIMENSIONS, "currency"], as_index=False).agg(
        orders=("amazon_order_id", "nunique"), revenue=("order_total", lambda v: sum(x for x in v if x is not None)))
    return revenue.sort_values([*DIMENSIONS, "currency"], ignore_index=True)


def _latency(orders: pd.DataFrame, links: pd.DataFrame, firsts: pd.DataFrame, period: Period) -> pd.DataFrame:
    keys = ["seller_account", "amazon_order_id"]
    confirmations = firsts.loc[firsts["kind"] == CONFIRM_KIND, [*keys, "at"]]
    parts = [links.set_axis([*keys, "at"], axis=1).assign(metric="to_commerce_order"),
             confirmations.assign(metric="to_shipment_confirmed")]
    done = pd.concat(parts, ignore_index=True)
    done = done.merge(orders[[*keys, "store", "marketplace_id", "fulfillment_channel", "created_time"]], on=keys)
    done["at"] = pd.to_datetime(done["at"], utc=True)
    done["minutes"] = (done["at"] - pd.to_datetime(done["created_time"], utc=True)).dt.total_seconds() / 60
    done["day"] = done["at"].dt.date
    return done[["metric", "day", "store", "marketplace_id", "fulfillment_channel", "minutes"]].sort_values(
        ["metric", "day", "store"], ignore_index=True)


def _latency_summary(latency: pd.DataFrame) -> pd.DataFrame:
    groups = ["metric", "day", "store", "marketplace_id", "fulfillment_channel"]
    summary = latency.groupby(groups, as_index=False)["minutes"].agg(
        orders="count", median_minutes="median", p95_minutes=lambda m: m.quantile(0.95))
    return summary.round({"median_minutes": 1, "p95_minutes": 1})


def _age(age: timedelta) -> str:
    return next(name for name, bound in AGE_BUCKETS if bound is None or age < bound)


def _open_at(rows: pd.DataFrame, as_of: datetime) -> pd.Series:
    return rows["resolved_at"].isna() | (pd.to_datetime(rows["resolved_at"], utc=True) >= as_of)


def _quarantine_open(rows: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    open_rows = rows[_open_at(rows, as_of)]
    ages = [_age(as_of - seen) for seen in open_rows["first_seen_at"]]
    counted = open_rows.assign(age=ages).groupby(["store", "reason", "age"], as_index=False).agg(
        orders=("amazon_order_id", "count"))
    order = {name: n for n, (name, _) in enumerate(AGE_BUCKETS)}
    return counted.sort_values(["store", "reason", "age"], key=lambda c: c.map(order) if c.name == "age" else c,
                               ignore_index=True)


def _quarantine_summary(rows: pd.DataFrame, period: Period, as_of: datetime) -> pd.DataFrame:
    seen = pd.to_datetime(rows["first_seen_at"], utc=True)
    resolved = pd.to_datetime(rows["resolved_at"], utc=True)
    flags = rows.assign(
        open=_open_at(rows, as_of).astype(int),
        new=((seen >= period.start) & (seen < period.end)).astype(int),
        resolved=((resolved >= period.start) & (resolved < period.end)).fillna(False).astype(int),
        open_hours=[(as_of - s).total_seconds() / 3600 for s in rows["first_seen_at"]])
    flags["open_hours"] = flags["open_hours"].where(flags["open"] == 1)
    flags["open_attempts"] = flags["attempts"].where(flags["open"] == 1, 0)
    summary = flags.groupby(["store", "reason"], as_index=False).agg(
        open=("open", "sum"), new=("new", "sum"), resolved=("resolved", "sum"),
        oldest_hours=("open_hours", "max"), attempts=("open_attempts", "sum"))
    return summary.round({"oldest_hours": 1}).sort_values(["open", "store", "reason"], ascending=[False, True, True],
                                                          ignore_index=True)


def stores_named(stores: Iterable[StoreSettings], keys: Sequence[str]) -> list[StoreSettings]:
    """The stores ``keys`` names (all of ``stores`` when empty); ValueError naming an unknown key."""
    by_key = {s.key: s for s in stores}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValueError(f"stores: {', '.join(map(repr, unknown))} not among the active stores "
                         f"{sorted(by_key)}")
    return [by_key[k] for k in keys] if keys else list(by_key.values())
