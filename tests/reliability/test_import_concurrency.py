"""Exactly once outside dag.test(): two import processes on one store at once, and an import process
killed with SIGKILL in the middle of a page then run again — on SQLite and on PostgreSQL.

The importers run as real processes (``python -m sales_channel import``) against the sandboxes, each
in a process of its own, and share only what production workers share: the channel database and the
two APIs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.oracle import amazon_orders, commerce_orders_created, importable

pytestmark = pytest.mark.slow

MARKETS = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]
LEASE_S = 10  # long enough for one create call; the killed worker's claims expire after it


@pytest.fixture
def sandboxes(sandbox_factory):
    amazon = sandbox_factory("amazon", in_process=False, orders=400, seed=5)
    commerce = sandbox_factory("commerce", in_process=False, latency_ms=40)
    return amazon.url, commerce.url


def settings_file(tmp_path: Path) -> Path:
    since = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "stores.json"
    path.write_text(json.dumps({"us": {"amazon_conn_id": "seller-1", "marketplace_ids": MARKETS,
                                       "commerce_conn_id": "commerce", "store_code": "default",
                                       "connected_since": since}}))
    return path


def start_import(tmp_path: Path, sandboxes: tuple[str, str], db_url: str) -> subprocess.Popen:
    env = {**os.environ, "SP_API_CLIENT_ID": CREDS["lwa_client_id"], "SP_API_CLIENT_SECRET": CREDS["lwa_client_secret"],
           "SP_API_REFRESH_TOKEN": CREDS["refresh_token"], "COMMERCE_TOKEN": CREDS["commerce_token"]}
    return subprocess.Popen(
        [sys.executable, "-m", "sales_channel", "import", "--settings", str(settings_file(tmp_path)), "--store", "us",
         "--amazon-url", sandboxes[0], "--commerce-url", sandboxes[1], "--db-url", db_url, "--workers", "4",
         "--lease-seconds", str(LEASE_S)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def expected_orders(amazon_url: str) -> set[str]:
    """Orders the creation rules allow and the catalog does not block, from Amazon's own data."""
    return {o["orderId"] for o in amazon_orders(amazon_url, MARKETS) if importable(o)}


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return out


def test_two_import_processes_on_one_store_create_each_order_once(sandboxes, db_url, tmp_path):
    first, second = start_import(tmp_path, sandboxes, db_url), start_import(tmp_path, sandboxes, db_url)
    summaries = [json.loads(finish(p).strip().splitlines()[-1]) for p in (first, second)]

    created = commerce_orders_created(sandboxes[1])
    assert max(created.values()) == 1, [i for i, n in created.items() if n > 1]
    assert set(created) == expected_orders(sandboxes[0])
    both = Counter()
    for summary in summaries:
        for store in summary["stores"].values():
            both.update(store["outcomes"])
    assert both["created"] == len(created), "every order created by exactly one of the two processes"


def test_an_import_killed_mid_page_then_run_again_leaves_each_order_once(sandboxes, db_url, tmp_path):
    victim = start_import(tmp_path, sandboxes, db_url)
    deadline = time.monotonic() + 120
    while sum(commerce_orders_created(sandboxes[1]).values()) < 15:  # in the middle of the first page
        assert victim.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    partial = sum(commerce_orders_created(sandboxes[1]).values())
    expected = expected_orders(sandboxes[0])
    assert 15 <= partial < len(expected)

    time.sleep(LEASE_S + 0.5)  # the dead worker's create claims expire
    finish(start_import(tmp_path, sandboxes, db_url))

    created = commerce_orders_created(sandboxes[1])
    assert max(created.values()) == 1, [i for i, n in created.items() if n > 1]
    assert set(created) == expected
