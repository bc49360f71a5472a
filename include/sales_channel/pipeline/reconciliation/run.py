"""One store's reconciliation from end to end, without Airflow: read the three sides (``loaders``),
classify (``compare``), repair what is safe (``repair``), write the result (``results``: the channel
database, CSV and HTML). The DAG's task calls ``reconcile_store``; so can a script.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.operations.requests import OperationRefused, check_window, time_field
from sales_channel.pipeline.reconciliation.compare import Policy, classify
from sales_channel.pipeline.reconciliation.frames import Inputs
from sales_channel.pipeline.reconciliation.loaders import (
    OrderReport,
    Window,
    read_amazon_items,
    read_commerce,
    read_links,
    read_ours,
)
from sales_channel.pipeline.reconciliation.repair import Repairs
from sales_channel.pipeline.reconciliation.results import (
    Outcome,
    finding_rows,
    window_folder,
    write_files,
)
from sales_channel.store.channel_store import ChannelStore

log = logging.getLogger(__name__)
KEY = ["kind", "amazon_order_id", "commerce_increment_id"]


@dataclass(frozen=True)
class ReconciliationSettings:
    """``margin`` widens the Commerce window (orders are created after Amazon's purchase date; an
    Amazon-fulfilled one once it ships); the two ages are the policy's."""

    results_folder: Path
    margin: timedelta = timedelta(days=1)
    quarantine_stuck_after: timedelta = timedelta(hours=24)
    outbox_stuck_after: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class ReconciliationRequest:
    """What a manual run asks for: one store (else every active store) and a window (else the run's
    data interval). Both ends or neither; the end after the start; at most ``MAX_WINDOW_DAYS`` days."""

    store: str | None = None
    window: Window | None = None

    @classmethod
    def from_form(cls, values: Mapping[str, Any]) -> ReconciliationRequest:
        store = values.get("store") or None
        start, end = (time_field(values, name) for name in ("window_start", "window_end"))
        if (start is None) != (end is None):
            raise OperationRefused(f"field {'window_start' if start is None else 'window_end'}: give both ends of "
                                   "the window, or neither (the run's data interval is reconciled)")
        if start is None or end is None:
            return cls(store)
        check_window(start, end, fields=("window_start", "window_end"), action="reconcile")
        return cls(store, Window(start, end))


def reconcile_store(store: StoreSettings, report: OrderReport, window: Window, *, amazon: SpApiClient,
                    commerce: CommerceClient, channel: ChannelStore,
                    open_import: Callable[[], AbstractContextManager[AccountImport]],
                    settings: ReconciliationSettings, dag_run_id: str | None = None,
                    logger: logging.Logger = log) -> Outcome:
    """Reconcile ``store`` over ``window`` with its account's order ``report``; repair what is safe and
    write the result. An error marks the run failed and is raised (the task is retried)."""
    run_id = channel.reconciliation.start(store.key, store.amazon_conn_id, window.start, window.end, dag_run_id)
    try:
        inputs = load(store, report, window, amazon=amazon, commerce=commerce, channel=channel,
                      margin=settings.margin)
        logger.info("store %s: %d Amazon order items, %d Commerce orders, %d links, %d quarantined, %d unfinished "
                    "outbox rows read", store.key, len(inputs.amazon_items), len(inputs.commerce_orders),
                    len(inputs.links), len(inputs.quarantine), len(inputs.outbox))
        result = classify(inputs, Policy(
            now=window.end, connected_since=store.connected_since, import_enabled=store.import_enabled,
            import_fba=store.import_fba_orders, quarantine_stuck_after=settings.quarantine_stuck_after,
            outbox_stuck_after=settings.outbox_stuck_after))
        findings = Repairs(store, channel, open_import, logger).carry_out(result.findings)
        findings = findings.assign(new=_new(channel, run_id, findings))
        outcome = Outcome(
            store.key, run_id, window, result.orders_checked, result.ok,
            {kind: n for kind, n in result.counts.items() if n},
            {str(k): int(v) for k, v in findings["status"].value_counts().items()}, int(findings["new"].sum()),
            store.read_only)
        folder = write_files(window_folder(settings.results_folder, store.key, window), findings, outcome,
                             datetime.now(UTC))
        outcome.results_path = str(folder)
        channel.reconciliation.add_findings(run_id, finding_rows(findings))
        channel.reconciliation.finish(run_id, outcome=outcome.outcome, orders_checked=outcome.orders_checked,
                                      counts=outcome.counts, repaired=outcome.repaired,
                                      unrepaired=outcome.unrepaired, results_path=outcome.results_path)
    except BaseException:
        channel.reconciliation.fail(run_id)
        raise
    logger.info("summary: %s; results in %s", outcome.line(), outcome.results_path)
    return outcome


def load(store: StoreSettings, report: OrderReport, window: Window, *, amazon: SpApiClient,
         commerce: CommerceClient, channel: ChannelStore, margin: timedelta) -> Inputs:
    """The three sides of the store's window, as ``Inputs``."""
    items = read_amazon_items(amazon, report, store, channel, window)
    order_ids = items["amazon_order_id"].unique().tolist()
    linked = read_links(channel, store, order_ids)
    linked_entities = {link.commerce_entity_id for link in linked.values()}
    orders, order_items = read_commerce(commerce, store, window, margin, order_ids, linked_entities)
    # Only the Commerce orders not linked already: the report's links were read above.
    links = linked | read_links(channel, store, (), [entity for entity in orders["commerce_entity_id"].tolist()
                                                     if entity not in linked_entities])
    links_frame, quarantine, outbox = read_ours(channel, store, order_ids, links)
    return Inputs(items, orders, order_items, links_frame, quarantine, outbox)


def _new(channel: ChannelStore, run_id: int, findings: pd.DataFrame) -> pd.Series:
    """Whether each finding was not among the store's previous run's (same kind and orders)."""
    previous = channel.reconciliation.previous(run_id)
    if previous is None:
        return pd.Series(True, index=findings.index)
    before = pd.DataFrame([{k: getattr(f, k) for k in KEY} for f in channel.reconciliation.findings(previous.id)],
                          columns=KEY).astype("string").drop_duplicates()
    seen = findings[KEY].astype("string").merge(before, how="left", on=KEY, indicator=True)["_merge"]
    return pd.Series((seen == "left_only").to_numpy(), index=findings.index)
