"""A world for the "Amazon Orders" view: the real import against both sandboxes into a real channel
database (SQLite, and PostgreSQL when configured), one shipment Amazon refused (a failed outbox row with
Amazon's message), a reconciliation run and an alert recorded through their repositories, a report
rendered from the database; and Airflow's own api-server app (plugins mounted) with a logged-in client.

Built once per module and backend: every test of a module reads the same world, none changes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sales_channel.pipeline.reporting.activity import Period, load_activity
from sales_channel.pipeline.reporting.render import write_report
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.server import ThreadServer
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OrderLink
from sales_channel.store.sanitize import AMAZON_PII_KEYS, strip_buyer_pii
from sqlalchemy import select

from tests.conftest import postgres_schema
from tests.pipeline.conftest import ACCOUNT, Harness
from tests.pipeline.test_cancel_and_resend import status_sync
from tests.pipeline.test_status_sync_from_amazon import commerce_client

PREFIX = "/amazon-orders"


@dataclass
class World:
    harness: Harness
    channel: ChannelStore
    amazon_orders: dict[str, dict[str, Any]]  # by order id, as Amazon returns them (buyer data included)
    refused_order: str  # the order whose shipment Amazon refused
    refused_shipment: int
    results: Path
    report: str  # the report's folder name under results/report/
    client: TestClient  # logged in (the UI's _token cookie)
    token: str

    def pii(self) -> set[str]:
        """Every buyer value Amazon sent (names, addresses, emails, phones) that is not also order data."""
        values: set[str] = set()
        for order in self.amazon_orders.values():
            kept = set(_strings(strip_buyer_pii(order)))
            for key in AMAZON_PII_KEYS:
                values.update(v for v in _strings(order.get(key)) if len(v) >= 5 and v not in kept)
        return values


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@pytest.fixture(scope="session")
def airflow_app(airflow_db: Path) -> Iterator[tuple[TestClient, str]]:
    """Airflow's api-server app as ``airflow api-server`` builds it (plugins included), and an admin token
    from the simple auth manager's own login endpoint."""
    from airflow.api_fastapi.app import create_app

    with TestClient(create_app()) as client:
        password = json.loads((airflow_db / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        response = client.post("/auth/token", json={"username": "admin", "password": password})
        assert response.status_code == 201, response.text
        yield client, response.json()["access_token"]


def _linked_unshipped_us_order(channel: ChannelStore, orders: dict[str, dict[str, Any]]) -> OrderLink:
    with channel.transaction() as session:
        links = session.scalars(select(OrderLink).where(OrderLink.store_code == "default").order_by(OrderLink.id))
        return next(link for link in links
                    if orders[link.amazon_order_id]["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                    and orders[link.amazon_order_id]["fulfillment"]["fulfilledBy"] == "MERCHANT")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          airflow_app: tuple[TestClient, str]) -> Iterator[World]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            db_url = f"sqlite:///{tmp_path_factory.mktemp('channel') / 'channel.db'}"
        else:
            db_url = stack.enter_context(postgres_schema(request.getfixturevalue("postgres_url")))
        servers = [ThreadServer(service, SandboxConfig(state_dir=tmp_path_factory.mktemp(service),
                                                       credentials=dict(CREDS), **settings))
                   for service, settings in (("amazon", {"orders": 40, "seed": 23}), ("commerce", {}))]
        amazon, commerce = (server.start() for server in servers)
        for server in servers:
            stack.callback(server.stop)
        ChannelStore.open(db_url, migrate=True).close()
        harness = Harness(amazon.url, commerce.url, db_url, stack)
        assert harness.run().window_complete
        channel = harness.channel()
        orders = {order["orderId"]: order for order in harness.amazon_orders()}

        # One shipment Amazon refuses (400): its confirm row fails with Amazon's own message.
        link = _linked_unshipped_us_order(channel, orders)
        shipment = commerce_client(harness).shipments.create(link.commerce_entity_id)
        harness.amazon("PUT", "faults", json={"fail_next": 1, "error_statuses": [400], "operations": ["confirmShipment"]})
        with status_sync(harness, shipments_without_tracking="confirm") as sync:
            sync.store("us").run()
        harness.amazon("DELETE", "faults")

        now = datetime.now(UTC)
        run_id = channel.reconciliation.start("us", ACCOUNT, now - timedelta(days=1), now, dag_run_id="manual__view")
        channel.reconciliation.add_findings(run_id, [{
            "amazon_order_id": link.amazon_order_id, "commerce_increment_id": link.commerce_increment_id,
            "kind": "outbox_failed", "detail": "shipment confirmation failed", "repair": None, "status": "needs_person"}])
        results = tmp_path_factory.mktemp("results")
        run_folder = results / "reconciliation" / "us" / f"{now:%Y-%m-%d}"
        run_folder.mkdir(parents=True)
        (run_folder / "findings.csv").write_text(f"amazon_order_id,kind\n{link.amazon_order_id},outbox_failed\n")
        (run_folder / "summary.html").write_text("<h1>1 finding needs a person</h1>")
        channel.reconciliation.finish(run_id, outcome="needs_attention", orders_checked=len(orders),
                                      counts={"outbox_failed": 1}, repaired=0, unrepaired=1,
                                      results_path=str(run_folder))
        channel.alerts.raise_("outbox_failed", "us", "critical", "store us: 1 failed outbox row",
                              "open the Failed outbox page and re-send")

        stores = harness.settings()
        activity = load_activity(channel, stores, Period(now.date() - timedelta(days=7), now.date()), now=now)
        report = write_report(activity, results, generated_at=now).folder.name

        client, token = airflow_app
        monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_DB", json.dumps({"conn_type": "sales_channel_db", "host": db_url}))
        monkeypatch.setenv("AIRFLOW_CONN_COMMERCE", json.dumps({"conn_type": "adobe_commerce", "host": commerce.url,
                                                                "password": CREDS["commerce_token"]}))
        monkeypatch.setenv("AIRFLOW_VAR_SALES_CHANNEL_STORES", json.dumps({s.key: s.to_json() for s in stores}))
        monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__RESULTS_FOLDER", str(results))
        client.cookies.set("_token", token)
        stack.callback(client.cookies.clear)
        yield World(harness, channel, orders, link.amazon_order_id, shipment, results, report, client, token)
