"""Functions run in child processes by the concurrency tests (importable under the spawn start method)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sales_channel.store import ChannelStore, create_engine_for, migrate


@dataclass(frozen=True)
class StartLine:
    """A barrier for spawned processes (through files: it pickles): each waits until all have started
    up, so their work overlaps instead of following each one's start-up."""

    directory: str
    parties: int

    def wait(self, timeout_s: float = 60.0) -> None:
        Path(self.directory, str(os.getpid())).touch()
        deadline = time.monotonic() + timeout_s
        while len(os.listdir(self.directory)) < self.parties:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(os.listdir(self.directory))} of {self.parties} processes started")
            time.sleep(0.01)


def spawn_map(function: Callable[..., Any], argument_tuples: Iterable[tuple]) -> list[Any]:
    """Run ``function(*arguments, start_line)`` once per argument tuple, each in a freshly spawned
    process, all at once (the function calls ``start_line.wait()`` when it is ready to begin)."""
    arguments = list(argument_tuples)
    with tempfile.TemporaryDirectory() as directory, \
            multiprocessing.get_context("spawn").Pool(len(arguments)) as pool:
        start_line = StartLine(directory, len(arguments))
        return pool.starmap(function, [(*argument, start_line) for argument in arguments])


def run_migrate(url: str, start_line: StartLine) -> str:
    start_line.wait()
    migrate(url)
    return "ok"


def claim_until_empty(url: str, worker: str, batch: int, start_line: StartLine) -> list[int]:
    """Claim outbox items in batches, confirming each, until none is left; the ids this worker won."""
    store = ChannelStore(create_engine_for(url))
    won: list[int] = []
    start_line.wait()
    try:
        while items := store.outbox.claim(worker, batch, lease=timedelta(minutes=10)):
            for item in items:
                store.outbox.mark_confirmed(item.id, worker)
                won.append(item.id)
        return won
    finally:
        store.close()


def create_link(url: str, order_id: str, entity_id: int, start_line: StartLine) -> tuple[int, bool]:
    store = ChannelStore(create_engine_for(url))
    start_line.wait()
    try:
        result = store.links.create("ACCOUNT-1", order_id, commerce_entity_id=entity_id,
                                    commerce_increment_id=f"{entity_id:09d}", store_code="default")
        return result.link.commerce_entity_id, result.created
    finally:
        store.close()
