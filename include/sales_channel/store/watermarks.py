"""Watermarks: how far each stream has been read (e.g. ``import`` of one seller account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from sales_channel.store._sql import Clock, Sessions, insert_for, utc_now
from sales_channel.store.models import Watermark


class WatermarkRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def get(self, scope: str, stream: str) -> datetime | None:
        with self._sessions.read() as session:
            return session.scalar(select(Watermark.value).where(Watermark.scope == scope, Watermark.stream == stream))

    def advance(self, scope: str, stream: str, value: datetime) -> datetime:
        """Move the watermark forward to ``value`` (never backwards: an overlapping run that finished
        an older window leaves a newer watermark alone). Returns the watermark now stored."""
        with self._sessions.write() as session:
            statement = insert_for(session)(Watermark).values(
                scope=scope, stream=stream, value=value, updated_at=self._clock())
            session.execute(statement.on_conflict_do_update(
                index_elements=["scope", "stream"],
                set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
                where=Watermark.value < statement.excluded.value))
            return session.scalars(select(Watermark.value).where(
                Watermark.scope == scope, Watermark.stream == stream)).one()

    def reset(self, scope: str, stream: str, value: datetime) -> None:
        """Set the watermark to ``value`` even if that is backwards (an operator's forced re-sync)."""
        with self._sessions.write() as session:
            statement = insert_for(session)(Watermark).values(
                scope=scope, stream=stream, value=value, updated_at=self._clock())
            session.execute(statement.on_conflict_do_update(
                index_elements=["scope", "stream"],
                set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at}))
