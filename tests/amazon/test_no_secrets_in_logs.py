"""A full client session logged at DEBUG (urllib3 included) leaks no secret and no buyer data: not in
the log, not in ``repr()`` of the objects, not in exception messages. And no secret travels anywhere but
the configured endpoint: not to a proxy named by the environment, not where a redirect points.

``RecordingServer`` (also used by the Commerce client's tests) is a local HTTP server that records what
it receives and answers every request alike: a proxy, a redirecting endpoint, or the place a redirect
points to.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sales_channel.amazon import (
    ALL_INCLUDED_DATA,
    CancelItem,
    LwaCredentials,
    LwaError,
    NotFoundError,
    OrderCancellation,
    PackageDetail,
    SpApiError,
    build_order_acknowledgement_feed,
)

from .conftest import CREDENTIALS, MARKETPLACE_US, SELLER_ID

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class RecordingServer:
    """Records every request (method, target, headers, body) and answers ``status`` with ``headers``
    and ``body``."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None, body: Any = None) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append({"method": self.command, "target": self.path,
                                        "headers": dict(self.headers), "body": self.rfile.read(length)})
                payload = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_CONNECT = _answer

            def log_message(self, *args: Any) -> None:  # not on stderr
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def env_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingServer]:
    """A proxy named by every proxy variable of the environment (and no NO_PROXY exception)."""
    with RecordingServer(status=502) as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield proxy


@pytest.fixture
def redirect_trap() -> Iterator[tuple[RecordingServer, RecordingServer]]:
    """``(redirector, elsewhere)``: the redirector answers every request with a 307 to ``elsewhere``,
    which answers like a token endpoint would."""
    with RecordingServer(body={"access_token": "Atza|elsewhere", "expires_in": 3600}) as elsewhere, \
            RecordingServer(status=307, headers={"Location": f"{elsewhere.url}/stolen"}) as redirector:
        yield redirector, elsewhere


def test_full_session_logs_no_secret_and_no_buyer_data(make_client, control, caplog):
    caplog.set_level(logging.DEBUG)  # root: urllib3's connection and request lines as well
    order = control.add_order()
    client = make_client()
    texts = [repr(client), repr(CREDENTIALS)]
    control.faults(fail_next=1, error_statuses=[429], operations=["searchOrders"])
    orders = list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=5),
                                       included_data=ALL_INCLUDED_DATA, max_results_per_page=20))
    texts += [repr(o) for o in orders]
    fetched = client.get_order(order["orderId"], ALL_INCLUDED_DATA)
    texts.append(repr(fetched))
    access_tokens = {client._tokens.token()}
    control.expire_tokens()
    package = PackageDetail.model_validate({
        "packageReferenceId": "1", "carrierCode": "DHL", "trackingNumber": "JD0000000001",
        "shipDate": datetime.now(UTC) - timedelta(minutes=3),
        "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
                       for i in order["orderItems"]]})
    client.confirm_shipment(order["orderId"], MARKETPLACE_US, package)
    access_tokens.add(client._tokens.token())
    upload = client.create_feed_document()
    signature = parse_qs(urlsplit(upload.url).query)["signature"][0]
    batch = build_order_acknowledgement_feed(SELLER_ID, [OrderCancellation(
        order["orderId"], [CancelItem(order["orderItems"][0]["orderItemId"], "NoInventory")])])
    client.upload_feed_document(upload, batch.xml)
    feed = client.wait_for_feed(client.create_feed(batch.feed_type, [MARKETPLACE_US], upload.feed_document_id),
                                poll_interval_s=0.05, timeout_s=30)
    texts.append(repr(client.get_processing_report(feed.result_feed_document_id)))
    with pytest.raises(NotFoundError) as not_found:
        client.get_order("999-9999999-9999999")
    texts.append(str(not_found.value))
    bad = make_client(LwaCredentials(CREDENTIALS.client_id, "sandbox-another-secret", CREDENTIALS.refresh_token))
    with pytest.raises(LwaError) as refused:
        bad.get_order(order["orderId"])
    texts += [str(refused.value), repr(refused.value), repr(bad)]

    logged = caplog.text
    assert "searchOrders" in logged and "x-amzn-RequestId" in logged  # the log is useful...
    assert "signature=***" in logged  # the upload's request line, redacted
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # ...and urllib3 was listening
    everything = "\n".join([logged, *texts])
    secrets = {CREDENTIALS.client_secret, CREDENTIALS.refresh_token, "sandbox-another-secret", *access_tokens,
               signature}  # the pre-signed URL's signature is a short-lived credential as well
    assert len(access_tokens) == 2
    for secret in secrets:
        assert secret not in everything
    assert "Atza|" not in everything
    buyer = fetched.buyer
    assert buyer is not None and buyer.buyer_name and buyer.buyer_email
    address = fetched.recipient.delivery_address
    for pii in (buyer.buyer_name, buyer.buyer_email, address.address_line1, address.phone):
        if pii:
            assert pii not in everything


def test_proxies_from_the_environment_receive_nothing(make_client, control, env_proxy):
    client = make_client()
    assert client.test_connection() == (True, "Login with Amazon accepted the credentials")
    assert list(client.search_orders(created_after=datetime.now(UTC) - timedelta(days=5), max_results_per_page=5))
    assert env_proxy.requests == []


def test_a_redirected_token_exchange_is_refused_and_not_re_posted(make_client, redirect_trap):
    redirector, elsewhere = redirect_trap
    ok, message = make_client(lwa_url=f"{redirector.url}/auth/o2/token").test_connection()
    assert not ok and "HTTP 307 redirect_refused" in message
    assert len(redirector.requests) == 1 and elsewhere.requests == []


def test_a_redirected_call_is_an_error_naming_it_and_the_token_stays(make_client, amazon, redirect_trap):
    redirector, elsewhere = redirect_trap
    client = make_client(base_url=redirector.url, lwa_url=f"{amazon.url}/auth/o2/token")
    with pytest.raises(SpApiError) as redirected:
        client.get_order("113-1234567-1234567")
    assert redirected.value.status == 307 and str(redirected.value).startswith("getOrder failed: HTTP 307")
    assert redirector.requests[0]["headers"]["x-amz-access-token"]  # sent once, to the endpoint
    assert elsewhere.requests == []
