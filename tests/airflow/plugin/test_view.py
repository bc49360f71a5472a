"""The "Amazon Orders" view served by Airflow's own api-server app, against a channel database filled by
the real import (see conftest.py): every page and API endpoint shows what the database and the sandboxes
hold, filters and keyset pages, refusals (no token, a path out of the results folder, no connection),
and no buyer data anywhere."""

from __future__ import annotations

from collections import Counter
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from airflow.dag_processing.dagbag import DagBag
from sales_channel.airflow.plugin.actions import MANUAL_DAGS
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.store.models import OrderEvent, OrderLink, OutboxItem, OutboxStatus, QuarantinedOrder
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.airflow.plugin.conftest import PREFIX, World
from tests.pipeline.conftest import EU, US

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def api(world: World, path: str, expect: int = 200, **params) -> dict:
    response = world.client.get(f"{PREFIX}/api/{path}", params=params)
    assert response.status_code == expect, response.text
    return response.json()


def page(world: World, path: str, expect: int = 200, **params) -> str:
    response = world.client.get(f"{PREFIX}/{path}", params=params)
    assert response.status_code == expect, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def links(world: World) -> list[OrderLink]:
    with Session(world.channel.engine) as session:
        return list(session.scalars(select(OrderLink).order_by(OrderLink.id.desc())))


def all_orders(world: World, limit: int = 7, **filters) -> list[dict]:
    """Every order of the API's keyset pages, following ``next_before`` to the end."""
    rows, before = [], None
    while True:
        body = api(world, "orders", limit=limit, **filters, **({"before": before} if before else {}))
        assert len(body["orders"]) <= limit
        rows += body["orders"]
        before = body["next_before"]
        if before is None:
            return rows


def test_the_orders_list_is_every_link_newest_first_with_what_amazon_and_commerce_say(world):
    stored = links(world)
    rows = all_orders(world)
    assert [r["amazon_order_id"] for r in rows] == [link.amazon_order_id for link in stored]
    assert Counter(r["amazon_order_id"] for r in rows) == world.harness.created(), "one row per Commerce order made"
    with Session(world.channel.engine) as session:
        events = session.scalars(select(OrderEvent).order_by(OrderEvent.occurred_at, OrderEvent.id)).all()
    last = {(e.seller_account, e.amazon_order_id): e.event_type for e in events}
    for row, link in zip(rows, stored, strict=True):
        amazon = world.amazon_orders[row["amazon_order_id"]]
        assert row["commerce_increment_id"] == link.commerce_increment_id
        assert (row["status"], row["fulfillment"]) == (amazon["fulfillment"]["fulfillmentStatus"],
                                                       amazon["fulfillment"]["fulfilledBy"])
        assert row["store"] == ("us" if amazon["salesChannel"]["marketplaceId"] in US else "eu")
        assert row["last_event"]["type"] == last[(link.seller_account, link.amazon_order_id)]
    refused = next(r for r in rows if r["amazon_order_id"] == world.refused_order)
    assert refused["outbox"] == {"open": 0, "failed": 1}

    html = page(world, "", limit=10)
    for row in rows[:10]:
        assert row["amazon_order_id"] in html
    assert rows[10]["amazon_order_id"] not in html, "one page at a time"
    entity = {link.amazon_order_id: link.commerce_entity_id for link in stored}
    admin = f"{world.harness.commerce_url}/admin/sales/order/view/order_id/{entity[rows[0]['amazon_order_id']]}/"
    assert f'href="{admin}"' in html, "the Commerce order links to the store's admin"
    next_url = f"{PREFIX}/?before={rows[9]['link_id']}&limit=10"
    assert f'id="next" href="{next_url.replace("&", "&amp;")}"' in html
    second = world.client.get(next_url).text
    assert rows[10]["amazon_order_id"] in second and rows[9]["amazon_order_id"] not in second


def test_filters_and_search_select_exactly_the_matching_orders(world):
    rows = all_orders(world, limit=50)
    by_status = Counter(r["status"] for r in rows)
    for status, count in by_status.items():
        found = all_orders(world, limit=3, status=status)
        assert len(found) == count and {r["status"] for r in found} == {status}
    amazon = all_orders(world, fulfillment="AMAZON")
    assert amazon and len(amazon) == sum(r["fulfillment"] == "AMAZON" for r in rows)
    eu = all_orders(world, store="eu")
    assert eu and {world.amazon_orders[r["amazon_order_id"]]["salesChannel"]["marketplaceId"] for r in eu} <= set(EU)
    assert len(eu) + len(all_orders(world, store="us")) == len(rows)
    target = rows[len(rows) // 2]
    assert [r["amazon_order_id"] for r in all_orders(world, q=target["commerce_increment_id"])] == [target["amazon_order_id"]]
    assert [r["commerce_increment_id"] for r in all_orders(world, q=target["amazon_order_id"])] == [target["commerce_increment_id"]]
    assert all_orders(world, seller_account="no-such-account") == []
    assert len(all_orders(world, seller_account=target["seller_account"])) == len(rows)
    html = page(world, "", status="SHIPPED")
    assert all(r["amazon_order_id"] in html for r in rows if r["status"] == "SHIPPED")
    assert not any(r["amazon_order_id"] in html for r in rows if r["status"] != "SHIPPED")


def test_an_order_shows_its_timeline_outbox_with_amazons_message_snapshot_and_actions(world):
    order_id = world.refused_order
    detail = api(world, f"orders/{order_id}")
    with Session(world.channel.engine) as session:
        events = session.scalars(select(OrderEvent).where(OrderEvent.amazon_order_id == order_id)
                                 .order_by(OrderEvent.occurred_at, OrderEvent.id)).all()
        failed = session.scalars(select(OutboxItem).where(OutboxItem.kind == CONFIRM_KIND,
                                                          OutboxItem.status == OutboxStatus.FAILED)).one()
    assert [(e["type"], e["message"]) for e in detail["events"]] == [(e.event_type, e.message) for e in events]
    row = next(r for r in detail["outbox"] if r["kind"] == CONFIRM_KIND)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", failed.attempts, failed.last_error)
    assert failed.last_error and "payload" not in row
    assert {r["kind"] for r in detail["outbox"]} >= {"commerce_order_create", "commerce_order_finish", CONFIRM_KIND}
    amazon = world.amazon_orders[order_id]
    assert [i["seller_sku"] for i in detail["snapshot"]["items"]] == [i["product"]["sellerSku"] for i in amazon["orderItems"]]
    assert detail["snapshot"]["total"].startswith(amazon["proceeds"]["grandTotal"]["amount"])
    [link] = [link for link in links(world) if link.amazon_order_id == order_id]
    assert detail["link"]["commerce_increment_id"] == link.commerce_increment_id
    actions = {a["dag_id"]: a["conf"] for a in detail["actions"]}
    assert actions["amazon_resend_shipment"] == {"store": "us", "shipment_id": world.refused_shipment}
    assert actions["amazon_cancel_unshipped_order"]["amazon_order_id"] == order_id

    html = unescape(page(world, f"orders/{order_id}"))
    assert failed.last_error in html
    assert 'href="/dags/amazon_resend_shipment"' in html and f'"shipment_id": {world.refused_shipment}' in html
    assert all(e.message in html for e in events)


def test_every_action_conf_is_valid_for_its_dags_trigger_form(world):
    """Each button's conf names Params the DAG has, with values its form accepts (checked by Airflow)."""
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    order_ids = [world.refused_order, *(q["amazon_order_id"] for q in api(world, "quarantine")["quarantine"])]
    seen = set()
    for order_id in order_ids:
        for action in api(world, f"orders/{order_id}")["actions"]:
            params = bag.get_dag(action["dag_id"]).params
            for name, value in action["conf"].items():
                assert name in params, (action["dag_id"], name)
                params.get_param(name).resolve(value)
            seen.add(action["dag_id"])
    assert seen == set(MANUAL_DAGS)


def test_the_quarantine_page_lists_the_open_entries_and_a_quarantined_order_opens(world):
    with Session(world.channel.engine) as session:
        entries = session.scalars(select(QuarantinedOrder).where(QuarantinedOrder.resolved_at.is_(None))
                                  .order_by(QuarantinedOrder.first_seen_at, QuarantinedOrder.id)).all()
    assert entries, "the seed sells SKUs Commerce does not know"
    rows = api(world, "quarantine")["quarantine"]
    assert [(r["amazon_order_id"], r["reason_code"], r["message"]) for r in rows] == \
        [(e.amazon_order_id, e.reason_code, e.message) for e in entries]
    assert {r["store"] for r in rows} <= {"us", "eu"}
    html = unescape(page(world, "quarantine"))
    assert all(e.amazon_order_id in html and e.reason_code in html and e.message in html for e in entries)
    entry = entries[0]
    detail = api(world, f"orders/{entry.amazon_order_id}")
    assert detail["link"] is None and detail["quarantine"]["message"] == entry.message
    assert [a["conf"] for a in detail["actions"] if a["dag_id"] == "amazon_resolve_quarantine"] == \
        [{"amazon_order_id": entry.amazon_order_id}]
    assert entry.message in unescape(page(world, f"orders/{entry.amazon_order_id}"))
    only_eu = api(world, "quarantine", store="eu")["quarantine"]
    assert [r["amazon_order_id"] for r in only_eu] == [r["amazon_order_id"] for r in rows if r["store"] == "eu"]


def test_failed_outbox_reconciliation_and_alerts_pages_show_the_rows(world):
    [failed] = api(world, "outbox/failed")["failed"]
    assert (failed["amazon_order_id"], failed["source_id"]) == (world.refused_order, f"us/shipment/{world.refused_shipment}")
    html = page(world, "outbox/failed")
    assert failed["source_id"] in html and world.refused_order in html

    [run] = api(world, "reconciliation")["runs"]
    assert (run["store"], run["outcome"], run["counts"]) == ("us", "needs_attention", {"outbox_failed": 1})
    body = api(world, f"reconciliation/{run['id']}")
    assert [f["amazon_order_id"] for f in body["findings"]] == [world.refused_order]
    html = page(world, f"reconciliation/{run['id']}")
    assert world.refused_order in html
    for name in ("findings.csv", "summary.html"):
        path = Path(run["results_path"]).relative_to(world.results) / name
        assert f'href="{PREFIX}/files/{path}"' in html
        assert world.client.get(f"{PREFIX}/files/{path}").text == (world.results / path).read_text()
    assert "needs_attention" in page(world, "reconciliation")
    api(world, "reconciliation/999999", expect=404)

    [alert] = api(world, "alerts")["alerts"]
    assert (alert["check"], alert["scope"], alert["severity"]) == ("outbox_failed", "us", "critical")
    assert alert["message"] in unescape(page(world, "alerts"))


def test_reports_are_listed_and_served_from_the_results_folder_only(world, tmp_path):
    [*reports] = api(world, "reports")["reports"]
    assert [r["name"] for r in reports][:2] == ["latest", world.report]
    folder = world.results / "report" / world.report
    report = next(r for r in reports if r["name"] == world.report)
    assert sorted(report["files"]) == sorted(f"report/{world.report}/{f.name}" for f in folder.iterdir()
                                             if f.suffix in (".png", ".csv", ".json"))
    assert any(f.endswith(".png") for f in report["files"]) and any(f.endswith(".csv") for f in report["files"])
    index = world.client.get(f"{PREFIX}/files/report/{world.report}/index.html")
    assert index.status_code == 200 and index.text == (folder / "index.html").read_text()
    png = next(f for f in report["files"] if f.endswith(".png"))
    image = world.client.get(f"{PREFIX}/files/{png}")
    assert image.headers["content-type"] == "image/png" and image.content == (world.results / png).read_bytes()
    assert world.report in page(world, "reports")

    secret = tmp_path / "secret.txt"
    secret.write_text("outside the results folder")
    (world.results / "escape").symlink_to(tmp_path)
    relative = Path("..") / tmp_path.relative_to(world.results.parent) / "secret.txt"
    for path in (quote(str(relative), safe=""), "..%2F" + quote(str(relative), safe="/"),
                 "%2e%2e/%2e%2e/%2e%2e/etc/passwd", quote(str(secret), safe=""), "escape/secret.txt"):
        response = world.client.get(f"{PREFIX}/files/{path}")
        assert response.status_code == 404, path
        assert "outside the results folder" not in response.text
    (world.results / "escape").unlink()


def test_every_route_refuses_a_request_without_a_valid_token(world):
    from sales_channel.airflow.plugin.app import create_app

    paths = []
    for route in create_app().routes:
        path = getattr(route, "path", "")
        paths.append(path.replace("{amazon_order_id}", world.refused_order).replace("{run_id}", "1")
                     .replace("{path:path}", f"report/{world.report}/index.html").replace("{name}", "style.css"))
    assert len(paths) >= 16
    anonymous = world.client.__class__(world.client.app)
    for path in paths:
        assert anonymous.get(f"{PREFIX}{path}").status_code == 401, path
        assert anonymous.get(f"{PREFIX}{path}", headers={"Authorization": "Bearer not-a-token"}).status_code == 403
        assert anonymous.get(f"{PREFIX}{path}", headers={"Authorization": f"Bearer {world.token}"}).status_code == 200


def test_a_missing_connection_is_said_by_name(world, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SALES_CHANNEL_DB")
    html = page(world, "", expect=503)
    assert "sales_channel_db" in html and "is not defined" in html
    detail = api(world, "orders", expect=503)["detail"]
    assert "sales_channel_db" in detail
    assert api(world, "alerts", expect=503)["detail"] == detail


def test_no_buyer_data_in_any_page_or_answer(world):
    pii = world.pii()
    assert len(pii) > 20, "the seed's buyers have names, emails and addresses"
    quarantined = [q["amazon_order_id"] for q in api(world, "quarantine")["quarantine"]]
    paths = ["", "quarantine", "outbox/failed", "reconciliation", "alerts", "reports", "api/orders?limit=200",
             "api/quarantine", "api/outbox/failed", "api/reconciliation", "api/alerts", "api/reports",
             *(f"{kind}orders/{order_id}" for order_id in [*world.amazon_orders, *quarantined] for kind in ("", "api/"))]
    for path in paths:
        response = world.client.get(f"{PREFIX}/{path}")
        assert response.status_code in (200, 404), path
        leaked = [value for value in pii if value in response.text]
        assert leaked == [], (path, leaked)
