"""Fault injection and call counting for the sandboxes, as one ASGI middleware.

Faults are off by default and set on demand through the control API (``PUT /_sandbox/faults``). They
apply to the faithful API only, never to the control API under ``/_sandbox``. Besides random rates,
``fail_next``/``drop_next`` make the next N calls fail, so tests are deterministic.

A *dropped* call is processed first and then loses its connection before the response is complete:
the nastiest real-world case (the effect happened, the client cannot know), which is what clients'
"re-send is safe" logic must survive. An *after-write* fault is its gateway variant, for writes only
(not GET/HEAD): the call is saved, then answered with a 5xx (nginx's 502/504 while PHP goes on), after
an optional delay that can outlast the client's timeout. With ``late_commit_s`` the save even happens
that long *after* the failed answer (Magento still saving when nginx gave up): a client that looks
right away finds nothing, and a blind re-send makes a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox"
READ_METHODS = frozenset({"GET", "HEAD"})

log = logging.getLogger(__name__)


class FaultSettings(BaseModel):
    """What to inject. ``operations`` limits faults to those operation names (None: every call)."""

    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of calls answered with an error")
    error_statuses: list[int] = Field(default_factory=lambda: [500, 503])
    latency_ms: float = Field(0.0, ge=0.0, description="extra latency added to every call")
    drop_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of calls whose connection drops")
    fail_next: int = Field(0, ge=0, description="the next N calls answer with an error")
    drop_next: int = Field(0, ge=0, description="the next N calls are processed, then dropped")
    after_write_next: int = Field(0, ge=0, description="the next N writes are saved, then answered with "
                                                       "after_write_status")
    after_write_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of writes saved, then answered "
                                                                     "with after_write_status")
    after_write_status: int = Field(504, ge=500, le=599, description="the answer of such a write")
    after_write_delay_ms: float = Field(0.0, ge=0.0, description="how long such a write holds its connection "
                                                                 "before answering (beyond a client's timeout)")
    late_commit_s: float = Field(0.0, ge=0.0, description="such a write is saved only this long after its answer")
    operations: list[str] | None = None
    seed: int | None = None


class DroppedConnection(Exception):
    """Raised after the response has started: uvicorn then closes the connection mid-response."""


class FaultInjector:
    """Holds the current fault settings and the per-operation call counts (thread-safe)."""

    def __init__(self, base_latency_ms: float = 0.0) -> None:
        self.base_latency_ms = base_latency_ms
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()

    def counts(self) -> dict[str, Any]:
        with self._lock:
            by_status: dict[str, dict[str, int]] = {}
            for (operation, status), n in self.statuses.items():
                by_status.setdefault(operation, {})[str(status)] = n
            return {"calls": dict(self.calls), "by_status": by_status}

    def record(self, operation: str, status: int) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.statuses[(operation, status)] += 1

    def decide(self, operation: str, write: bool) -> str | None:
        """'error', 'drop', 'after_write' (writes only) or None for one call of ``operation``."""
        with self._lock:
            s = self._settings
            if s.operations is not None and operation not in s.operations:
                return None
            if s.fail_next:
                s.fail_next -= 1
                return "error"
            if s.drop_next:
                s.drop_next -= 1
                return "drop"
            if write and s.after_write_next:
                s.after_write_next -= 1
                return "after_write"
            if s.error_rate and self._random.random() < s.error_rate:
                return "error"
            if s.drop_rate and self._random.random() < s.drop_rate:
                return "drop"
            if write and s.after_write_rate and self._random.random() < s.after_write_rate:
                return "after_write"
            return None

    def error_status(self) -> int:
        with self._lock:
            return self._random.choice(self._settings.error_statuses)


def operation_name(app: Any, scope: Scope) -> str:
    """The name of the route that serves this request (FastAPI's route ``name``), or 'unknown'."""
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "name", None) or "unknown"
    return "unknown"


class FaultMiddleware:
    """ASGI middleware: latency, injected errors and drops, call counting.

    ``error_body(status)`` renders an error in the service's own shape (SP-API's ``errors`` list,
    Magento's ``message``/``parameters``; a ``str`` is sent as an HTML page, as nginx sends its 502/504),
    so clients see exactly what the real service sends.
    ``router_app`` is the FastAPI app, used to name the operation of each request.
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        error_body: Callable[[int], dict[str, Any] | str],
        router_app: Any,
        error_headers: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.injector = injector
        self.error_body = error_body
        self.router_app = router_app
        self.error_headers = error_headers or dict
        self._late_commits: set[asyncio.Task[None]] = set()  # referenced until done (else collected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        operation = operation_name(self.router_app, scope)
        latency = self.injector.base_latency_ms + self.injector.settings.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        fault = self.injector.decide(operation, write=scope["method"] not in READ_METHODS)
        if fault == "error":
            status = self.injector.error_status()
            await self._send_error(send, status)
            self.injector.record(operation, status)
            return
        if fault == "after_write":
            await self._after_write(scope, receive, send, operation)
            return
        status_seen = 0

        async def counting_send(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
            if fault != "drop":
                await send(message)

        await self.app(scope, receive, counting_send)
        self.injector.record(operation, status_seen)
        if fault == "drop":
            # Promise a body, then fail: uvicorn closes the transport mid-response.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"1024"), (b"content-type", b"application/json")]})
            raise DroppedConnection(f"sandbox dropped the connection of {operation}")

    async def _after_write(self, scope: Scope, receive: Receive, send: Send, operation: str) -> None:
        settings = self.injector.settings
        if settings.late_commit_s:
            body = await _read_body(receive)
            task = asyncio.get_running_loop().create_task(self._commit_later(scope, body, settings.late_commit_s
                                                                              + settings.after_write_delay_ms / 1000))
            self._late_commits.add(task)
            task.add_done_callback(self._late_commits.discard)
        else:
            await self.app(scope, receive, _discard)
        await asyncio.sleep(settings.after_write_delay_ms / 1000)
        await self._send_error(send, settings.after_write_status)
        self.injector.record(operation, settings.after_write_status)

    async def _commit_later(self, scope: Scope, body: bytes, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        try:
            await self.app(scope, _replay(body), _discard)
        except Exception:  # nobody is waiting for this answer; keep the failure in the log
            log.exception("late commit of %s %s failed", scope["method"], scope["path"])

    async def _send_error(self, send: Send, status: int) -> None:
        body = self.error_body(status)
        if isinstance(body, str):
            payload, content_type = body.encode(), b"text/html"
        else:
            payload, content_type = json.dumps(body).encode(), b"application/json"
        headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in self.error_headers().items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the app a body read earlier, then reports the client gone."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(_: Message) -> None:
    """The ``send`` of a call whose real answer nobody receives."""
