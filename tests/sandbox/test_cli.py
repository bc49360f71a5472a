"""`python -m sales_channel.sandbox`: first line is JSON for scripts, both services answer with the
credentials it prints, and SIGTERM stops everything it started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil
import requests


def test_cli_serves_both_sandboxes_and_stops_cleanly(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "sales_channel.sandbox", "--orders", "20", "--seed", "3", "--time-scale", "10",
         "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(process.stdout.readline())
        assert set(info) == {"amazon_url", "commerce_url", "lwa_client_id", "lwa_client_secret", "refresh_token",
                             "commerce_token"}
        assert all(info[k].startswith("sandbox-") for k in ("lwa_client_secret", "refresh_token", "commerce_token"))
        token = requests.post(f"{info['amazon_url']}/auth/o2/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": info["refresh_token"],
            "client_id": info["lwa_client_id"], "client_secret": info["lwa_client_secret"]}).json()["access_token"]
        order_page = requests.get(f"{info['amazon_url']}/orders/2026-01-01/orders", timeout=10,
                                  headers={"x-amz-access-token": token},
                                  params={"createdAfter": "2025-01-01T00:00:00Z", "marketplaceIds": "ATVPDKIKX0DER"})
        assert order_page.status_code == 200 and order_page.json()["orders"]
        product = requests.get(f"{info['commerce_url']}/rest/default/V1/products/MUG-CERAMIC-WHT", timeout=10,
                               headers={"Authorization": f"Bearer {info['commerce_token']}"})
        assert product.status_code == 200 and product.json()["sku"] == "MUG-CERAMIC-WHT"
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 2, "each service runs in a process of its own"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    # The services and multiprocessing's resource tracker exit as their parent does, a moment later.
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not [c for c in alive if c.status() != psutil.STATUS_ZOMBIE]
    assert (tmp_path / "amazon").exists() and (tmp_path / "commerce").exists(), "state persists in --state-dir"
