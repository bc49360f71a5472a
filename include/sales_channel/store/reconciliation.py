"""Reconciliation results: one row per reconciliation of a store over a window, and its findings.

Orders that agree are only counted (``orders_checked``); each discrepancy is a finding with the safe
repair planned for it and what came of it (``repaired``, ``planned`` in a read-only store,
``repair_failed``, or ``needs_person``). A retried task of the same DAG run replaces its earlier
attempt's findings instead of adding a second run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from sales_channel.store._sql import Clock, Sessions, chunked, utc_now
from sales_channel.store.models import ReconciliationFinding, ReconciliationRun

RUNNING = "running"
FAILED = "failed"
FINDING_FIELDS = ("amazon_order_id", "commerce_increment_id", "kind", "detail", "repair", "status")


class ReconciliationRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def start(self, store: str, seller_account: str, window_start: datetime, window_end: datetime,
              dag_run_id: str | None = None) -> int:
        """Record a reconciliation as running; its id. The same DAG run's earlier attempt for this store
        (a retried task) is reset and reused, its findings dropped."""
        now = self._clock()
        values = {"store": store, "seller_account": seller_account, "window_start": window_start,
                  "window_end": window_end, "started_at": now, "finished_at": None, "outcome": RUNNING,
                  "orders_checked": 0, "counts": {}, "repaired": 0, "unrepaired": 0, "results_path": None,
                  "dag_run_id": dag_run_id}
        with self._sessions.write() as session:
            earlier = None if dag_run_id is None else session.scalar(select(ReconciliationRun.id).where(
                ReconciliationRun.store == store, ReconciliationRun.dag_run_id == dag_run_id))
            if earlier is None:
                return session.execute(insert(ReconciliationRun).values(**values).returning(ReconciliationRun.id)).scalar_one()
            session.execute(delete(ReconciliationFinding).where(ReconciliationFinding.run_id == earlier))
            session.execute(update(ReconciliationRun).where(ReconciliationRun.id == earlier).values(**values))
            return earlier

    def add_findings(self, run_id: int, findings: Iterable[Mapping[str, Any]]) -> int:
        """Store a run's findings (``FINDING_FIELDS`` each) in one transaction; how many."""
        run = self.get(run_id)
        if run is None:
            raise ValueError(f"reconciliation run {run_id} does not exist")
        rows = []
        for finding in findings:
            row = {name: finding.get(name) for name in FINDING_FIELDS}
            for name in ("kind", "detail", "status"):
                if not row[name]:
                    raise ValueError(f"reconciliation run {run_id}: finding of order {row['amazon_order_id']} "
                                     f"has no {name}")
            rows.append({"run_id": run_id, "store": run.store, "seller_account": run.seller_account, **row})
        with self._sessions.write() as session:
            for batch in chunked(rows, 500):
                session.execute(insert(ReconciliationFinding), batch)
        return len(rows)

    def finish(self, run_id: int, *, outcome: str, orders_checked: int, counts: Mapping[str, int], repaired: int,
               unrepaired: int, results_path: str | None) -> None:
        with self._sessions.write() as session:
            session.execute(update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(
                outcome=outcome, orders_checked=orders_checked, counts=dict(counts), repaired=repaired,
                unrepaired=unrepaired, results_path=results_path, finished_at=self._clock()))

    def fail(self, run_id: int) -> None:
        """The run stopped on an error (the task log says which); it is retried as a whole."""
        with self._sessions.write() as session:
            session.execute(update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(
                outcome=FAILED, finished_at=self._clock()))

    def get(self, run_id: int) -> ReconciliationRun | None:
        with self._sessions.read() as session:
            return session.get(ReconciliationRun, run_id)

    def findings(self, run_id: int) -> list[ReconciliationFinding]:
        with self._sessions.read() as session:
            return list(session.scalars(select(ReconciliationFinding).where(
                ReconciliationFinding.run_id == run_id).order_by(ReconciliationFinding.id)))

    def previous(self, run_id: int) -> ReconciliationRun | None:
        """The store's last finished run before ``run_id`` (what "new" findings are new against)."""
        run = self.get(run_id)
        if run is None:
            return None
        with self._sessions.read() as session:
            return session.scalar(select(ReconciliationRun).where(
                ReconciliationRun.store == run.store, ReconciliationRun.id < run_id,
                ReconciliationRun.outcome.not_in([RUNNING, FAILED]),
            ).order_by(ReconciliationRun.id.desc()).limit(1))

    def runs(self, store: str | None = None, limit: int = 50) -> list[ReconciliationRun]:
        """The newest runs (of one store, or all), newest first (for the UI)."""
        statement = select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(limit)
        if store is not None:
            statement = statement.where(ReconciliationRun.store == store)
        with self._sessions.read() as session:
            return list(session.scalars(statement))
