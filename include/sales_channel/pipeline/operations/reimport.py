"""Re-import: one Amazon order, or a store's orders created in a window, read from Amazon again and run
through the import now.

Exactly once still holds: it is the import's own path (``AccountImport.import_now`` for one order,
``AccountImport.reimport_window`` for a window), so a linked order is not created again, an order being
created elsewhere is left to that run, and a quarantined order is retried at once, whatever its
backoff. A window is read by order creation time, on a checkpoint of its own: the scheduled import's
watermarks and window are never moved by a re-import. Each order touched gets a ``reimported`` event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sales_channel.amazon.errors import SpApiError
from sales_channel.amazon.windows import MIN_WINDOW_END_AGE
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import AccountImport, ImportWindow
from sales_channel.pipeline.operations.report import Actor, OperationReport
from sales_channel.pipeline.operations.requests import OperationRefused, check_window
from sales_channel.store.channel_store import ChannelStore

EVENT = "reimported"


def account_for(request_store: str | None, order_id: str | None, stores: Sequence[StoreSettings],
                channel: ChannelStore) -> str:
    """The seller account to ask for the order or window: the named store's, else the account whose
    snapshot of the order the channel database keeps, else the only one there is."""
    if request_store is not None:
        return store_named(request_store, stores).amazon_conn_id
    accounts = sorted({store.amazon_conn_id for store in stores})
    if order_id is not None:
        known = [account for account in accounts if channel.snapshots.get(account, order_id) is not None]
        if len(known) == 1:
            return known[0]
    if len(accounts) == 1:
        return accounts[0]
    raise OperationRefused(f"field store: order {order_id} is not known to the channel database and "
                           f"{len(accounts)} seller accounts are configured ({', '.join(accounts)}); name the "
                           "order's store")


def store_named(key: str, stores: Iterable[StoreSettings]) -> StoreSettings:
    by_key = {store.key: store for store in stores}
    if key not in by_key:
        raise OperationRefused(f"field store: {key!r} is not an active store with valid settings "
                               f"(active stores: {', '.join(sorted(by_key)) or 'none'})")
    return by_key[key]


def read_order(run: AccountImport, order_id: str) -> Mapping[str, Any]:
    """The order from Amazon now; refused, naming the account, when Amazon has no such order for it."""
    try:
        return run.read_order(order_id)
    except SpApiError as exc:
        if exc.status == 404:
            raise OperationRefused(f"order {order_id}: Amazon does not serve it to seller account {run.account} "
                                   f"(getOrder: 404 {exc.code}): check the order id and its store; orders "
                                   "older than two years are not served") from exc
        raise


def reimport_order(run: AccountImport, order_id: str, actor: Actor) -> OperationReport:
    """Read one order from Amazon again (getOrder, every dataset the import uses) and import it now."""
    report = OperationReport(f"re-import of order {order_id} (seller account {run.account})")
    report.add(run.import_now([read_order(run, order_id)]))
    report.record(run.channel, run.account, actor, EVENT, "re-imported")
    return report


def reimport_window(run: AccountImport, store_key: str, start: datetime, end: datetime, actor: Actor, *,
                    deadline: float | None = None, now: datetime | None = None) -> OperationReport:
    """Search the store's marketplaces for the orders created from ``start`` to ``end`` and import them
    now. An end later than Amazon serves (two minutes ago) is moved back, and the report says so; a
    window not finished by ``deadline`` is continued by the next attempt (``report.unfinished``)."""
    check_window(start, end)
    store = store_named(store_key, run.stores)
    latest = (now or datetime.now(UTC)) - MIN_WINDOW_END_AGE
    if start >= latest:
        raise OperationRefused(f"field start: {start:%Y-%m-%dT%H:%M:%SZ} is not in the past (Amazon serves orders "
                               f"created up to two minutes ago, {latest:%Y-%m-%dT%H:%M:%SZ})")
    report = OperationReport(f"re-import of store {store.key}: orders created {start:%Y-%m-%dT%H:%M:%SZ} to "
                             f"{min(end, latest):%Y-%m-%dT%H:%M:%SZ} in {', '.join(store.marketplace_ids)}")
    if end > latest:
        report.notes.append(f"the window ends at {latest:%Y-%m-%dT%H:%M:%SZ} instead of {end:%Y-%m-%dT%H:%M:%SZ}: "
                            "Amazon serves orders created up to two minutes ago")
        end = latest
    summary = run.reimport_window(ImportWindow(start, end, store.marketplace_ids, by_creation=True), deadline)
    report.add(summary)
    if not summary.window_complete:
        report.unfinished = (f"the window's time budget ran out after {summary.resumed_at_page + summary.pages} "
                             "pages; the next attempt continues from there")
    report.notes.append("the scheduled import's watermarks and window are unchanged")
    report.record(run.channel, run.account, actor, EVENT, "re-imported (window)")
    return report
