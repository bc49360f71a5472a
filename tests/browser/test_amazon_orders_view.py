"""The "Amazon Orders" view in the Airflow UI of a `make run` session, in Debian's Chromium (headless):
log in with the simple auth manager's form, click the nav entry, see the embedded view list the imported
orders (the same ones the view's API and Commerce know), open an order's detail inside the UI, follow
its action link to the DAG's page; screenshots go to artifacts/screenshots/ (git-ignored). Skipped with
a reason without /usr/bin/chromium or Playwright."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
import requests
from sales_channel.sandbox.oracle import commerce_orders_created

from tests.browser.make_run import RunSession, make_run_session
from tests.browser.test_report_screenshots import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, _playwright

pytestmark = pytest.mark.slow


def imported(run: RunSession, tries: int = 150) -> list[dict[str, Any]]:
    """The view's orders once they are exactly the Commerce orders the import made: an import run of the
    session may still be creating orders (the scheduler starts one besides ours), so wait for a quiet moment."""
    for _ in range(tries):
        listed = run.session.get(f"{run.api}/amazon-orders/api/orders", params={"limit": 200}, timeout=30).json()
        created = commerce_orders_created(run.commerce)
        if listed["orders"] and Counter(o["amazon_order_id"] for o in listed["orders"]) == created:
            return listed["orders"]
        time.sleep(2)
    pytest.fail(f"the view's orders never matched Commerce's ledger: {listed} vs {created}")


@pytest.mark.timeout(1200)
def test_the_amazon_orders_nav_entry_shows_the_imported_orders_and_an_orders_detail():
    sync_playwright = _playwright()
    with make_run_session() as run:
        listed = imported(run)  # one row per Commerce order the import made
        assert requests.get(f"{run.api}/amazon-orders/", timeout=10).status_code == 401, "not without a login"

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(run.api)
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", run.password)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("link", name="Amazon Orders").click()
                page.wait_for_url(re.compile(r"/plugin/amazon-orders"))
                view = page.frame_locator("iframe[title='Amazon Orders']")
                rows = view.locator("#orders tbody tr[data-order]")
                rows.first.wait_for()
                shown = rows.evaluate_all("rows => rows.map(r => r.dataset.order)")
                listed = imported(run)
                assert shown == [o["amazon_order_id"] for o in listed[:50]], "newest first, as the API lists them"
                page.screenshot(path=str(SCREENSHOTS / "amazon_orders_list.png"))

                order = listed[0]
                view.locator(f"a.order:text-is('{order['amazon_order_id']}')").click()
                assert view.locator("#order-id").inner_text() == order["amazon_order_id"]
                assert view.locator("#increment-id").inner_text() == order["commerce_increment_id"]
                assert view.locator("#events tbody tr").count() >= 1
                page.wait_for_url(re.compile(re.escape(order["amazon_order_id"])))  # the UI keeps the deep link
                page.set_viewport_size({"width": 1440, "height": 1500})  # the iframe, not the page, scrolls
                page.screenshot(path=str(SCREENSHOTS / "amazon_orders_detail.png"))
                page.set_viewport_size({"width": 1440, "height": 900})

                view.locator(".action[data-dag='amazon_reimport_orders'] a").click()
                page.wait_for_url(re.compile(r"/dags/amazon_reimport_orders$"))
                page.get_by_test_id("trigger-dag-button").click()  # where the shown conf is pasted
                page.get_by_text("Advanced Options").first.wait_for()
                page.screenshot(path=str(SCREENSHOTS / "amazon_orders_action_trigger_form.png"))

                page.goto(f"{run.api}/plugin/amazon-orders/amazon-orders/quarantine")
                view.locator("#quarantine tbody tr").first.wait_for()
                page.screenshot(path=str(SCREENSHOTS / "amazon_orders_quarantine.png"))
            finally:
                browser.close()
