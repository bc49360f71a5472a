"""Checkpoints of import windows being read (see ``models.WindowCheckpoint``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from sales_channel.store._sql import Clock, Sessions, insert_for, utc_now
from sales_channel.store.models import WindowCheckpoint


@dataclass(frozen=True)
class Checkpoint:
    after: datetime
    before: datetime
    marketplace_ids: tuple[str, ...]
    next_token: str | None
    pages_done: int
    window_end: datetime | None


class CheckpointRepository:
    def __init__(self, sessions: Sessions, clock: Clock = utc_now) -> None:
        self._sessions, self._clock = sessions, clock

    def get(self, scope: str, stream: str) -> Checkpoint | None:
        with self._sessions.read() as session:
            row = session.get(WindowCheckpoint, (scope, stream))
            if row is None:
                return None
            return Checkpoint(row.window_after, row.window_before, tuple(filter(None, row.marketplace_ids.split(","))),
                              row.next_token, row.pages_done, row.window_end)

    def save(self, scope: str, stream: str, checkpoint: Checkpoint) -> None:
        """Record where the window stands (created by the first save of a window, replaced by later ones)."""
        now = self._clock()
        values = {"window_after": checkpoint.after, "window_before": checkpoint.before,
                  "marketplace_ids": ",".join(checkpoint.marketplace_ids), "next_token": checkpoint.next_token,
                  "pages_done": checkpoint.pages_done, "window_end": checkpoint.window_end, "updated_at": now}
        with self._sessions.write() as session:
            statement = insert_for(session)(WindowCheckpoint).values(scope=scope, stream=stream, started_at=now,
                                                                     **values)
            session.execute(statement.on_conflict_do_update(index_elements=["scope", "stream"], set_=values))

    def clear(self, scope: str, stream: str) -> None:
        """The window is done (or abandoned): the next run plans a new one."""
        with self._sessions.write() as session:
            session.execute(delete(WindowCheckpoint).where(WindowCheckpoint.scope == scope,
                                                           WindowCheckpoint.stream == stream))

