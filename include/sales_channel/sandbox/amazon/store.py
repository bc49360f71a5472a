"""The Amazon sandbox's state: one SQLite file under ``config.state_dir`` (stdlib sqlite3).

Orders are stored as one JSON document each (the full order with every dataset, plus the sandbox's
private bookkeeping under ``_sandbox``), with the columns searchOrders filters on beside it. One
connection serves every thread; ``transaction()`` holds a re-entrant lock around BEGIN…COMMIT so a
read-modify-write of an order is atomic (sync FastAPI endpoints run in a thread pool).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sales_channel.sandbox.common.sqlite_state import SqliteState

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    marketplace_id TEXT NOT NULL,
    fulfillment_status TEXT NOT NULL,
    fulfilled_by TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created_time, order_id);
CREATE INDEX IF NOT EXISTS orders_by_updated ON orders (last_updated_time);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due REAL NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_by_due ON events (due);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB,
    compression TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (feed_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (report_id TEXT PRIMARY KEY, created_time TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    access_token TEXT PRIMARY KEY,
    refresh_token TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL,
    details TEXT NOT NULL
);
"""

# Order columns derived from the document, kept in step by ``put_orders``.
_ORDER_COLUMNS = "order_id, created_time, last_updated_time, marketplace_id, fulfillment_status, fulfilled_by, doc"


def _order_row(doc: dict[str, Any]) -> tuple[str, ...]:
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if "_served" in doc:  # a raw order (raw_orders.py): its columns were fixed when it was stored
        served = doc["_served"]
        return (served["orderKey"], served["createdTime"], served["lastUpdatedTime"], served["marketplaceId"],
                served["fulfillmentStatus"], served["fulfilledBy"], text)
    fulfillment = doc["fulfillment"]
    return (doc["orderId"], doc["createdTime"], doc["lastUpdatedTime"], doc["salesChannel"]["marketplaceId"],
            fulfillment["fulfillmentStatus"], fulfillment["fulfilledBy"], text)


class Store(SqliteState):
    """All persistent state of one Amazon sandbox."""

    FILE_NAME = "amazon-sandbox.sqlite3"

    def __init__(self, state_dir: Path, fresh: bool = False) -> None:
        super().__init__(state_dir, self.FILE_NAME, SCHEMA, fresh)

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self._db.execute(sql, tuple(params))

    # --- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_meta(self, key: str, value: Any) -> None:
        self._execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))

    def reset(self) -> None:
        """Forget every order, event, feed, report, document and ledger entry (tokens and settings stay)."""
        with self.transaction():
            for table in ("orders", "events", "documents", "feeds", "reports", "ledger"):
                self._execute(f"DELETE FROM {table}")

    # --- orders ---------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT doc FROM orders WHERE order_id = ?", (order_id,))
        return json.loads(rows[0][0]) if rows else None

    def put_orders(self, docs: Iterable[dict[str, Any]]) -> None:
        with self.transaction():
            self._db.executemany(f"INSERT OR REPLACE INTO orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 [_order_row(doc) for doc in docs])

    def delete_order(self, order_id: str) -> bool:
        return self._execute("DELETE FROM orders WHERE order_id = ?", (order_id,)).rowcount > 0

    def search_orders(self, where: list[str], params: list[Any], limit: int) -> list[dict[str, Any]]:
        """Orders matching every ``where`` clause, in (createdTime, orderId) order."""
        clause = " AND ".join(where) or "1 = 1"
        rows = self._query(f"SELECT doc FROM orders WHERE {clause} ORDER BY created_time, order_id LIMIT ?",
                           [*params, limit])
        return [json.loads(row[0]) for row in rows]

    def order_counts(self) -> list[tuple[str, str, str, int]]:
        """(fulfillment status, fulfilled by, marketplace id, count) over every order."""
        return [tuple(row) for row in self._query(
            "SELECT fulfillment_status, fulfilled_by, marketplace_id, COUNT(*) FROM orders "
            "GROUP BY fulfillment_status, fulfilled_by, marketplace_id")]

    def all_order_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT order_id FROM orders ORDER BY created_time, order_id")]

    # --- lifecycle events -----------------------------------------------------------------------
    def add_events(self, events: Iterable[tuple[float, str, str, dict[str, Any]]]) -> None:
        with self.transaction():
            self._db.executemany("INSERT INTO events (due, kind, ref, payload) VALUES (?, ?, ?, ?)",
                                 [(due, kind, ref, json.dumps(payload)) for due, kind, ref, payload in events])

    def due_events(self, now: float) -> list[tuple[int, float, str, str, dict[str, Any]]]:
        rows = self._query("SELECT id, due, kind, ref, payload FROM events WHERE due <= ? ORDER BY due, id", (now,))
        return [(row[0], row[1], row[2], row[3], json.loads(row[4])) for row in rows]

    def pending_events(self) -> list[tuple[int, float, str, str, dict[str, Any]]]:
        return self.due_events(float("inf"))

    def delete_event(self, event_id: int) -> None:
        self._execute("DELETE FROM events WHERE id = ?", (event_id,))

    def bring_events_forward(self, seconds: float) -> None:
        self._execute("UPDATE events SET due = due - ?", (seconds,))

    # --- documents and feeds --------------------------------------------------------------------
    def put_document(self, document_id: str, kind: str, content_type: str, content: bytes | None,
                     compression: str | None, created: float) -> None:
        self._execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                      (document_id, kind, content_type, content, compression, created))

    def get_document(self, document_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT kind, content_type, content, compression, created FROM documents "
                           "WHERE document_id = ?", (document_id,))
        if not rows:
            return None
        kind, content_type, content, compression, created = rows[0]
        return {"document_id": document_id, "kind": kind, "content_type": content_type, "content": content,
                "compression": compression, "created": created}

    def put_feed(self, feed: dict[str, Any]) -> None:
        self._execute("INSERT OR REPLACE INTO feeds VALUES (?, ?)", (feed["feedId"], json.dumps(feed)))

    def get_feed(self, feed_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT doc FROM feeds WHERE feed_id = ?", (feed_id,))
        return json.loads(rows[0][0]) if rows else None

    def put_report(self, report: dict[str, Any]) -> None:
        # An update keeps the row (and its rowid: the order reports were created in).
        self._execute("INSERT INTO reports VALUES (?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET doc = excluded.doc",
                      (report["reportId"], report["createdTime"], json.dumps(report)))

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT doc FROM reports WHERE report_id = ?", (report_id,))
        return json.loads(rows[0][0]) if rows else None

    def all_reports(self) -> list[dict[str, Any]]:
        """Every report, newest first (getReports filters them; a seller has a few hundred at most)."""
        return [json.loads(row[0]) for row in self._query(
            "SELECT doc FROM reports ORDER BY created_time DESC, rowid DESC")]

    def orders_in_range(self, column: str, start: str, end: str) -> list[dict[str, Any]]:
        """Orders whose ``column`` (created_time or last_updated_time) lies in [start, end]."""
        if column not in ("created_time", "last_updated_time"):
            raise ValueError(f"unknown order column {column}")
        rows = self._query(f"SELECT doc FROM orders WHERE {column} >= ? AND {column} <= ? "
                           f"ORDER BY {column}, order_id", (start, end))
        return [json.loads(row[0]) for row in rows]

    # --- LWA tokens -----------------------------------------------------------------------------
    def add_token(self, access_token: str, refresh_token: str, expires_at: float) -> None:
        self._execute("INSERT INTO tokens VALUES (?, ?, ?)", (access_token, refresh_token, expires_at))

    def token(self, access_token: str) -> tuple[str, float] | None:
        rows = self._query("SELECT refresh_token, expires_at FROM tokens WHERE access_token = ?", (access_token,))
        return (rows[0][0], rows[0][1]) if rows else None

    def expire_tokens(self, now: float) -> int:
        return self._execute("UPDATE tokens SET expires_at = ? WHERE expires_at > ?", (now, now)).rowcount

    def active_tokens(self, now: float) -> int:
        return self._query("SELECT COUNT(*) FROM tokens WHERE expires_at > ?", (now,))[0][0]

    # --- ledger ---------------------------------------------------------------------------------
    def add_ledger(self, at: str, kind: str, order_id: str, details: dict[str, Any]) -> None:
        self._execute("INSERT INTO ledger (at, kind, order_id, details) VALUES (?, ?, ?, ?)",
                      (at, kind, order_id, json.dumps(details, ensure_ascii=False)))

    def ledger(self, kind: str | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if order_id:
            where.append("order_id = ?")
            params.append(order_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(f"SELECT id, at, kind, order_id, details FROM ledger {clause} ORDER BY id", params)
        return [{"id": row[0], "at": row[1], "kind": row[2], "orderId": row[3], **json.loads(row[4])}
                for row in rows]
