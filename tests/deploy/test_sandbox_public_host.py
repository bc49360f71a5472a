"""`python -m sales_channel.sandbox --public-host NAME`: how docker-compose.yaml's sandbox service is
reached (its network alias). The URLs both services announce, and the document URLs Amazon's sandbox hands
out, name that host, not the address the sandboxes bind (0.0.0.0 in a container, which no other
container can reach)."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from tests.sandbox.amazon.support import access_token
from tests.test_run_script import free_ports


def test_the_public_host_names_the_urls_the_sandboxes_hand_out(tmp_path):
    amazon_port, commerce_port = free_ports(2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sales_channel.sandbox", "--host", "127.0.0.1", "--public-host", "localhost",
         "--amazon-port", str(amazon_port), "--commerce-port", str(commerce_port), "--orders", "0",
         "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        announced = json.loads(proc.stdout.readline())
        assert announced["amazon_url"] == f"http://localhost:{amazon_port}"
        assert announced["commerce_url"] == f"http://localhost:{commerce_port}"
        token = access_token(announced["amazon_url"])
        document = requests.post(f"{announced['amazon_url']}/feeds/2021-06-30/documents", timeout=30,
                                 headers={"x-amz-access-token": token}, json={"contentType": "text/xml"})
        assert document.status_code == 201, document.text
        assert document.json()["url"].startswith(f"http://localhost:{amazon_port}/")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_a_public_host_needs_fixed_ports(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sales_channel.sandbox", "--public-host", "sandbox.localhost",
                             "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--public-host needs --amazon-port and --commerce-port" in result.stderr

