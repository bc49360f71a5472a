"""The operations package (re-import, quarantine resolution) against both sandboxes and a real channel
database, without Airflow: as a script would use it. Outcomes are judged from the sandboxes' own
records (Commerce's ledger and orders, Amazon's data), and from the channel database's tables."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sales_channel.commerce.client import CommerceClient
from sales_channel.pipeline.importing.store_importer import Outcome
from sales_channel.pipeline.operations.reimport import reimport_order, reimport_window
from sales_channel.pipeline.operations.report import Actor
from sales_channel.pipeline.operations.requests import OperationRefused, ResolveRequest
from sales_channel.pipeline.operations.resolve_quarantine import quarantined_account, resolve
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.store.models import Base, QuarantinedOrder
from sqlalchemy import select, update

from tests.fixtures.hostile_orders import SKUS, base_order, item
from tests.pipeline.conftest import ACCOUNT, Harness

pytestmark = pytest.mark.slow

ACTOR = Actor("ops@example.com", "script/test")
# A corrected address nothing else in the sandboxes or the corpus holds.
CORRECTED = {"street": ["77 Quarantine Resolution Way", "Unit 4B"], "city": "Correctionville", "region": "ON",
             "postcode": "K7Q 2X9", "country_code": "CA", "phone": "+1 555 010 7788"}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(harness: Harness, order_id: str, *, items: list | None = None, created: datetime | None = None,
         mutate=None) -> dict:
    """A valid merchant-fulfilled US order updated three minutes ago (or created and updated around
    ``created``), changed by ``mutate``, stored in the Amazon sandbox as Amazon would serve it."""
    order = base_order(order_id, items)
    updated = datetime.now(UTC) - timedelta(minutes=3)
    if created is not None:
        order["createdTime"], updated = stamp(created), created + timedelta(minutes=5)
    order["lastUpdatedTime"] = stamp(updated)
    if mutate is not None:
        mutate(order)
    harness.amazon("POST", "orders/raw", json=order)
    return order


def put_off(harness: Harness, order_id: str) -> None:
    """The quarantine's next attempt of the order is six hours away."""
    with harness.channel().engine.begin() as connection:
        connection.execute(update(QuarantinedOrder).where(QuarantinedOrder.amazon_order_id == order_id)
                           .values(next_attempt_at=datetime.now(UTC) + timedelta(hours=6)))


def channel_text(harness: Harness) -> str:
    """Every row of every channel table, as text."""
    channel = harness.channel()
    with channel.engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in connection.execute(select(table)))


def commerce_order(harness: Harness, order_id: str):
    with CommerceClient(harness.commerce_url, CREDS["commerce_token"], store_code="all") as client:
        (found,) = client.orders.find_by_ext_order_ids([order_id])[order_id]
        return client.orders.get(found.entity_id)


def unknown_sku_order(harness: Harness, order_id: str) -> dict:
    return post(harness, order_id, items=[item("60000000000011", "FP-1000-AMZ", 1, "31.90")])


def test_reimporting_a_linked_order_creates_nothing(harness):
    harness.run()
    order_id = next(i for i, n in harness.created().items() if n == 1)
    report = reimport_order(harness.importer(), order_id, ACTOR)
    assert report.result(order_id).outcome is Outcome.ALREADY_LINKED
    assert harness.created()[order_id] == 1
    events = harness.channel().events.for_order(ACCOUNT, order_id)
    assert events[-1].event_type == "reimported" and events[-1].details["operation"] == "script/test"
    assert any("already linked" in line for line in report.lines())


def test_reimporting_a_quarantined_order_after_its_fix_creates_it_whatever_its_backoff(harness):
    post(harness, "990-0000021-0000001", items=[item("60000000000021", "GIFTCARD-PHYS-50", 1, "50.00")])
    harness.run()
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000021-0000001").reason_code == "unknown_sku"
    put_off(harness, "990-0000021-0000001")
    harness.commerce("PUT", "products/GIFTCARD-PHYS-50", json={"name": "Gift card", "price": 50, "status": 1,
                                                                "qty": 10, "is_in_stock": True})
    report = reimport_order(harness.importer(), "990-0000021-0000001", ACTOR)
    assert report.result("990-0000021-0000001").outcome is Outcome.CREATED
    assert harness.created()["990-0000021-0000001"] == 1
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000021-0000001").resolved_at is not None


def test_reimporting_an_order_amazon_does_not_serve_is_refused(harness):
    with pytest.raises(OperationRefused, match=r"order 990-0000022-0000001: Amazon does not serve it .*404"):
        reimport_order(harness.importer(), "990-0000022-0000001", ACTOR)


def test_a_window_reimport_creates_the_orders_the_import_missed_and_moves_nothing_of_it(harness):
    harness.run()
    # Orders Amazon indexed late: updated five days ago, after the import's watermark passed that time.
    five_days = datetime.now(UTC) - timedelta(days=5)
    missed = [post(harness, f"990-0000023-000000{n}", created=five_days + timedelta(minutes=n))["orderId"]
              for n in range(1, 4)]
    harness.run()
    assert not set(missed) & set(harness.created()), "the scheduled import cannot see them"
    channel = harness.channel()
    marks = {store: channel.watermarks.get(store, "import") for store in ("us", "eu")}

    report = reimport_window(harness.importer(), "us", five_days - timedelta(hours=1), five_days + timedelta(hours=1),
                             ACTOR)
    assert {i: report.result(i).outcome for i in missed} == dict.fromkeys(missed, Outcome.CREATED)
    assert all(harness.created()[i] == 1 for i in missed)
    assert {store: channel.watermarks.get(store, "import") for store in ("us", "eu")} == marks
    assert channel.checkpoints.get(ACCOUNT, "import") is None, "the scheduled import's window is untouched"
    assert all(channel.events.for_order(ACCOUNT, i)[-1].event_type == "reimported" for i in missed)

    # Again: the same window creates nothing twice.
    again = reimport_window(harness.importer(), "us", five_days - timedelta(hours=1), five_days + timedelta(hours=1),
                            ACTOR)
    assert {i: again.result(i).outcome for i in missed} == dict.fromkeys(missed, Outcome.ALREADY_LINKED)
    assert all(harness.created()[i] == 1 for i in missed)


def test_a_window_reimport_ending_too_late_is_cut_to_what_amazon_serves_and_says_so(harness):
    now = datetime.now(UTC)
    report = reimport_window(harness.importer(), "eu", now - timedelta(days=2), now + timedelta(hours=1), ACTOR)
    assert any("instead of" in note for note in report.notes)
    with pytest.raises(OperationRefused, match="field start"):
        reimport_window(harness.importer(), "eu", now, now + timedelta(hours=1), ACTOR)
    with pytest.raises(OperationRefused, match="field end"):
        reimport_window(harness.importer(), "eu", now - timedelta(days=40), now - timedelta(days=1), ACTOR)
    with pytest.raises(OperationRefused, match="field store: 'nowhere'"):
        reimport_window(harness.importer(), "nowhere", now - timedelta(days=2), now - timedelta(days=1), ACTOR)


def test_mapping_a_sku_imports_the_order_and_later_orders_of_that_sku(harness):
    unknown_sku_order(harness, "990-0000024-0000001")
    harness.run()
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000024-0000001").reason_code == "unknown_sku"
    request = ResolveRequest.from_form({"amazon_order_id": "990-0000024-0000001", "action": "map_sku",
                                        "amazon_sku": "FP-1000-AMZ", "commerce_sku": "FRENCH-PRESS-1L"})
    report = resolve(harness.importer(), request, ACTOR)
    assert report.result("990-0000024-0000001").outcome is Outcome.CREATED
    channel = harness.channel()
    assert channel.skus.get(ACCOUNT, "FP-1000-AMZ") == "FRENCH-PRESS-1L"
    assert [i["sku"] for i in commerce_order(harness, "990-0000024-0000001").raw["items"]] == ["FRENCH-PRESS-1L"]
    kinds = [e.event_type for e in channel.events.for_order(ACCOUNT, "990-0000024-0000001")]
    assert kinds[-4:] == ["sku_mapped", "created", "quarantine_resolved", "retried"]

    unknown_sku_order(harness, "990-0000024-0000002")
    harness.run()
    assert harness.created()["990-0000024-0000002"] == 1, "a later order of that SKU is imported too"


def test_a_sku_mapping_is_refused_for_a_commerce_sku_not_in_the_catalog_or_a_sku_not_in_the_order(harness):
    unknown_sku_order(harness, "990-0000025-0000001")
    harness.run()
    form = {"amazon_order_id": "990-0000025-0000001", "action": "map_sku", "amazon_sku": "FP-1000-AMZ",
            "commerce_sku": "NO-SUCH-PRESS"}
    with pytest.raises(OperationRefused, match=r"field commerce_sku: SKU 'NO-SUCH-PRESS' is not in the catalog"):
        resolve(harness.importer(), ResolveRequest.from_form(form), ACTOR)
    with pytest.raises(OperationRefused, match=r"field amazon_sku: .* no item with seller SKU 'MUG-1'"):
        resolve(harness.importer(), ResolveRequest.from_form({**form, "amazon_sku": "MUG-1",
                                                               "commerce_sku": SKUS[0]}), ACTOR)
    channel = harness.channel()
    assert channel.skus.all(ACCOUNT) == {} and channel.quarantine.get(ACCOUNT, "990-0000025-0000001").resolved_at is None


def test_a_corrected_address_is_used_once_for_the_create_and_kept_nowhere(harness, caplog):
    caplog.set_level(logging.DEBUG)
    post(harness, "990-0000026-0000001", mutate=lambda o: o["recipient"]["deliveryAddress"].pop("city"))
    harness.run()
    assert harness.channel().quarantine.get(ACCOUNT, "990-0000026-0000001").reason_code == "invalid_address"
    request = ResolveRequest.from_form({"amazon_order_id": "990-0000026-0000001", "action": "correct_address",
                                        **CORRECTED})
    report = resolve(harness.importer(), request, ACTOR)
    assert report.result("990-0000026-0000001").outcome is Outcome.CREATED
    made = commerce_order(harness, "990-0000026-0000001").raw
    shipping = made["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    assert (shipping["street"], shipping["city"], shipping["region"], shipping["postcode"], shipping["country_id"],
            shipping["telephone"]) == (CORRECTED["street"], "Correctionville", "ON", "K7Q 2X9", "CA", "+1 555 010 7788")
    assert shipping["firstname"] and shipping["lastname"], "the recipient's name stays Amazon's"

    stored = channel_text(harness)
    logged = "\n".join(record.getMessage() for record in caplog.records) + "\n".join(report.lines())
    for value in ("Quarantine Resolution Way", "Unit 4B", "Correctionville", "K7Q 2X9", "555 010 7788"):
        assert value not in stored, f"{value!r} is in the channel database"
        assert value not in logged, f"{value!r} was logged"
    fields = harness.channel().events.for_order(ACCOUNT, "990-0000026-0000001")
    corrected = next(e for e in fields if e.event_type == "address_corrected")
    assert corrected.details["fields"] == ["addressLines", "city", "stateOrRegion", "postalCode", "countryCode", "phone"]


def test_a_skipped_order_is_resolved_and_never_created_by_a_later_search(harness):
    unknown_sku_order(harness, "990-0000027-0000001")
    harness.run()
    request = ResolveRequest.from_form({"amazon_order_id": "990-0000027-0000001", "action": "skip",
                                        "reason": "test order placed by the seller"})
    report = resolve(harness.importer(), request, ACTOR)
    assert any("skipped for good" in note for note in report.notes)
    channel = harness.channel()
    entry = channel.quarantine.get(ACCOUNT, "990-0000027-0000001")
    assert entry.resolved_at is not None and entry.resolution.endswith("test order placed by the seller")
    assert channel.events.for_order(ACCOUNT, "990-0000027-0000001")[-1].event_type == "skipped_by_person"

    # The cause goes away and Amazon updates the order: the next window holds it, and still nothing is made.
    channel.skus.put(ACCOUNT, "FP-1000-AMZ", "FRENCH-PRESS-1L")
    unknown_sku_order(harness, "990-0000027-0000001")
    summary = harness.run()
    assert summary.stores["us"].outcomes[Outcome.SKIPPED_BY_PERSON] == 1
    assert "990-0000027-0000001" not in harness.created()
    reimported = reimport_order(harness.importer(), "990-0000027-0000001", ACTOR)
    assert reimported.result("990-0000027-0000001").outcome is Outcome.SKIPPED_BY_PERSON
    assert "990-0000027-0000001" not in harness.created()
    assert channel.quarantine.get(ACCOUNT, "990-0000027-0000001").resolved_at == entry.resolved_at


def test_resolving_is_refused_for_an_order_not_in_quarantine_or_resolved_already(harness):
    harness.run()
    linked = next(iter(harness.created()))
    skip = {"action": "skip", "reason": "duplicate"}
    with pytest.raises(OperationRefused, match=f"order {linked} is not in quarantine"):
        quarantined_account(harness.channel(), linked, [ACCOUNT])
    with pytest.raises(OperationRefused, match=f"order {linked} is not in quarantine"):
        resolve(harness.importer(), ResolveRequest.from_form({"amazon_order_id": linked, **skip}), ACTOR)

    unknown_sku_order(harness, "990-0000028-0000001")
    harness.run()
    first = ResolveRequest.from_form({"amazon_order_id": "990-0000028-0000001", **skip})
    resolve(harness.importer(), first, ACTOR)
    resolve(harness.importer(), first, ACTOR)  # the same run's retry carries on
    with pytest.raises(OperationRefused, match="resolved already .* by ops@example.com"):
        resolve(harness.importer(), first, Actor("someone-else", "script/another"))
