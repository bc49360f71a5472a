"""Task bodies of the ``amazon_order_reconciliation`` DAG."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import conf, get_current_context
from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import AdobeCommerceHook, AmazonSellingPartnerHook, ChannelDatabaseHook
from sales_channel.airflow.tasks.common import (
    active_stores,
    load_stores,
    name_map_index,
    refusals_fail_at_once,
    results_folder,
    settle_delay,
    store_settings,
    workers,
)
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.importing.store_importer import connections_needed
from sales_channel.pipeline.operations.requests import OperationRefused

log = logging.getLogger(__name__)
LISTED = 50  # unrepaired findings listed in the verdict's log


def check_request() -> dict[str, str]:
    """The window to reconcile: the form's (checked: both ends, end after start, at most 31 days), else the
    run's data interval (the previous day for a scheduled run)."""
    from sales_channel.pipeline.reconciliation.run import ReconciliationRequest

    context = get_current_context()
    with refusals_fail_at_once():
        request = ReconciliationRequest.from_form(context["params"])
    if request.window is not None:
        start, end = request.window.start, request.window.end
    else:
        start, end = context["data_interval_start"], context["data_interval_end"]
        if start is None or end is None or end <= start:
            raise AirflowFailException(f"the run's data interval ({start} – {end}) is not a window: give "
                                       "window_start and window_end")
    log.info("reconciling %s, orders created %s to %s", f"store {request.store}" if request.store else
             "every active store", f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}")
    return {"start": start.isoformat(), "end": end.isoformat()}


def store_keys() -> list[str]:
    """The store of the form, else every active store with valid settings."""
    requested = get_current_context()["params"].get("store") or None
    stores = sorted(store.key for store in active_stores())
    if requested is None:
        invalid = load_stores().invalid
        if invalid:
            log.warning("stores with invalid settings are not reconciled: %s", "; ".join(invalid.values()))
        return stores
    if requested not in stores:
        raise AirflowFailException(f"refused: field store: {requested!r} is not an active store with valid settings "
                                   f"(active stores: {', '.join(stores) or 'none'})")
    return [requested]


def accounts(store_keys: Iterable[str]) -> list[str]:
    keys = set(store_keys)
    return sorted({store.amazon_conn_id for store in active_stores() if store.key in keys})


def create_report(account: str, window: Mapping[str, str], store_keys: Iterable[str]) -> str:
    """Ask Amazon for the account's order report of the window (its stores' marketplaces): the report id."""
    from sales_channel.pipeline.reconciliation.loaders import create_order_report

    name_map_index(account=account)
    keys = set(store_keys)
    markets = {m for store in active_stores() if store.key in keys and store.amazon_conn_id == account
               for m in store.marketplace_ids}
    with _amazon(account) as amazon:
        return create_order_report(amazon, account, sorted(markets), _window(window))


def report_outcome(account: str, report_id: str) -> dict[str, Any] | None:
    """One look at the report: None while Amazon makes it, else the report (XCom: ids only)."""
    from sales_channel.pipeline.reconciliation.loaders import order_report_outcome

    name_map_index(account=account)
    with _amazon(account) as amazon:
        outcome = order_report_outcome(amazon, account, report_id)
    return None if outcome is None else outcome.to_json()


@contextmanager
def _amazon(account: str) -> Iterator[Any]:
    """The account's SP-API client, its calls recorded in the channel database when it closes."""
    channel = ChannelDatabaseHook().get_conn()
    try:
        with AmazonSellingPartnerHook(account, channel=channel).get_conn() as amazon:
            yield amazon
    finally:
        channel.close()


def reconcile(store_key: str, window: Mapping[str, str], reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Reconcile one store with its account's report; repair what is safe; write the results. XCom: counts."""
    from sales_channel.pipeline.reconciliation.loaders import OrderReport
    from sales_channel.pipeline.reconciliation.run import ReconciliationSettings, reconcile_store

    name_map_index(store=store_key)
    store = store_settings(store_key)
    report = next((OrderReport.from_json(r) for r in reports if r["account"] == store.amazon_conn_id), None)
    if report is None:
        raise AirflowFailException(f"store {store_key}: no order report of seller account {store.amazon_conn_id}")
    settings = ReconciliationSettings(
        results_folder=results_folder(),
        margin=timedelta(hours=conf.getfloat("sales_channel", "reconciliation_margin_hours", fallback=24.0)),
        quarantine_stuck_after=timedelta(hours=conf.getfloat("sales_channel", "reconciliation_quarantine_hours",
                                                             fallback=24.0)),
        outbox_stuck_after=timedelta(hours=conf.getfloat("sales_channel", "reconciliation_outbox_hours",
                                                         fallback=2.0)))
    channel = ChannelDatabaseHook().get_conn()
    try:
        # One with: the Amazon client is closed even when the Commerce client cannot be built.
        with (AmazonSellingPartnerHook(store.amazon_conn_id, channel=channel).get_conn() as amazon,
              AdobeCommerceHook(store.commerce_conn_id, store_code=store.store_code,
                                pool_maxsize=connections_needed(workers())).get_conn() as commerce):
            @contextmanager
            def open_import() -> Iterator[AccountImport]:
                yield AccountImport([store], amazon, {store.key: commerce}, channel, workers=workers(),
                                    settle=settle_delay())

            outcome = reconcile_store(store, report, _window(window), amazon=amazon, commerce=commerce,
                                      channel=channel, open_import=open_import, settings=settings,
                                      dag_run_id=get_current_context()["dag_run"].run_id, logger=log)
    finally:
        channel.close()
    return outcome.to_json()


def verdict(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """Fails, without retries, when the store's reconciliation left findings it could not repair (each
    listed in the log, as in the channel database and the run's CSV/HTML)."""
    from sales_channel.pipeline.reconciliation.results import NEEDS_PERSON, REPAIR_FAILED

    name_map_index(store=outcome["store"])
    summary = (f"store {outcome['store']}: {outcome['orders_checked']} orders checked, {outcome['ok']} ok, findings "
               f"{outcome['counts'] or 'none'}, {outcome['repaired']} repaired, {outcome['unrepaired']} not repaired; "
               f"results in {outcome['results_path']} (reconciliation run {outcome['run_id']})")
    log.info("summary: %s", summary)
    if not outcome["unrepaired"]:
        return {k: outcome[k] for k in ("store", "outcome", "repaired", "unrepaired")}
    channel = ChannelDatabaseHook().get_conn()
    try:
        unrepaired = [f for f in channel.reconciliation.findings(outcome["run_id"])
                      if f.status in (NEEDS_PERSON, REPAIR_FAILED)]
    finally:
        channel.close()
    for finding in unrepaired[:LISTED]:
        log.info("  %s %s (%s): %s", finding.kind, finding.amazon_order_id or finding.commerce_increment_id or "",
                 finding.status, finding.detail)
    if len(unrepaired) > LISTED:
        log.info("  … and %d more (see the results)", len(unrepaired) - LISTED)
    raise AirflowFailException(f"{outcome['unrepaired']} findings need a person — {summary}")


def _window(window: Mapping[str, str]):
    from sales_channel.pipeline.reconciliation.loaders import Window

    start, end = (datetime.fromisoformat(window[k]) for k in ("start", "end"))
    if start.tzinfo is None or end.tzinfo is None:
        raise OperationRefused(f"window {window}: times need a UTC offset")
    return Window(start, end)
