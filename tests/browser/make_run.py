"""A `make run` session for browser tests: scripts/run.py on free ports in a temporary run home, up to a
first successful import, then stopped with every process it started (as tests/browser/test_report_screenshots.py
starts its own)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

from tests.test_run_script import SCRIPT, alive, free_ports, record_tree, wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunSession:
    home: Path
    api: str  # the Airflow UI and API, http://127.0.0.1:<port>
    commerce: str
    password: str  # of the UI's user admin
    session: requests.Session  # the REST API, as admin (bearer token)
    # wait(what, condition, timeout_s): until condition() is truthy, failing with the session's log if
    # run.py dies meanwhile; every process seen on the way is checked for being gone at the end.
    wait: Callable[[str, Callable[[], Any], float], Any]


@contextmanager
def make_run_session(orders: int = 40, time_scale: int = 50) -> Iterator[RunSession]:
    """The stack of `make run`, its scheduled import run to success; every process is stopped afterwards
    (and the test fails if one is left behind)."""
    home = Path(tempfile.mkdtemp(prefix="sales-channel-browser-run-"))
    airflow_port, amazon_port, commerce_port, worker_log_port, trigger_log_port = free_ports(5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"SALES_CHANNEL_RUN_HOME": str(home), "AIRFLOW_PORT": str(airflow_port),
                "SANDBOX_AMAZON_PORT": str(amazon_port), "SANDBOX_COMMERCE_PORT": str(commerce_port),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
                "SANDBOX_ORDERS": str(orders), "SANDBOX_TIME_SCALE": str(time_scale), "PYTHONUNBUFFERED": "1"})
    api, commerce = f"http://127.0.0.1:{airflow_port}", f"http://127.0.0.1:{commerce_port}"
    log = home / "run.out"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    root, tree = psutil.Process(proc.pid), {}
    try:
        wait_for("the API server", lambda: requests.get(f"{api}/api/v2/monitor/health", timeout=2).ok, 300, proc, log)
        password = json.loads((home / "airflow_home" / "simple_auth_manager_passwords.json.generated")
                              .read_text())["admin"]
        token = requests.post(f"{api}/auth/token", json={"username": "admin", "password": password},
                              timeout=10).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def trigger_import() -> bool:
            record_tree(root, tree)
            return session.post(f"{api}/api/v2/dags/amazon_order_import/dagRuns", json={"logical_date": None},
                                timeout=10).ok

        def import_done() -> bool:
            record_tree(root, tree)
            runs = session.get(f"{api}/api/v2/dags/amazon_order_import/dagRuns", timeout=10).json()
            return any(r["state"] == "success" for r in runs.get("dag_runs", []))

        # The scheduler may start tasks before the API server answers (they fail and wait for their
        # retry): a run of our own imports as soon as the scheduler takes it.
        wait_for("amazon_order_import to be parsed and triggered", trigger_import, 180, proc, log, every=2)
        wait_for("an amazon_order_import run that succeeded", import_done, 600, proc, log, every=2)
        def wait(what: str, condition: Callable[[], Any], timeout: float) -> Any:
            def recorded() -> Any:
                record_tree(root, tree)
                return condition()
            return wait_for(what, recorded, timeout, proc, log, every=2)

        yield RunSession(home, api, commerce, password, session, wait)
    finally:
        record_tree(root, tree)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            for p in [root, *tree.values()]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
        assert alive(tree) == [], "processes left behind"
    shutil.rmtree(home, ignore_errors=True)
