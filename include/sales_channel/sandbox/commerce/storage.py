"""The Commerce sandbox's state: documents in memory, written through to a SQLite file.

Every entity (order, invoice, shipment, credit memo, product) is one JSON document. Reads come from
memory; each change is written to SQLite before the call answers, so the state survives a
restart. One re-entrant lock guards memory and file; it is held only for the few microseconds of a
read or a write, never while a call waits (latency is slept in the middleware, outside any lock).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sales_channel.sandbox.common.sqlite_state import SqliteState

KINDS = ("order", "invoice", "shipment", "creditmemo", "product", "track", "comment", "customer")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (kind TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
                                     PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                                   event TEXT NOT NULL, body TEXT NOT NULL);
"""


def magento_time(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, Magento's format for every date it returns."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class StateStore(SqliteState):
    """Thread-safe documents by (kind, id), counters, admin tokens and the ledger of state changes."""

    FILE_NAME = "commerce.sqlite3"

    def __init__(self, state_dir: Path, fresh: bool = False) -> None:
        super().__init__(state_dir, self.FILE_NAME, _SCHEMA, fresh)
        self._docs: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        for kind, entity_id, body in self._db.execute("SELECT kind, id, body FROM entities ORDER BY id"):
            self._docs.setdefault(kind, {})[entity_id] = json.loads(body)

    @property
    def is_empty(self) -> bool:
        with self.lock:
            return not any(self._docs.values())

    def wipe(self) -> None:
        with self.transaction():
            for table in ("entities", "counters", "tokens", "ledger"):
                self._db.execute(f"DELETE FROM {table}")  # fixed table names, no input
            self._db.execute("DELETE FROM sqlite_sequence WHERE name = 'ledger'")
            for docs in self._docs.values():
                docs.clear()

    def next_id(self, name: str) -> int:
        with self.transaction():
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = (row[0] if row else 0) + 1
            self._db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) "
                             "DO UPDATE SET value = excluded.value", (name, value))
            return value

    def put(self, kind: str, entity_id: int, body: dict[str, Any]) -> None:
        with self.transaction():
            self._db.execute("INSERT INTO entities (kind, id, body) VALUES (?, ?, ?) ON CONFLICT(kind, id) "
                             "DO UPDATE SET body = excluded.body", (kind, entity_id, json.dumps(body)))
            self._docs[kind][entity_id] = copy.deepcopy(body)

    def delete(self, kind: str, entity_id: int) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM entities WHERE kind = ? AND id = ?", (kind, entity_id))
            self._docs[kind].pop(entity_id, None)

    def get(self, kind: str, entity_id: int) -> dict[str, Any] | None:
        """A private copy of one document (mutate it, then ``put`` it back)."""
        with self.lock:
            body = self._docs[kind].get(entity_id)
            return copy.deepcopy(body) if body is not None else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every document of ``kind`` in id order, READ-ONLY: stored documents are replaced by ``put``,
        never changed in place, so searches can read and serialize them without copying or locking."""
        with self.lock:
            docs = self._docs[kind]
            return [docs[i] for i in sorted(docs)]

    def find(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        """Copies of the documents whose top-level ``fields`` equal the given values."""
        with self.lock:
            return [copy.deepcopy(doc) for _, doc in sorted(self._docs[kind].items())
                    if all(doc.get(k) == v for k, v in fields.items())]

    # Admin tokens -------------------------------------------------------------------------------
    def add_token(self, token: str, expires_at: datetime) -> None:
        with self.transaction():
            self._db.execute("INSERT INTO tokens (token, expires_at) VALUES (?, ?)", (token, expires_at.isoformat()))

    def token_expiry(self, token: str) -> datetime | None:
        with self.lock:
            row = self._db.execute("SELECT expires_at FROM tokens WHERE token = ?", (token,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    # Ledger -------------------------------------------------------------------------------------
    def record(self, at: datetime, event: str, **details: Any) -> None:
        with self.transaction():
            self._db.execute("INSERT INTO ledger (at, event, body) VALUES (?, ?, ?)",
                             (magento_time(at), event, json.dumps(details)))

    def ledger(self, since: int = 0, event: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT seq, at, event, body FROM ledger WHERE seq > ?", [since]
        if event:
            query, args = query + " AND event = ?", [*args, event]
        with self.lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [{"seq": seq, "at": at, "event": name, **json.loads(body)} for seq, at, name, body in rows]
