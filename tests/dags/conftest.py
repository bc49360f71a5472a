"""A running world for DAG tests: both sandboxes, the channel database, and the Airflow connections and
settings Variable that point the DAGs at them (through the environment, as in CI)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sales_channel.commerce.client import CommerceClient
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.sandbox.oracle import amazon_orders
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.migrate import migrate

DAGS = Path(__file__).resolve().parents[2] / "dags"
ACCOUNT = "amazon_sp_api_default"
US_MARKETS = ["ATVPDKIKX0DER", "A1VC38T7YXB528"]
EU_MARKETS = ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"]


@dataclass
class World:
    amazon_url: str
    commerce_url: str
    db_url: str
    monkeypatch: pytest.MonkeyPatch

    def stores(self, **overrides: Any) -> dict[str, dict[str, Any]]:
        since = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        common = {"amazon_conn_id": ACCOUNT, "commerce_conn_id": "adobe_commerce_default",
                  "connected_since": since, **overrides}
        return {"us": {**common, "marketplace_ids": US_MARKETS, "store_code": "default", "store_id": 1},
                "eu": {**common, "marketplace_ids": EU_MARKETS, "store_code": "de", "store_id": 2}}

    def set_stores(self, document: Any) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        self.monkeypatch.setenv("AIRFLOW_VAR_SALES_CHANNEL_STORES", text)

    def commerce(self, store_code: str = "default") -> CommerceClient:
        return CommerceClient(self.commerce_url, CREDS["commerce_token"], store_code=store_code)

    def channel(self) -> ChannelStore:
        return ChannelStore.open(self.db_url)

    def amazon_control(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, f"{self.amazon_url}/_sandbox/{path}", timeout=30, **kw)
        response.raise_for_status()
        return response.json()

    def commerce_control(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, f"{self.commerce_url}/_sandbox/{path}", timeout=30, **kw)
        response.raise_for_status()
        return response.json()

    def all_amazon_orders(self) -> list[dict[str, Any]]:
        """Every order as Amazon has it now (raw JSON, every dataset)."""
        return amazon_orders(self.amazon_url, US_MARKETS + EU_MARKETS)

    def commerce_orders(self) -> dict[str, list[Any]]:
        """Commerce orders by ext_order_id, over both store views."""
        found: dict[str, list[Any]] = {}
        for order in self.commerce("all").orders.iterate():
            found.setdefault(order.ext_order_id, []).append(order)
        return found


@pytest.fixture
def world(airflow_db, sandbox_factory, tmp_path, monkeypatch) -> World:
    amazon = sandbox_factory("amazon", orders=60, seed=11)
    commerce = sandbox_factory("commerce")
    db_url = f"sqlite:///{tmp_path / 'channel.db'}"
    migrate(db_url)  # a deployment step (make run's), never a task's
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_DEFAULT", json.dumps({
        "conn_type": "amazon_sp_api", "host": amazon.url, "login": CREDS["lwa_client_id"],
        "password": CREDS["lwa_client_secret"],
        "extra": {"refresh_token": CREDS["refresh_token"], "seller_id": ACCOUNT}}))
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_COMMERCE_DEFAULT", json.dumps({
        "conn_type": "adobe_commerce", "host": commerce.url, "password": CREDS["commerce_token"]}))
    monkeypatch.setenv("AIRFLOW_CONN_SALES_CHANNEL_DB", json.dumps({
        "conn_type": "sqlite", "host": str(tmp_path / "channel.db")}))
    monkeypatch.setenv("AIRFLOW__SALES_CHANNEL__QUARANTINE_FIRST_RETRY_MINUTES", "0")
    w = World(amazon.url, commerce.url, db_url, monkeypatch)
    # At time scale 1 the sandbox's lifecycle moves no order for the next quarter of an hour, so what a
    # test expects cannot move under it.
    w.set_stores(w.stores())
    return w


def run_dag(dag_id: str, **run_conf: Any):
    """Run a DAG of the dags folder with ``dag.test()`` and return its DagRun."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id).test(run_conf=run_conf or None)
