"""Alerts: conditions that need a person, kept so that each is notified once and cleared when it passes.

An alert is open per ``(check_key, scope)`` from when a check first fails until it passes again; while
open, ``raise_`` only refreshes its figure (message, severity, ``last_raised_at``). ``notified_at`` is set
once the alert was delivered; ``clear`` closes it, and a later failure of the same check is a new row.

The health checks also read their figures here, in one query each (the tables belong to the import,
the status sync and the reconciliation; this module only reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from sales_channel.store._sql import Clock, Sessions, chunked, utc_now
from sales_channel.store.models import (
    Alert,
    OutboxItem,
    OutboxStatus,
    QuarantinedOrder,
    ReconciliationRun,
    Watermark,
)
from sales_channel.store.reconciliation import FAILED, RUNNING


@dataclass(frozen=True)
class QuarantineFigures:
    open: int
    oldest_order: str | None  # the Amazon order id of the oldest unresolved entry
    oldest_since: datetime | None


@dataclass(frozen=True)
class FailedOutboxFigures:
    count: int
    kinds: dict[str, int]
    oldest_source: str | None
    oldest_at: datetime | None


class AlertRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    # -- the alerts table ---------------------------------------------------------------------------

    def raise_(self, check_key: str, scope: str, severity: str, message: str, action: str) -> None:
        """Open the alert, or refresh the open one (its figure may have moved)."""
        now = self._clock()
        with self._sessions.write() as session:
            alert = session.scalars(select(Alert).where(
                Alert.check_key == check_key, Alert.scope == scope, Alert.cleared_at.is_(None))
                .order_by(Alert.id).limit(1).with_for_update()).first()
            if alert is None:
                session.add(Alert(check_key=check_key, scope=scope, severity=severity, message=message,
                                  action=action, first_raised_at=now, last_raised_at=now))
            else:
                alert.severity, alert.message, alert.action, alert.last_raised_at = severity, message, action, now

    def open(self, scope: str | None = None) -> list[Alert]:
        """The open alerts (of one scope), oldest first."""
        statement = select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.first_raised_at, Alert.id)
        if scope is not None:
            statement = statement.where(Alert.scope == scope)
        with self._sessions.read() as session:
            return list(session.scalars(statement))

    def mark_notified(self, alert_ids: Iterable[int]) -> None:
        now = self._clock()
        with self._sessions.write() as session:
            for ids in chunked(alert_ids):
                session.execute(update(Alert).where(Alert.id.in_(ids), Alert.notified_at.is_(None))
                                .values(notified_at=now))

    def clear(self, alert_ids: Iterable[int]) -> None:
        now = self._clock()
        with self._sessions.write() as session:
            for ids in chunked(alert_ids):
                session.execute(update(Alert).where(Alert.id.in_(ids), Alert.cleared_at.is_(None))
                                .values(cleared_at=now))

    # -- what the health checks read ------------------------------------------------------------------

    def watermark_updated(self, scope: str, stream: str) -> datetime | None:
        """When the watermark last moved forward (None: it was never set)."""
        with self._sessions.read() as session:
            return session.scalar(select(Watermark.updated_at).where(
                Watermark.scope == scope, Watermark.stream == stream))

    def quarantine_figures(self, seller_account: str) -> QuarantineFigures:
        """How many of the account's quarantined orders are unresolved, and the oldest of them."""
        unresolved = (QuarantinedOrder.seller_account == seller_account, QuarantinedOrder.resolved_at.is_(None))
        with self._sessions.read() as session:
            count = session.scalar(select(func.count()).select_from(QuarantinedOrder).where(*unresolved)) or 0
            oldest = session.execute(select(QuarantinedOrder.amazon_order_id, QuarantinedOrder.first_seen_at)
                                     .where(*unresolved)
                                     .order_by(QuarantinedOrder.first_seen_at, QuarantinedOrder.id).limit(1)).first()
        return QuarantineFigures(count, oldest[0] if oldest else None, oldest[1] if oldest else None)

    def failed_outbox_figures(self, targets: Sequence[str], source_prefixes: Sequence[str] = (), *,
                              exclude_targets: Sequence[str] = (),
                              exclude_prefixes: Sequence[str] = ()) -> FailedOutboxFigures:
        """The failed outbox rows aimed at one of ``targets`` or caused by a source under one of
        ``source_prefixes`` (less those of ``exclude_*``): count, per kind, and the oldest."""
        where = [OutboxItem.status == OutboxStatus.FAILED,
                 or_(OutboxItem.target.in_(list(targets)),
                     *(OutboxItem.source_id.startswith(p, autoescape=True) for p in source_prefixes))]
        if exclude_targets:
            where.append(OutboxItem.target.not_in(list(exclude_targets)))
        where += [~OutboxItem.source_id.startswith(p, autoescape=True) for p in exclude_prefixes]
        with self._sessions.read() as session:
            kinds = dict(session.execute(select(OutboxItem.kind, func.count()).where(*where)
                                         .group_by(OutboxItem.kind)).tuples().all())
            oldest = session.execute(select(OutboxItem.kind, OutboxItem.source_id, OutboxItem.updated_at)
                                     .where(*where).order_by(OutboxItem.updated_at, OutboxItem.id).limit(1)).first()
        return FailedOutboxFigures(sum(kinds.values()), dict(sorted(kinds.items())),
                                   f"{oldest[0]} {oldest[1]}" if oldest else None, oldest[2] if oldest else None)

    def latest_reconciliation(self, store: str) -> ReconciliationRun | None:
        """The store's latest finished reconciliation (one that stopped on an error fails its task instead)."""
        with self._sessions.read() as session:
            return session.scalars(select(ReconciliationRun).where(
                ReconciliationRun.store == store, ReconciliationRun.outcome.not_in([RUNNING, FAILED]))
                .order_by(ReconciliationRun.id.desc()).limit(1)).first()
