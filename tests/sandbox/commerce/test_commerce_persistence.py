"""State lives in a SQLite file under state_dir: it survives a restart; ``fresh`` starts over."""

from __future__ import annotations

from pathlib import Path

from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.server import ProcessServer, ThreadServer

from .support import CREDENTIALS_BODY, CommerceApi, order_entity


def _start(state_dir: Path, fresh: bool = False, in_process: bool = True) -> ThreadServer | ProcessServer:
    config = SandboxConfig(state_dir=state_dir, fresh=fresh, credentials=dict(DEFAULT_CREDENTIALS))
    return (ThreadServer if in_process else ProcessServer)("commerce", config).start()


def test_state_survives_a_restart_of_the_process(tmp_path: Path) -> None:
    server = _start(tmp_path, in_process=False)
    try:
        api = CommerceApi(server.url)
        order = api.create_order(order_entity(increment_id="KEEP-1"))
        invoice_id = api.post(f"order/{order['entity_id']}/invoice", {}).json()
        api.control("PUT", "products/MUG-CERAMIC-WHT/stock", json={"qty": 42})
        admin_token = api.session.post(api.v1("integration/admin/token"), json=CREDENTIALS_BODY, timeout=10).json()
        before = api.order(order["entity_id"])
    finally:
        server.stop()

    server = _start(tmp_path, in_process=False)
    try:
        api = CommerceApi(server.url)
        assert api.order(order["entity_id"]) == before
        assert api.get(f"invoices/{invoice_id}").status_code == 200
        assert api.get("stockItems/MUG-CERAMIC-WHT").json()["qty"] == 42
        assert CommerceApi(server.url, token=admin_token).get(f"orders/{order['entity_id']}").status_code == 200
        assert [e["event"] for e in api.ledger()] == ["order_created", "order_invoiced", "stock_changed"]
        assert api.create_order()["entity_id"] == order["entity_id"] + 1  # sequences continue
    finally:
        server.stop()


def test_fresh_discards_the_state_and_reseeds(tmp_path: Path) -> None:
    server = _start(tmp_path)
    try:
        api = CommerceApi(server.url)
        api.create_order()
        api.control("DELETE", "products/MUG-CERAMIC-WHT")
    finally:
        server.stop()
    server = _start(tmp_path, fresh=True)
    try:
        api = CommerceApi(server.url)
        assert api.get("orders", params={"searchCriteria": ""}).json()["total_count"] == 0
        assert api.get("products/MUG-CERAMIC-WHT").status_code == 200
        assert api.ledger() == []
    finally:
        server.stop()
