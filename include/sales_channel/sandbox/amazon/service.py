"""The Amazon sandbox's state and clock: what the faithful API and the control API both act on."""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sales_channel.sandbox.amazon import lifecycle
from sales_channel.sandbox.amazon.seed import OrderFactory, mix_counts, seed_orders
from sales_channel.sandbox.amazon.store import Store
from sales_channel.sandbox.amazon.throttle import UsagePlanBuckets
from sales_channel.sandbox.common.clock import SandboxClock, to_iso
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.faults import FaultInjector

log = logging.getLogger(__name__)

DEFAULT_SETTINGS: dict[str, Any] = {"token_ttl_seconds": 3600, "gzip_reports": False, "fatal_reports": 0,
                                    "document_url_ttl_seconds": 300}
TICK_SECONDS = 0.2  # how often the lifecycle clock looks for due events


class AmazonSandbox:
    """Store, clock, usage-plan buckets and fault injector of one running sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.time_scale)
        self.store = Store(config.state_dir, fresh=config.fresh)
        self.buckets = UsagePlanBuckets(self.clock)
        self.injector = FaultInjector(base_latency_ms=config.latency_ms)
        self.credentials = {**DEFAULT_CREDENTIALS, **config.credentials}
        # Signs the pre-signed document URLs; kept in the state so URLs survive a restart.
        self.url_secret = self.store.get_meta("url_secret") or secrets.token_hex(16)
        self.store.set_meta("url_secret", self.url_secret)
        self._ids = random.Random()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.store.get_meta("seed") is None:
            self.seed(config.orders, config.seed)

    # --- time -----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return to_iso(self.clock.now())

    def new_id(self, digits: int) -> str:
        return f"{self._ids.randrange(10 ** (digits - 1), 10**digits)}"

    # --- settings -------------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return {**DEFAULT_SETTINGS, **self.store.get_meta("settings", {})}

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        settings = {**self.settings, **changes}
        self.store.set_meta("settings", settings)
        return settings

    # --- seeding --------------------------------------------------------------------------------
    def seed(self, orders: int, seed: int, anchor: datetime | None = None) -> dict[str, Any]:
        """Discard every order, feed and ledger entry and seed ``orders`` fresh ones."""
        anchor = (anchor or self.now()).astimezone(UTC).replace(microsecond=0)
        seeded = seed_orders(orders, seed, anchor)
        base = time.time()  # the lifecycle starts now, whatever the anchor of the seed's times
        with self.store.transaction():
            self.store.reset()
            self.store.put_orders(order.doc for order in seeded)
            self.store.add_events(
                (base + self.clock.scaled_delay(delay).total_seconds(), kind, order.doc["orderId"], payload)
                for order in seeded for delay, kind, payload in order.events)
            self.store.set_meta("seed", {"orders": orders, "seed": seed, "anchor": to_iso(anchor)})
        self.buckets.reset()
        return {"orders": orders, "seed": seed, "anchor": to_iso(anchor), "mix": mix_counts(orders)}

    def order_factory(self) -> OrderFactory:
        return OrderFactory(random.Random(self._ids.getrandbits(64)), set(self.store.all_order_ids()))

    # --- orders ---------------------------------------------------------------------------------
    def save_order(self, doc: dict[str, Any]) -> None:
        self.store.put_orders([doc])

    def record(self, kind: str, order_id: str, details: dict[str, Any]) -> None:
        """One entry of the ledger of effects (shipments, cancellations, refunds) the sandbox applied."""
        self.store.add_ledger(self.now_iso(), kind, order_id, details)

    # --- lifecycle ------------------------------------------------------------------------------
    def tick(self, until: float | None = None) -> list[dict[str, Any]]:
        """Apply every lifecycle event due by ``until`` (default: now); return what was applied."""
        until = time.time() if until is None else until
        if not self.store.due_events(until):
            return []
        applied = []
        with self.store.transaction():
            for event_id, _due, kind, ref, payload in self.store.due_events(until):
                outcome = lifecycle.apply_event(self, kind, ref, payload)
                self.store.delete_event(event_id)
                applied.append({"kind": kind, "ref": ref, "outcome": outcome})
        return applied

    def advance(self, lifecycle_seconds: float | None) -> list[dict[str, Any]]:
        """Move the lifecycle on by ``lifecycle_seconds`` (None: until nothing is pending)."""
        if lifecycle_seconds is None:
            return self.tick(until=float("inf"))
        with self.store.transaction():
            self.store.bring_events_forward(lifecycle_seconds / self.clock.time_scale)
            return self.tick()

    def schedule(self, delay_lifecycle_seconds: float, kind: str, ref: str, payload: dict[str, Any]) -> None:
        due = time.time() + delay_lifecycle_seconds / self.clock.time_scale
        self.store.add_events([(due, kind, ref, payload)])

    def start(self) -> None:
        self._stop.clear()
        self._ticker = threading.Thread(target=self._run_ticker, name="amazon-sandbox-lifecycle", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=5)
        self.store.close()

    def _run_ticker(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # keep the clock running; the failure is in the log
                log.exception("amazon sandbox lifecycle tick failed")
