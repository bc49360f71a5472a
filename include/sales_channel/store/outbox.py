"""The outbox: every state-changing call to Amazon or Commerce, recorded before it is made.

A call is enqueued once per cause (``(kind, source_id)`` is unique, so re-running a task never queues
it twice), then *claimed* by one worker under a lease, made, and marked. A worker that dies leaves its
lease to expire, after which another worker claims the item again.

    pending --claim--> claimed --mark_sent--> sent --mark_confirmed--> confirmed
    claimed --mark_confirmed--> confirmed                    (a synchronous call that succeeded)
    claimed | sent --mark_failed(retry_at=t)--> pending      (retryable: due again at t)
    claimed | sent --mark_failed()--> failed                 (given up: a person looks at last_error)
    failed | sent | confirmed --requeue--> pending           (a person's re-send)
    held --release--> pending                                (what it waited for arrived)
    claimed, lease expired --claim--> claimed by another worker
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from sales_channel.store._sql import Clock, Sessions, insert_for, utc_now
from sales_channel.store.models import OutboxItem, OutboxStatus
from sales_channel.store.sanitize import ensure_no_pii

MAX_ERROR_CHARS = 4000


class LeaseLost(RuntimeError):
    """The worker no longer holds the item (its lease expired and another worker claimed it)."""


class OutboxRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def enqueue(self, kind: str, source_id: str, target: str, payload: dict[str, Any],
                not_before: datetime | None = None, *, held: bool = False) -> tuple[OutboxItem, bool]:
        """Queue a call unless one for ``(kind, source_id)`` exists; returns (the item, whether it is new).
        A ``held`` item is never claimed until it is released.

        ``payload`` is refused when a key names buyer data: queue references, and re-read buyer data
        from Amazon when making the call.
        """
        ensure_no_pii(payload, f"outbox payload {kind}/{source_id}")
        now = self._clock()
        with self._sessions.write() as session:
            created = session.execute(insert_for(session)(OutboxItem).values(
                kind=kind, source_id=source_id, target=target, payload=payload,
                status=OutboxStatus.HELD if held else OutboxStatus.PENDING, attempts=0, next_attempt_at=not_before or now, created_at=now, updated_at=now,
            ).on_conflict_do_nothing(index_elements=["kind", "source_id"]).returning(OutboxItem.id)).scalar()
            item = session.scalars(select(OutboxItem).where(
                OutboxItem.kind == kind, OutboxItem.source_id == source_id)).one()
            return item, created is not None

    def enqueue_many(self, kind: str, target: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        """Queue one call per source id (``source_id → payload``) in one transaction; existing items stay."""
        if not payloads:
            return
        for source_id, payload in payloads.items():
            ensure_no_pii(payload, f"outbox payload {kind}/{source_id}")
        now = self._clock()
        rows = [{"kind": kind, "source_id": source_id, "target": target, "payload": payload,
                 "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
                 "updated_at": now} for source_id, payload in payloads.items()]
        with self._sessions.write() as session:
            session.execute(insert_for(session)(OutboxItem).values(rows).on_conflict_do_nothing(
                index_elements=["kind", "source_id"]))

    def claim(self, worker: str, limit: int, lease: timedelta, kinds: Sequence[str] | None = None,
              target: str | None = None, source_prefix: str | None = None) -> list[OutboxItem]:
        """Claim up to ``limit`` due items for ``worker`` until ``now + lease``; the longest-due first.

        Due: pending and past ``next_attempt_at``, or claimed with an expired lease. Concurrent
        claimers never get the same item: on PostgreSQL the candidates are locked with ``FOR UPDATE
        SKIP LOCKED`` (claimers skip each other's rows instead of waiting); on SQLite the claim runs
        under the write lock taken at ``BEGIN IMMEDIATE``, and the UPDATE re-checks that each is due.
        """
        filters: list[ColumnElement[bool]] = []
        if kinds is not None:
            filters.append(OutboxItem.kind.in_(list(kinds)))
        if target is not None:
            filters.append(OutboxItem.target == target)
        if source_prefix is not None:
            filters.append(OutboxItem.source_id.startswith(source_prefix, autoescape=True))
        return self._claim(worker, lease, limit, filters)

    def claim_sources(self, kind: str, source_ids: Sequence[str], worker: str,
                      lease: timedelta) -> dict[str, OutboxItem]:
        """Claim the named items of ``kind`` that are due (see ``claim``); the ones won, by source id.
        An item held by another worker, or already done, is left out."""
        claimed = self._claim(worker, lease, len(source_ids),
                              [OutboxItem.kind == kind, OutboxItem.source_id.in_(list(source_ids))])
        return {item.source_id: item for item in claimed}

    def due_sources(self, kind: str, target: str | None = None, limit: int = 100) -> list[str]:
        """Source ids of due items of ``kind`` (e.g. work a dead worker left), without claiming them."""
        statement = select(OutboxItem.source_id).where(OutboxItem.kind == kind, self._due(self._clock())).order_by(
            OutboxItem.next_attempt_at, OutboxItem.id).limit(limit)
        if target is not None:
            statement = statement.where(OutboxItem.target == target)
        with self._sessions.read() as session:
            return list(session.scalars(statement))

    @staticmethod
    def _due(now: datetime) -> ColumnElement[bool]:
        return or_(and_(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.next_attempt_at <= now),
                   and_(OutboxItem.status == OutboxStatus.CLAIMED, OutboxItem.claimed_until < now))

    def _claim(self, worker: str, lease: timedelta, limit: int,
               filters: list[ColumnElement[bool]]) -> list[OutboxItem]:
        if limit <= 0:
            return []
        now = self._clock()
        filters = [self._due(now), *filters]
        candidates = select(OutboxItem.id).where(*filters).order_by(
            OutboxItem.next_attempt_at, OutboxItem.id).limit(limit).with_for_update(skip_locked=True)
        with self._sessions.write() as session:
            # Two statements, one transaction: the candidates stay locked (or, on SQLite, the database
            # stays write-locked) until the commit. A single UPDATE ... WHERE id IN (SELECT ... LIMIT n
            # FOR UPDATE SKIP LOCKED) is not safe on PostgreSQL: the planner may run the sub-select
            # more than once and update more than n rows.
            ids = list(session.scalars(candidates))
            if not ids:
                return []
            claimed = session.scalars(
                update(OutboxItem).where(OutboxItem.id.in_(ids), *filters).values(
                    status=OutboxStatus.CLAIMED, claimed_by=worker, claimed_until=now + lease,
                    attempts=OutboxItem.attempts + 1, updated_at=now,
                ).returning(OutboxItem), execution_options={"synchronize_session": False}).all()
        return sorted(claimed, key=lambda item: (item.next_attempt_at, item.id))

    def renew(self, item_id: int, worker: str, lease: timedelta) -> bool:
        """Extend ``worker``'s claim to ``now + lease``, unless another worker has claimed the item since
        (its lease expired): call it right before an irreversible call. False when the claim is lost."""
        now = self._clock()
        with self._sessions.write() as session:
            return bool(session.execute(update(OutboxItem).where(
                OutboxItem.id == item_id, OutboxItem.status == OutboxStatus.CLAIMED, OutboxItem.claimed_by == worker,
            ).values(claimed_until=now + lease, updated_at=now)).rowcount)

    def update_payload(self, item_id: int, worker: str, payload: dict[str, Any]) -> None:
        """Replace the payload of an item ``worker`` holds: a journal of what the call is about to do,
        written before an irreversible call so that a resumed item can tell whether it happened."""
        ensure_no_pii(payload, f"outbox payload of item {item_id}")
        self._transition(item_id, worker, status=OutboxStatus.CLAIMED, payload=payload, updated_at=self._clock())

    def mark_sent(self, item_id: int, worker: str, feed_id: str | None = None) -> None:
        """The other side accepted the call and will report the result later (e.g. in feed ``feed_id``)."""
        now = self._clock()
        self._transition(item_id, worker, status=OutboxStatus.SENT, feed_id=feed_id, sent_at=now, updated_at=now)

    def mark_confirmed(self, item_id: int, worker: str | None = None) -> None:
        """The call took effect: by ``worker``'s synchronous call it holds, or (worker None) a sent item's result."""
        now = self._clock()
        self._transition(item_id, worker, status=OutboxStatus.CONFIRMED, confirmed_at=now, updated_at=now,
                         claimed_until=None)

    def mark_failed(self, item_id: int, error: str, worker: str | None = None,
                    retry_at: datetime | None = None) -> None:
        """The call failed: retried from ``retry_at`` when given, else given up (status failed).

        ``error`` is kept for people: the service's code and message, never a body that may hold PII.
        """
        now = self._clock()
        status = OutboxStatus.PENDING if retry_at is not None else OutboxStatus.FAILED
        values: dict[str, Any] = {"status": status, "last_error": error[:MAX_ERROR_CHARS], "updated_at": now,
                                  "claimed_until": None}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        self._transition(item_id, worker, **values)

    def requeue(self, kind: str, source_id: str, payload: dict[str, Any] | None = None) -> bool:
        """Send again (a person's re-send): a failed, sent or confirmed item becomes pending now, with
        ``payload`` when given (the call rebuilt from corrected data). Its attempts are kept, so a flow
        that reads back before re-sending still does. False when there is no such item or a worker
        holds it right now."""
        now = self._clock()
        values: dict[str, Any] = {"status": OutboxStatus.PENDING, "next_attempt_at": now, "claimed_by": None,
                                  "claimed_until": None, "feed_id": None, "updated_at": now}
        if payload is not None:
            ensure_no_pii(payload, f"outbox payload {kind}/{source_id}")
            values["payload"] = payload
        with self._sessions.write() as session:
            return bool(session.execute(update(OutboxItem).where(
                OutboxItem.kind == kind, OutboxItem.source_id == source_id,
                OutboxItem.status != OutboxStatus.PENDING,
                or_(OutboxItem.status != OutboxStatus.CLAIMED, OutboxItem.claimed_until < now),
            ).values(**values)).rowcount)

    def find(self, kind: str, source_prefix: str, statuses: Sequence[OutboxStatus] | None = None,
             limit: int = 1000) -> list[OutboxItem]:
        """Items of ``kind`` whose source id starts with ``source_prefix`` (in ``statuses``), oldest first."""
        statement = select(OutboxItem).where(OutboxItem.kind == kind,
                                             OutboxItem.source_id.startswith(source_prefix, autoescape=True))
        if statuses is not None:
            statement = statement.where(OutboxItem.status.in_(list(statuses)))
        with self._sessions.read() as session:
            return list(session.scalars(statement.order_by(OutboxItem.id).limit(limit)))

    def unfinished(self, targets: Sequence[str]) -> list[OutboxItem]:
        """The items of these targets that are not confirmed (pending, claimed, sent, held or failed),
        oldest first: the work left undone that the reconciliation checks."""
        with self._sessions.read() as session:
            return list(session.scalars(select(OutboxItem).where(
                OutboxItem.target.in_(list(targets)), OutboxItem.status != OutboxStatus.CONFIRMED,
            ).order_by(OutboxItem.id)))

    def release(self, item_id: int, payload: dict[str, Any]) -> bool:
        """A held item becomes due now, with its completed ``payload``; False when it is not held."""
        ensure_no_pii(payload, f"outbox payload of item {item_id}")
        now = self._clock()
        with self._sessions.write() as session:
            return bool(session.execute(update(OutboxItem).where(
                OutboxItem.id == item_id, OutboxItem.status == OutboxStatus.HELD,
            ).values(status=OutboxStatus.PENDING, payload=payload, next_attempt_at=now, updated_at=now)).rowcount)

    def get(self, kind: str, source_id: str) -> OutboxItem | None:
        with self._sessions.read() as session:
            return session.scalar(select(OutboxItem).where(OutboxItem.kind == kind, OutboxItem.source_id == source_id))

    def for_feed(self, feed_id: str) -> list[OutboxItem]:
        """The items sent in feed ``feed_id`` (to apply the feed's processing report to)."""
        with self._sessions.read() as session:
            return list(session.scalars(select(OutboxItem).where(OutboxItem.feed_id == feed_id).order_by(OutboxItem.id)))

    def sent_feed_ids(self, target: str | None = None) -> list[str]:
        """Feeds with items still waiting for their result."""
        statement = select(OutboxItem.feed_id).where(
            OutboxItem.status == OutboxStatus.SENT, OutboxItem.feed_id.is_not(None)).distinct()
        if target is not None:
            statement = statement.where(OutboxItem.target == target)
        with self._sessions.read() as session:
            return sorted(session.scalars(statement))

    def _transition(self, item_id: int, worker: str | None, **values: Any) -> None:
        """Apply ``values`` if ``worker`` still holds the item (or, worker None, if it is sent)."""
        held = (and_(OutboxItem.status == OutboxStatus.CLAIMED, OutboxItem.claimed_by == worker)
                if worker is not None else OutboxItem.status == OutboxStatus.SENT)
        with self._sessions.write() as session:
            if not session.execute(update(OutboxItem).where(OutboxItem.id == item_id, held).values(**values)).rowcount:
                holder = f"claimed by {worker}" if worker is not None else "sent"
                raise LeaseLost(f"outbox item {item_id} is no longer {holder}")
