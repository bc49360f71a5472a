"""The scale-out shape, for real and without docker: Airflow's CeleryExecutor on this machine.

`scripts/run.py` with `SALES_CHANNEL_EXECUTOR=celery` starts the sandboxes, Airflow's API server, scheduler,
DAG processor and triggerer and **two `airflow celery worker` processes** (`worker1@…`, `worker2@…`, queue
`default`), on a fresh PostgreSQL metadata database (created here, dropped afterwards) with Redis as the
broker, the channel database on another fresh PostgreSQL database and the Amazon usage plans in Redis —
what docker-compose.yaml runs, minus the containers. The scheduled import runs (every minute here), then
the merchant ships, refunds and cancels in Commerce and the scheduled status sync (one task per store, so
both stores' Amazon calls can run on both workers at once) takes it to Amazon. Then:

- every order the sandbox holds that the import should have created by its watermark is in Commerce,
  and no order is there twice;
- every shipment, refund and cancellation reached Amazon exactly once (the sandboxes' ledgers);
- tasks ran on both workers (each worker's own log of the workloads it executed);
- the Amazon sandbox answered no call of an operation our client paces with 429: the usage-plan buckets
  in Redis held across the workers' processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import UntrackedShipments, parse_settings
from sales_channel.pipeline.importing.account import STREAM as IMPORT_STREAM
from sales_channel.ratelimit import USAGE_PLANS
from sales_channel.sandbox.common.clock import parse_iso
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.merchant import Merchant, imported_orders
from sales_channel.sandbox.oracle import (
    amazon_orders,
    commerce_orders_created,
    importable,
    status_sync_verdict,
)
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import RateBucket
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.test_run_script import SCRIPT, free_ports

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
WORKLOAD = re.compile(r"Executing workload in Celery: .*?dag_id='(?P<dag>[^']+)'")


@pytest.fixture
def fresh_databases(postgres_url: str) -> Iterator[tuple[str, str]]:
    """Two new, empty databases on the test server: Airflow's metadata and the channel database."""
    base = make_url(postgres_url)
    names = [f"sc_celery_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("meta", "channel")]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=name).render_as_string(hide_password=False) for name in names)
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stack:
    """`scripts/run.py` in Celery mode, in a run home of its own, and what the test reads from it."""

    def __init__(self, home: Path, proc: subprocess.Popen, ports: dict[str, int], channel_url: str) -> None:
        self.home, self.proc, self.ports, self.channel_url = home, proc, ports, channel_url
        self.api = f"http://127.0.0.1:{ports['airflow']}"
        self.amazon = f"http://127.0.0.1:{ports['amazon']}"
        self.commerce = f"http://127.0.0.1:{ports['commerce']}"
        self.session = requests.Session()

    def log_tail(self) -> str:
        parts = [(self.home / "run.out").read_text()[-2000:]]
        for path in sorted((self.home / "airflow_home").glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def wait_for(self, what: str, check, timeout: float, every: float = 5.0):
        """Waits on a condition (never on a duration): the machine may be slow, the outcome may not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"scripts/run.py exited ({self.proc.returncode}) waiting for {what}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if result := check():
                    return result
            time.sleep(every)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; task instances: "
                    f"{self.task_states()}\n{self.log_tail()}")

    def login(self) -> None:
        passwords = self.home / "airflow_home" / "simple_auth_manager_passwords.json.generated"
        token = requests.post(f"{self.api}/auth/token", timeout=10, json={
            "username": "admin", "password": json.loads(passwords.read_text())["admin"]}).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def task_states(self) -> Counter[tuple[str, str, str]]:
        with contextlib.suppress(Exception):
            tis = self.session.get(f"{self.api}/api/v2/dags/~/dagRuns/~/taskInstances", params={"limit": 1000},
                                   timeout=10).json()["task_instances"]
            return Counter((ti["dag_id"], ti["task_id"], ti["state"]) for ti in tis)
        return Counter()

    def stores(self):
        value = self.session.get(f"{self.api}/api/v2/variables/sales_channel_stores", timeout=10).json()["value"]
        return parse_settings(value)

    def import_watermarks(self, stores) -> dict[str, datetime | None]:
        channel = ChannelStore.open(self.channel_url)
        try:
            return {key: channel.watermarks.get(key, IMPORT_STREAM) for key in stores}
        finally:
            channel.close()

    def database_buckets(self) -> int:
        """Usage-plan buckets kept in the channel database (none, when Redis holds them)."""
        channel = ChannelStore.open(self.channel_url)
        try:
            with channel.engine.connect() as connection:
                return connection.execute(select(func.count()).select_from(RateBucket)).scalar_one()
        finally:
            channel.close()

    def workloads_per_worker(self) -> dict[int, Counter[str]]:
        """DAG id → workloads each worker executed, from the worker's own log."""
        found = {}
        for number in range(1, WORKERS + 1):
            path = self.home / "airflow_home" / f"celery-worker-{number}.log"
            text_ = path.read_text(errors="replace") if path.exists() else ""
            found[number] = Counter(match["dag"] for match in WORKLOAD.finditer(text_))
        return found


@pytest.fixture
def celery_stack(fresh_databases: tuple[str, str], redis_url: str) -> Iterator[Stack]:
    metadata_url, channel_url = fresh_databases
    # Not pytest's tmp_path: concurrent pytest sessions prune old basetemp folders, even a live one.
    home = Path(tempfile.mkdtemp(prefix="sales-channel-celery-test-"))
    ports = dict(zip(("airflow", "amazon", "commerce", "worker_log", "trigger_log"), free_ports(5), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}  # not the test session's
    env.update({
        "SALES_CHANNEL_RUN_HOME": str(home),
        "SALES_CHANNEL_EXECUTOR": "celery",
        "SALES_CHANNEL_CELERY_WORKERS": str(WORKERS),
        "SALES_CHANNEL_METADATA_DB_URL": metadata_url,
        "SALES_CHANNEL_BROKER_URL": redis_url,
        "SALES_CHANNEL_CHANNEL_DB_URL": channel_url,
        "SALES_CHANNEL_USAGE_PLAN_STORE": redis_url,
        # The broker's keys of this run only: another session's workers on the same Redis never take its tasks.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"sc-test-{uuid.uuid4().hex[:8]}:",
        "AIRFLOW_PORT": str(ports["airflow"]),
        "SANDBOX_AMAZON_PORT": str(ports["amazon"]),
        "SANDBOX_COMMERCE_PORT": str(ports["commerce"]),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_log"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_log"]),
        "SANDBOX_ORDERS": "40",
        "SANDBOX_TIME_SCALE": "20",
        "AIRFLOW__SALES_CHANNEL__IMPORT_SCHEDULE": "* * * * *",
        "AIRFLOW__SALES_CHANNEL__STATUS_SYNC_SCHEDULE": "* * * * *",
        "AIRFLOW__SALES_CHANNEL__FEED_POLL_SECONDS": "5",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "10",
        "PYTHONUNBUFFERED": "1",
    })
    with (home / "run.out").open("w") as out:
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(home, proc, ports, channel_url)
    try:
        yield stack
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.timeout(3600)
def test_two_celery_workers_import_and_sync_exactly_once_within_the_usage_plans(celery_stack: Stack):
    stack = celery_stack
    stack.wait_for("the API server", lambda: requests.get(f"{stack.api}/api/v2/monitor/health", timeout=5).ok, 600)
    started = datetime.now(UTC)  # the sandboxes seed before Airflow starts: every seeded order is older
    stack.login()
    stores = stack.stores()

    # The scheduled import has read past the seed (its window ends two minutes before each run's start).
    stack.wait_for("an import window past the seed", lambda: all(
        mark is not None and mark >= started for mark in stack.import_watermarks(stores).values()), 900)

    # The merchant works on the imported orders; the scheduled status sync takes it to Amazon.
    clients = {store.store_id: CommerceClient(stack.commerce, CREDS["commerce_token"], store_code=store.store_code)
               for store in stores.values()}
    try:
        activity = Merchant(clients).act(imported_orders(stack.amazon, stack.commerce))
    finally:
        for client in clients.values():
            client.close()
    assert activity.shipments, "the merchant found nothing to ship: the import created no order"
    holding = {store.store_id for store in stores.values() if store.shipments_without_tracking is UntrackedShipments.HOLD}
    verdict = stack.wait_for("the status sync to reach Amazon", lambda: (
        v := status_sync_verdict(stack.amazon, stack.commerce, holding_stores=holding)) and not v.missing and v, 900)
    stack.wait_for("tasks on both workers", lambda: all(stack.workloads_per_worker().values()), 600)

    # Taken before anything below calls Amazon's faithful API itself.
    by_status = requests.get(f"{stack.amazon}/_sandbox/calls", timeout=10).json()["by_status"]
    throttled = {op: statuses["429"] for op, statuses in by_status.items() if op in USAGE_PLANS and "429" in statuses}
    marks = stack.import_watermarks(stores)

    assert verdict.problems() == [], verdict.to_json()
    per_worker = stack.workloads_per_worker()
    print(f"workloads per worker: {per_worker}; sync: {verdict.to_json()}; calls: {by_status}")
    assert all(per_worker.values()), per_worker
    assert throttled == {}, f"throttled by the Amazon sandbox: {throttled}"
    assert by_status.get("confirmShipment"), "no confirmShipment call: the workers shared no plan"
    assert stack.database_buckets() == 0, "usage-plan buckets went to the channel database, not to Redis"

    created = commerce_orders_created(stack.commerce)
    assert [order for order, count in created.items() if count > 1] == []
    expected = set()
    for store in stores.values():
        for order in amazon_orders(stack.amazon, list(store.marketplace_ids)):
            if (importable(order) and parse_iso(order["createdTime"]) >= store.connected_since
                    and parse_iso(order["lastUpdatedTime"]) <= marks[store.key]):
                expected.add(order["orderId"])
    assert expected, "no importable order in the seed: the test proves nothing"
    assert expected - set(created) == set()
