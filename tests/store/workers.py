"""Functions run in child processes by the concurrency tests (importable under the spawn start method)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sales_channel.store import ChannelStore, create_engine_for, migrate


def spawn_map(function: Callable[..., Any], argument_tuples: Iterable[tuple]) -> list[Any]:
    """Run ``function`` once per argument tuple, each in a freshly spawned process, all at once."""
    arguments = list(argument_tuples)
    with multiprocessing.get_context("spawn").Pool(len(arguments)) as pool:
        return pool.starmap(function, arguments)


def wait_until(start_at: float) -> None:
    """Line the processes up, so their work overlaps instead of following each one's start-up."""
    time.sleep(max(0.0, start_at - time.time()))


def run_migrate(url: str, start_at: float) -> str:
    wait_until(start_at)
    migrate(url)
    return "ok"


def claim_until_empty(url: str, worker: str, batch: int, start_at: float) -> list[int]:
    """Claim outbox items in batches, confirming each, until none is left; the ids this worker won."""
    store = ChannelStore(create_engine_for(url))
    won: list[int] = []
    wait_until(start_at)
    try:
        while items := store.outbox.claim(worker, batch, lease=timedelta(minutes=10)):
            for item in items:
                store.outbox.mark_confirmed(item.id, worker)
                won.append(item.id)
        return won
    finally:
        store.close()


def create_link(url: str, order_id: str, entity_id: int, start_at: float) -> tuple[int, bool]:
    store = ChannelStore(create_engine_for(url))
    wait_until(start_at)
    try:
        result = store.links.create("ACCOUNT-1", order_id, commerce_entity_id=entity_id,
                                    commerce_increment_id=f"{entity_id:09d}", store_code="default")
        return result.link.commerce_entity_id, result.created
    finally:
        store.close()
