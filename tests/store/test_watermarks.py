"""Watermarks never move backwards, also when runs overlap."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_advance_moves_forward_only_and_reset_can_go_back(store):
    assert store.watermarks.get("store-1", "import") is None
    assert store.watermarks.advance("store-1", "import", T0) == T0
    assert store.watermarks.advance("store-1", "import", T0 - timedelta(hours=1)) == T0
    assert store.watermarks.advance("store-1", "import", T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert store.watermarks.get("store-1", "status_sync") is None

    store.watermarks.reset("store-1", "import", T0 - timedelta(days=2))
    assert store.watermarks.get("store-1", "import") == T0 - timedelta(days=2)


def test_overlapping_runs_leave_the_latest_watermark(live_store):
    values = [T0 + timedelta(seconds=n) for n in range(60)]
    random.Random(7).shuffle(values)
    chunks = [values[n::4] for n in range(4)]

    def run(chunk: list[datetime]) -> None:
        for value in chunk:
            live_store.watermarks.advance("store-1", "import", value)

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert live_store.watermarks.get("store-1", "import") == max(values)
