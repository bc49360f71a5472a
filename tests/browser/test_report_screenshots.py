"""The order-activity report of a `make run` session, looked at in Debian's Chromium (headless).

Starts a `make run` session (`tests/browser/make_run.py`: scripts/run.py on free ports in a temporary run
home, up to a successful import), triggers
`amazon_order_report` through Airflow's REST API over the seeded days, opens the page it wrote and
checks that every chart loaded and the tables are there, then saves full-page screenshots to
`artifacts/screenshots/` (git-ignored). Skipped, saying why, when /usr/bin/chromium or Playwright is
missing (`apt-get install -y chromium`; Playwright is pinned in requirements.txt and never downloads a
browser here).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser.make_run import make_run_session

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
    with make_run_session(orders=60, time_scale=50) as run:
        today = datetime.now(UTC).date()
        first = today - timedelta(days=5)

        def trigger():
            response = run.session.post(f"{run.api}/api/v2/dags/amazon_order_report/dagRuns", timeout=10, json={
                "logical_date": None, "conf": {"start_date": str(first), "end_date": str(today)}})
            return response.ok and response.json()["dag_run_id"]

        run_id = run.wait("amazon_order_report to be parsed and triggered", trigger, 180)

        def report_state():
            state = run.session.get(f"{run.api}/api/v2/dags/amazon_order_report/dagRuns/{run_id}",
                                    timeout=10).json()["state"]
            if state == "failed":
                pytest.fail(f"amazon_order_report failed; see {run.home / 'airflow_home' / 'logs'}")
            return state == "success"

        run.wait("the report run to succeed", report_state, 300)
        page_path = run.home / "airflow_home" / "sales_channel_results" / "report" / f"{first}_{today}" / "index.html"
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
