"""The order-activity report of a `make run` session, looked at in Debian's Chromium (headless).

Starts `scripts/run.py` (both sandboxes + `airflow standalone`) on free ports in a temporary run home,
as tests/test_run_script.py does, waits for the scheduled import to create Commerce orders, triggers
`amazon_order_report` through Airflow's REST API over the seeded days, opens the page it wrote and
checks that every chart loaded and the tables are there, then saves full-page screenshots to
`artifacts/screenshots/` (git-ignored). Skipped, saying why, when /usr/bin/chromium or Playwright is
missing (`apt-get install -y chromium`; Playwright is pinned in requirements.txt and never downloads a
browser here).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
import requests

from tests.test_run_script import SCRIPT, alive, free_ports, record_tree, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements.txt)")
    return sync_playwright


@pytest.mark.timeout(1500)
def test_report_of_a_make_run_session_renders_in_chromium():
    sync_playwright = _playwright()
    home = Path(tempfile.mkdtemp(prefix="sales-channel-report-run-"))
    airflow_port, amazon_port, commerce_port, worker_log_port, trigger_log_port = free_ports(5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"SALES_CHANNEL_RUN_HOME": str(home), "AIRFLOW_PORT": str(airflow_port),
                "SANDBOX_AMAZON_PORT": str(amazon_port), "SANDBOX_COMMERCE_PORT": str(commerce_port),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
                "SANDBOX_ORDERS": "60", "SANDBOX_TIME_SCALE": "50", "PYTHONUNBUFFERED": "1"})
    api = f"http://127.0.0.1:{airflow_port}"
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
        commerce = f"http://127.0.0.1:{commerce_port}"

        def orders_created():
            record_tree(root, tree)
            return requests.get(f"{commerce}/_sandbox/ledger", params={"event": "order_created"},
                                timeout=10).json()["events"]

        def import_done():
            """An import run that finished (the scheduler starts one as soon as the DAG is parsed)."""
            record_tree(root, tree)
            runs = session.get(f"{api}/api/v2/dags/amazon_order_import/dagRuns", timeout=10).json()
            return any(r["state"] == "success" for r in runs.get("dag_runs", []))

        def trigger_import():
            response = session.post(f"{api}/api/v2/dags/amazon_order_import/dagRuns", json={"logical_date": None},
                                    timeout=10)
            return response.ok

        # The scheduler may start tasks before the API server answers (they fail and wait for their
        # retry): a run of our own imports as soon as the scheduler takes it.
        wait_for("amazon_order_import to be parsed and triggered", trigger_import, 180, proc, log, every=2)
        wait_for("a Commerce order created by the import", orders_created, 600, proc, log, every=2)
        wait_for("an amazon_order_import run that succeeded", import_done, 300, proc, log, every=2)

        today = datetime.now(UTC).date()
        first = today - timedelta(days=5)

        def trigger():
            response = session.post(f"{api}/api/v2/dags/amazon_order_report/dagRuns", timeout=10, json={
                "logical_date": None, "conf": {"start_date": str(first), "end_date": str(today)}})
            return response.ok and response.json()["dag_run_id"]

        run_id = wait_for("amazon_order_report to be parsed and triggered", trigger, 180, proc, log, every=2)

        def report_state():
            record_tree(root, tree)
            state = session.get(f"{api}/api/v2/dags/amazon_order_report/dagRuns/{run_id}", timeout=10).json()["state"]
            if state == "failed":
                pytest.fail(f"amazon_order_report failed; see {home / 'airflow_home' / 'logs'}")
            return state == "success"

        wait_for("the report run to succeed", report_state, 300, proc, log, every=2)
        page_path = home / "airflow_home" / "sales_channel_results" / "report" / f"{first}_{today}" / "index.html"
        assert page_path.exists()

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(page_path.as_uri())
                page.wait_for_load_state("load")
                images = page.eval_on_selector_all(
                    "img", "els => els.map(e => ({src: e.getAttribute('src'), w: e.naturalWidth, h: e.naturalHeight}))")
                assert [i["src"] for i in images] == ["orders_by_status.png", "revenue_by_currency.png",
                                                      "latency.png", "quarantine_by_reason.png"]
                assert all(i["w"] > 300 and i["h"] > 100 for i in images), images
                headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
                assert headings == ["Open alerts", "Orders", "Revenue", "Latency", "Quarantine", "Reconciliation",
                                    "Amazon calls"]
                received = int(page.text_content(".tile b").replace(",", ""))
                assert received > 0, "the tiles show the orders received"
                assert page.locator("#orders ~ table").count() >= 1
                assert "searchOrders" in page.text_content("body"), "the Amazon calls table lists searchOrders"
                page.screenshot(path=str(SCREENSHOTS / "report_full_page.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 900})
                page.screenshot(path=str(SCREENSHOTS / "report_first_screen.png"))
                for name in ("orders", "latency", "quarantine"):
                    page.locator(f"#{name} + img").screenshot(path=str(SCREENSHOTS / f"chart_{name}.png"))
            finally:
                browser.close()
        shutil.copytree(page_path.parent, SCREENSHOTS / "report_files", dirs_exist_ok=True)
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
