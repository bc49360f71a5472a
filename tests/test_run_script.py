"""`scripts/run.py` (`make run`): non-default ports flow everywhere, and a stop leaves nothing behind.

The end-to-end test starts the real script (both sandboxes + Airflow's four components) on free ports other
than the defaults, in a temporary run home (never the repository's `airflow_home/` or `var/`), waits
for an `amazon_order_import` run whose tasks ran and for a Commerce order, then sends SIGTERM while a
task is running and checks that every process of the script's tree has exited and every port is free.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "run.py"
DAG_ID = "amazon_order_import"


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def alive(procs: dict[int, psutil.Process]) -> list[str]:
    left = []
    for proc in procs.values():
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline()[:4])}")
    return left


def record_tree(root: psutil.Process, seen: dict[int, psutil.Process]) -> None:
    with contextlib.suppress(psutil.Error):
        for child in root.children(recursive=True):
            seen.setdefault(child.pid, child)


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen, log: Path, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"scripts/run.py exited ({proc.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if result := check():
                return result
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}:\n{log.read_text()[-3000:]}")


def load_run_module():
    spec = importlib.util.spec_from_file_location("sales_channel_run_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STUBBORN_TREE = textwrap.dedent("""
    import signal, subprocess, sys, time
    grandchild = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
        start_new_session=True)  # like a task supervisor: a session (and process group) of its own
    print(grandchild.pid, flush=True)
    time.sleep(600)  # dies of SIGTERM at once: the grandchild re-parents
""")


def test_stop_kills_the_whole_tree_even_a_re_parented_process_that_ignores_sigterm():
    run = load_run_module()
    tree = run.ProcessTree()
    child = tree.popen([sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, text=True)
    grandchild = psutil.Process(int(child.stdout.readline()))
    assert grandchild.ppid() == child.pid
    time.sleep(0.5)  # let it install its SIG_IGN

    started = time.monotonic()
    tree.stop(grace=2.0)
    took = time.monotonic() - started

    assert child.returncode == -signal.SIGTERM
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
    assert 2.0 <= took < 10, took  # waited the grace for the one that ignored SIGTERM, then SIGKILL


@pytest.mark.timeout(900)
def test_run_script_on_other_ports_imports_and_stops_every_process():
    # Not pytest's tmp_path: concurrent pytest sessions prune old basetemp folders, even a live one.
    tmp_path = Path(tempfile.mkdtemp(prefix="sales-channel-run-test-"))
    airflow_port, amazon_port, commerce_port, worker_log_port, trigger_log_port = free_ports(5)
    ports = [airflow_port, amazon_port, commerce_port, worker_log_port, trigger_log_port]
    assert 8080 not in ports and 8701 not in ports and 8702 not in ports
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}  # not the test session's
    env.update({
        "SALES_CHANNEL_RUN_HOME": str(tmp_path),
        "AIRFLOW_PORT": str(airflow_port),
        "SANDBOX_AMAZON_PORT": str(amazon_port),
        "SANDBOX_COMMERCE_PORT": str(commerce_port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
        "SANDBOX_ORDERS": "30",
        "SANDBOX_TIME_SCALE": "50",
        "PYTHONUNBUFFERED": "1",
    })
    repo_state = ((ROOT / "airflow_home").exists(), (ROOT / "var").exists())
    log = tmp_path / "run.out"
    airflow_home = tmp_path / "airflow_home"
    api = f"http://127.0.0.1:{airflow_port}"
    commerce = f"http://127.0.0.1:{commerce_port}"
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    root = psutil.Process(proc.pid)
    tree: dict[int, psutil.Process] = {}
    error: BaseException | None = None  # raised after the cleanup checks, which must hold regardless
    running_seen = False
    try:
        wait_for("the API server", lambda: requests.get(f"{api}/api/v2/monitor/health", timeout=2).ok,
                 300, proc, log)
        timings["api_up"] = time.monotonic() - t0
        record_tree(root, tree)
        password = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        token = requests.post(f"{api}/auth/token", json={"username": "admin", "password": password},
                              timeout=10).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def trigger():
            resp = session.post(f"{api}/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None}, timeout=10)
            return resp.ok and resp.json()["dag_run_id"]

        def task_instances() -> list[dict]:
            """Of every run (the scheduler may have started one of its own before ours)."""
            record_tree(root, tree)
            resp = session.get(f"{api}/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances",
                               params={"limit": 1000}, timeout=10)
            resp.raise_for_status()
            return resp.json()["task_instances"]

        def summary(tis: list[dict]) -> list[tuple]:
            return sorted((ti["dag_run_id"], ti["task_id"], ti["map_index"], ti["state"]) for ti in tis)

        wait_for("the DAG to be parsed and triggered", trigger, 180, proc, log, every=2)
        # A task that succeeded reported its state through the execution API: the workers found it on
        # AIRFLOW_PORT (with the old defaults they called :8080 and no task could start).
        wait_for("a task instance that ran", lambda: any(ti["state"] == "success" for ti in task_instances()),
                 300, proc, log, every=2)
        timings["first_task_done"] = time.monotonic() - t0

        def orders_created():
            record_tree(root, tree)
            return requests.get(f"{commerce}/_sandbox/ledger", params={"event": "order_created"},
                                timeout=10).json()["events"]

        try:
            wait_for("a Commerce order created by the import", orders_created, 240, proc, log, every=2)
            timings["first_order_created"] = time.monotonic() - t0
        except pytest.fail.Exception:
            # The import's own failure (not run.py's): the stop is still checked below.
            error = AssertionError(f"no Commerce order was created; task instances: {summary(task_instances())}")

        # Stop while a task runs (best effort): slow Commerce down so that an import stays busy, and
        # trigger another run.
        requests.put(f"{commerce}/_sandbox/latency", json={"latency_ms": 3000}, timeout=10)
        with contextlib.suppress(pytest.fail.Exception):
            wait_for("a second run", trigger, 30, proc, log, every=2)
            running_seen = bool(wait_for("a running task", lambda: any(
                ti["state"] == "running" for ti in task_instances()), 90, proc, log, every=0.5))
            time.sleep(2)  # let the task's processes exist
    except (Exception, pytest.fail.Exception) as exc:
        error = error or exc
    record_tree(root, tree)  # everything, right before the stop: children re-parent afterwards
    groups = {_pgid(p) for p in tree.values()} - {None}
    stop_sent = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        left = alive(tree)
        for p in [root, *tree.values()]:
            with contextlib.suppress(psutil.Error):
                p.kill()
        pytest.fail(f"scripts/run.py did not exit within 120 s of SIGTERM; alive: {left}")
    timings["stop"] = time.monotonic() - stop_sent

    output = log.read_text()
    print("".join(line for line in output.splitlines(keepends=True) if line.startswith(("killing", "port "))))
    print(f"timings {timings}; {len(tree)} processes tracked in {len(groups)} process groups; "
          f"a task was running at the stop: {running_seen}")
    assert proc.returncode == 0, output[-3000:]
    assert "Stopped." in output, output[-3000:]
    assert len(tree) > 10, f"too few processes tracked: {len(tree)}"
    assert alive(tree) == [], "processes left behind"
    busy = [p for p in ports if not port_free(p)]
    assert busy == [], f"ports still in use after the stop: {busy}"
    assert (ROOT / "airflow_home").exists() == repo_state[0] and (ROOT / "var").exists() == repo_state[1]
    if error is not None:
        print(f"kept for inspection: {tmp_path}")
        raise error
    shutil.rmtree(tmp_path, ignore_errors=True)


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None
