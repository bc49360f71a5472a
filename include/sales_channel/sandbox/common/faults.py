"""Fault injection and call counting for the sandboxes, as one ASGI middleware.

Faults are off by default and set on demand through the control API (``PUT /_sandbox/faults``). They
apply to the faithful API only, never to the control API under ``/_sandbox``. Besides random rates,
``fail_next``/``drop_next`` make the next N calls fail, so tests are deterministic.

A *dropped* call is processed first and then loses its connection before the response is complete:
the nastiest real-world case (the effect happened, the client cannot know), which is what clients'
"re-send is safe" logic must survive.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox"


class FaultSettings(BaseModel):
    """What to inject. ``operations`` limits faults to those operation names (None: every call)."""

    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of calls answered with an error")
    error_statuses: list[int] = Field(default_factory=lambda: [500, 503])
    latency_ms: float = Field(0.0, ge=0.0, description="extra latency added to every call")
    drop_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of calls whose connection drops")
    fail_next: int = Field(0, ge=0, description="the next N calls answer with an error")
    drop_next: int = Field(0, ge=0, description="the next N calls are processed, then dropped")
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

    def decide(self, operation: str) -> str | None:
        """'error', 'drop' or None for one call of ``operation``."""
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
            if s.error_rate and self._random.random() < s.error_rate:
                return "error"
            if s.drop_rate and self._random.random() < s.drop_rate:
                return "drop"
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
    Magento's ``message``/``parameters``), so clients see exactly what the real service sends.
    ``router_app`` is the FastAPI app, used to name the operation of each request.
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        error_body: Callable[[int], dict[str, Any]],
        router_app: Any,
        error_headers: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.injector = injector
        self.error_body = error_body
        self.router_app = router_app
        self.error_headers = error_headers or dict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        operation = operation_name(self.router_app, scope)
        latency = self.injector.base_latency_ms + self.injector.settings.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        fault = self.injector.decide(operation)
        if fault == "error":
            status = self.injector.error_status()
            await self._send_json(send, status, self.error_body(status))
            self.injector.record(operation, status)
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

    async def _send_json(self, send: Send, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in self.error_headers().items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
