"""One object for everything a pipeline task does with the channel database."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from sales_channel.store._sql import Clock, Sessions, utc_now
from sales_channel.store.alerts import AlertRepository
from sales_channel.store.api_calls import ApiCallRepository
from sales_channel.store.checkpoints import CheckpointRepository
from sales_channel.store.engine import create_engine_for
from sales_channel.store.events import EventRepository
from sales_channel.store.links import LinkRepository
from sales_channel.store.migrate import check_schema
from sales_channel.store.migrate import migrate as upgrade
from sales_channel.store.outbox import OutboxRepository
from sales_channel.store.quarantine import DEFAULT_BACKOFF, Backoff, QuarantineRepository
from sales_channel.store.reconciliation import ReconciliationRepository
from sales_channel.store.skus import SkuMapRepository
from sales_channel.store.snapshots import SnapshotRepository
from sales_channel.store.watermarks import WatermarkRepository


class ChannelStore:
    """The repositories on one engine. Every method is its own short transaction."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, quarantine_backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self.engine = engine
        self._sessions = sessions = Sessions(engine)
        self.snapshots = SnapshotRepository(sessions, clock)
        self.links = LinkRepository(sessions, clock)
        self.outbox = OutboxRepository(sessions, clock)
        self.quarantine = QuarantineRepository(sessions, clock, quarantine_backoff)
        self.watermarks = WatermarkRepository(sessions, clock)
        self.checkpoints = CheckpointRepository(sessions, clock)
        self.events = EventRepository(sessions, clock)
        self.skus = SkuMapRepository(sessions, clock)
        self.alerts = AlertRepository(sessions, clock)
        self.reconciliation = ReconciliationRepository(sessions, clock)
        self.api_calls = ApiCallRepository(sessions, clock)

    @classmethod
    def open(cls, url: str | URL, clock: Clock = utc_now, quarantine_backoff: Backoff = DEFAULT_BACKOFF, *,
             migrate: bool = False, migrate_command: str | None = None) -> ChannelStore:
        """Connect to ``url`` after checking that its schema is at head (``SchemaNotCurrentError``
        suggesting ``migrate_command`` otherwise). ``migrate=True`` migrates it first instead: for tests
        and one-off scripts that are their own deployment, never for tasks."""
        engine = create_engine_for(url)
        try:
            if migrate:
                upgrade(engine)
            else:
                check_schema(engine, migrate_command)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock, quarantine_backoff)

    def transaction(self) -> AbstractContextManager[Session]:
        """One transaction for the repositories' writes in the block (in this thread): all or nothing."""
        return self._sessions.write()

    def close(self) -> None:
        self.engine.dispose()
