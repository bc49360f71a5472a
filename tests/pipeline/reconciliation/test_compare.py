"""classify(): each finding kind planted next to orders every side agrees on, and the edge cases that must
not be findings (admin edits, earlier orders, quarantine, refunds, FBA not imported)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sales_channel.pipeline.reconciliation.compare import KINDS, classify
from sales_channel.pipeline.reconciliation.frames import Inputs
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND, REFUND_KIND

from tests.pipeline.reconciliation.world import NOW, SINCE, World, clean_world, policy

LINES = [("MUG-01", 1, 1299)]


def findings(world: World, **rules) -> list[tuple]:
    result = classify(world.inputs(), policy(**rules))
    frame = result.findings
    assert result.counts == {kind: int((frame["kind"] == kind).sum()) for kind in KINDS}
    return [(row.kind, None if pd.isna(row.amazon_order_id) else row.amazon_order_id,
             None if pd.isna(row.commerce_entity_id) else int(row.commerce_entity_id),
             None if pd.isna(row.repair) else row.repair) for row in frame.itertuples()]


def only(world: World, **rules) -> pd.Series:
    """The one finding of the world (asserting there is exactly one)."""
    frame = classify(world.inputs(), policy(**rules)).findings
    assert len(frame) == 1, frame.to_dict("records")
    return frame.iloc[0]


def test_orders_every_side_agrees_on_give_no_finding():
    result = classify(clean_world().inputs(), policy())
    assert result.findings.empty
    assert result.orders_checked == result.ok == 8
    assert set(result.counts) == set(KINDS) and not any(result.counts.values())


def planted_everywhere() -> World:
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)  # missing
    world.commerce_order(1100, "999-0000100-0000100", LINES)  # orphan
    world.commerce_order(1101, "111-0000001-0000001", [("MUG-01", 2, 2598), ("TEA-02", 1, 899)])  # duplicate
    world.orders[1]["grand_total_minor"] += 1
    world.items[5]["sku"] = "TEA-09"
    world.outbox_row(REFUND_KIND, "store/x/creditmemo/1", "failed", "111-0000002-0000002", age=timedelta(hours=1),
                     last_error="ServerError: createFeed 503 InternalFailure")
    return world


def test_categorical_columns_give_the_same_findings_as_strings():
    inputs = planted_everywhere().inputs()
    as_categories = {name: getattr(inputs, name).astype({
        column: "category" for column, dtype in getattr(inputs, name).dtypes.items() if dtype == "string"})
        for name in Inputs.__dataclass_fields__}
    expected = classify(inputs, policy()).findings
    assert len(expected) == 6
    pd.testing.assert_frame_equal(classify(Inputs(**as_categories), policy()).findings, expected)


def test_classify_leaves_its_inputs_as_they_were():
    world = clean_world()
    world.commerce_order(1100, "", LINES)  # an empty ext_order_id
    inputs = world.inputs()
    before = {name: getattr(inputs, name).copy(deep=True) for name in Inputs.__dataclass_fields__}
    classify(inputs, policy())
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(inputs, name), frame)


def test_missing_in_commerce_is_reimported():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES, status="shipped")
    assert findings(world) == [("missing_in_commerce", "111-0000100-0000100", None, "reimport")]


def test_an_order_linked_to_an_entity_commerce_does_not_return_is_missing_for_a_person():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.link("111-0000100-0000100", 7777)
    finding = only(world)
    assert (finding.kind, finding.amazon_order_id, finding.repair) == ("missing_in_commerce", "111-0000100-0000100",
                                                                       pd.NA)
    assert "entity 7777" in finding.detail


def test_unlinked_commerce_order_is_relinked_to_it():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.commerce_order(1100, "111-0000100-0000100", LINES)
    assert findings(world) == [("unlinked_commerce_order", "111-0000100-0000100", 1100, "relink")]


def test_orphan_commerce_orders_need_a_person():
    world = clean_world()
    world.commerce_order(1100, "999-0000100-0000100", LINES)  # an id Amazon's report and our links lack
    world.commerce_order(1101, None, LINES)  # Amazon's payment method, no id at all
    assert findings(world) == [("orphan_commerce_order", "999-0000100-0000100", 1100, None),
                               ("orphan_commerce_order", None, 1101, None)]


def test_an_order_bought_before_the_reports_window_is_known_by_its_link_not_an_orphan():
    world = clean_world()
    world.commerce_order(1100, "111-0000100-0000100", LINES, state="complete", shipped_units=[1])
    world.link("111-0000100-0000100", 1100)
    assert findings(world) == []


def test_duplicate_commerce_orders_name_the_copy_that_is_not_linked():
    world = clean_world()
    world.commerce_order(1100, "111-0000001-0000001", [("MUG-01", 2, 2598), ("TEA-02", 1, 899)])
    finding = only(world)
    assert (finding.kind, finding.amazon_order_id, finding.commerce_entity_id, finding.repair) == (
        "duplicate_commerce_orders", "111-0000001-0000001", 1100, pd.NA)
    assert "000001001 (linked), 000001100" in finding.detail


@pytest.mark.parametrize("link_to", [1100, 1101], ids=["link-on-original", "link-followed-to-copy"])
def test_an_admin_edited_order_is_its_copy_not_a_duplicate(link_to):
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.commerce_order(1100, "111-0000100-0000100", LINES, state="canceled", child=1101)
    world.commerce_order(1101, "111-0000100-0000100", LINES, state="processing")
    world.link("111-0000100-0000100", link_to)
    assert findings(world) == []


def test_an_edit_chain_is_followed_to_the_live_copy_and_compared_there():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.commerce_order(1100, "111-0000100-0000100", LINES, state="canceled", child=1101)
    world.commerce_order(1101, "111-0000100-0000100", LINES, state="canceled", child=1102)
    world.commerce_order(1102, "111-0000100-0000100", LINES, grand_total=1300)
    world.link("111-0000100-0000100", 1100)
    assert findings(world) == [("total_mismatch", "111-0000100-0000100", 1102, None)]


def test_quarantined_orders_are_not_missing_until_stuck():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.quarantine.append({"amazon_order_id": "111-0000100-0000100", "reason_code": "unknown_sku",
                             "first_seen_at": pd.Timestamp(NOW - timedelta(hours=3))})
    assert findings(world) == []


def test_stuck_in_quarantine_gives_the_reason_and_age():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    world.quarantine.append({"amazon_order_id": "111-0000100-0000100", "reason_code": "out_of_stock",
                             "first_seen_at": pd.Timestamp(NOW - timedelta(hours=30))})
    finding = only(world)
    assert (finding.kind, finding.amazon_order_id, finding.repair) == ("stuck_in_quarantine", "111-0000100-0000100",
                                                                       pd.NA)
    assert "30.0 h (out_of_stock), longer than 24.0 h" in finding.detail


def test_what_the_rules_do_not_import_is_not_missing():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES, status="shipped", fulfillment="amazon")
    world.amazon_order("111-0000101-0000101", LINES, purchased=SINCE - timedelta(days=1))
    world.amazon_order("111-0000102-0000102", LINES, status="cancelled")
    world.amazon_order("111-0000103-0000103", LINES, status="unshipped", fulfillment="amazon")
    assert findings(world, import_fba=False) == []
    assert findings(world) == [("missing_in_commerce", "111-0000100-0000100", None, "reimport")]
    assert [f for f in findings(world, import_enabled=False) if f[0] == "missing_in_commerce"] == []


def test_shipped_on_amazon_only_for_both_channels():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES, status="shipped")
    world.commerce_order(1100, "111-0000100-0000100", LINES)
    world.link("111-0000100-0000100", 1100)
    world.amazon_order("302-0000101-0000101", LINES, status="shipped", fulfillment="amazon", currency="EUR")
    world.commerce_order(1101, "302-0000101-0000101", LINES, currency="EUR")
    world.link("302-0000101-0000101", 1101)
    assert findings(world) == [("shipped_on_amazon_only", "111-0000100-0000100", 1100, None),
                               ("shipped_on_amazon_only", "302-0000101-0000101", 1101, None)]


def test_a_partial_shipment_on_both_sides_agrees_and_on_amazon_only_does_not():
    world = clean_world()
    lines = [("MUG-01", 1, 1299), ("TEA-02", 2, 1798)]
    world.amazon_order("111-0000100-0000100", lines, status="partially_shipped", shipped_units=[1, 0])
    world.commerce_order(1100, "111-0000100-0000100", lines, shipped_units=[1, 1])
    world.link("111-0000100-0000100", 1100)
    assert findings(world) == []
    world.items[-2]["qty_shipped"] = world.items[-1]["qty_shipped"] = 0
    assert findings(world) == [("shipped_on_amazon_only", "111-0000100-0000100", 1100, None)]


def test_shipped_in_commerce_only_is_requeued_when_its_confirmation_can_be_sent_again():
    world = clean_world()
    for number, entity in (("111-0000100-0000100", 1100), ("111-0000101-0000101", 1101),
                           ("111-0000102-0000102", 1102)):
        world.amazon_order(number, LINES)
        world.commerce_order(entity, number, LINES, shipped_units=[1])
        world.link(number, entity)
    world.outbox_row(CONFIRM_KIND, "store/shipment/5", "failed", "111-0000100-0000100", age=timedelta(minutes=5),
                     last_error="ServerError: confirmShipment 503 InternalFailure")
    world.outbox_row(CONFIRM_KIND, "store/shipment/6", "failed", "111-0000101-0000101", age=timedelta(minutes=5),
                     last_error="Amazon refused the shipment confirmation: InvalidInput bad carrier")
    result = classify(world.inputs(), policy()).findings
    shipped = result[result["kind"] == "shipped_in_commerce_only"]
    assert shipped[["amazon_order_id", "commerce_entity_id", "repair", "outbox_source_id"]].astype(object).where(
        shipped[["amazon_order_id", "commerce_entity_id", "repair", "outbox_source_id"]].notna(), None
    ).values.tolist() == [["111-0000100-0000100", 1100, "requeue", "store/shipment/5"],
                          ["111-0000101-0000101", 1101, None, None],
                          ["111-0000102-0000102", 1102, None, None]]
    # The failed rows themselves are findings too: one transient (requeued), one refusal (a person).
    assert result[result["kind"] == "outbox_failed"]["repair"].astype(object).where(
        lambda r: r.notna(), None).tolist() == ["requeue", None]


def test_cancelled_on_one_side_only():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES, status="cancelled")
    world.commerce_order(1100, "111-0000100-0000100", LINES)
    world.link("111-0000100-0000100", 1100)
    world.amazon_order("111-0000101-0000101", LINES)
    world.commerce_order(1101, "111-0000101-0000101", LINES, state="canceled")
    world.link("111-0000101-0000101", 1101)
    assert findings(world) == [("cancelled_on_amazon_only", "111-0000100-0000100", 1100, None),
                               ("cancelled_in_commerce_only", "111-0000101-0000101", 1101, None)]


def test_an_unshipped_order_refunded_in_full_in_commerce_counts_as_cancelled():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES, status="cancelled")
    world.commerce_order(1100, "111-0000100-0000100", LINES, state="closed", refunded_units=[1])
    world.link("111-0000100-0000100", 1100)
    assert findings(world) == []


def test_total_mismatch_to_the_minor_unit_in_each_currency():
    world = clean_world()
    world.orders[1]["grand_total_minor"] += 1  # USD, shipped
    world.orders[3]["grand_total_minor"] -= 20  # JPY
    details = classify(world.inputs(), policy()).findings
    assert findings(world) == [("total_mismatch", "111-0000002-0000002", 1002, None),
                               ("total_mismatch", "250-0000004-0000004", 1004, None)]
    assert details["detail"].tolist() == [
        "Amazon order 111-0000002-0000002 totals 34.97 USD but Commerce order 000001002 has grand total "
        "34.98 USD (Amazon − Commerce = -0.01 USD)",
        "Amazon order 250-0000004-0000004 totals 4980 JPY but Commerce order 000001004 has grand total "
        "4960 JPY (Amazon − Commerce = 20 JPY)"]


def test_a_currency_mismatch_is_a_total_mismatch_that_says_so():
    world = clean_world()
    world.orders[4]["currency"] = "GBP"
    finding = only(world)
    assert (finding.kind, finding.amazon_order_id, finding.commerce_entity_id) == ("total_mismatch",
                                                                                  "302-0000005-0000005", 1005)
    assert finding.detail.endswith("totals 12.99 EUR but Commerce order 000001005 has grand total 12.99 GBP "
                                   "(the currencies differ)")


def test_a_refund_is_not_a_total_mismatch():
    world = clean_world()  # order 7 is refunded in part; now refund the other orders' units too
    for item in world.items:
        item["qty_refunded"] = item["qty_shipped"]
    assert findings(world) == []


def test_item_mismatch_per_sku_quantity_and_sku_on_one_side():
    world = clean_world()
    world.items[0]["qty_ordered"] = 3  # order 1: MUG-01 2 on Amazon
    world.items[2]["sku"] = "MUG-02"  # order 2: MUG-01 on Amazon, MUG-02 in Commerce
    frame = classify(world.inputs(), policy()).findings
    assert findings(world) == [("item_mismatch", "111-0000001-0000001", 1001, None),
                               ("item_mismatch", "111-0000002-0000002", 1002, None)]
    assert frame["detail"].str.split(": ", n=1).str[1].tolist() == [
        "SKU MUG-01: Amazon 2, Commerce 3",
        "SKU MUG-01: Amazon 2, Commerce 0; SKU MUG-02: Amazon 0, Commerce 2"]


def test_outbox_unsent_past_the_limit_is_requeued_held_needs_a_person():
    world = clean_world()
    world.outbox_row(REFUND_KIND, "store/111-0000002-0000002/creditmemo/9", "pending", "111-0000002-0000002",
                     age=timedelta(hours=3))
    world.outbox_row(CONFIRM_KIND, "store/shipment/7", "held", "111-0000003-0000003", age=timedelta(hours=3))
    world.outbox_row(CONFIRM_KIND, "store/shipment/8", "pending", "111-0000003-0000003", age=timedelta(hours=1))
    world.outbox_row(CONFIRM_KIND, "store/shipment/9", "confirmed", "111-0000003-0000003", age=timedelta(days=9))
    frame = classify(world.inputs(), policy()).findings
    assert findings(world) == [("outbox_unsent", "111-0000002-0000002", None, "requeue"),
                               ("outbox_unsent", "111-0000003-0000003", None, None)]
    assert frame["outbox_source_id"].tolist() == ["store/111-0000002-0000002/creditmemo/9", "store/shipment/7"]
    assert frame["outbox_kind"].tolist() == [REFUND_KIND, CONFIRM_KIND]


@pytest.mark.parametrize(("error", "repair"), [
    ("ServerError: createFeed 503 InternalFailure", "requeue"),
    ("ambiguous, looked up again after 60s: TransportError: POST /V1/orders  timed out", "requeue"),
    ("Amazon refused it in feed 50012: 18028: the refund exceeds what was charged", None),
    ("credit memo 100000009-1: Amazon cancelled order 111-0000002-0000002, so nothing was charged to refund", None),
])
def test_outbox_failed_is_requeued_only_when_transient(error, repair):
    world = clean_world()
    world.outbox_row(REFUND_KIND, "store/111-0000002-0000002/creditmemo/9", "failed", "111-0000002-0000002",
                     age=timedelta(minutes=1), last_error=error)
    assert findings(world) == [("outbox_failed", "111-0000002-0000002", None, repair)]


def test_orders_checked_and_ok_count_orders_not_findings():
    world = clean_world()
    world.orders[1]["grand_total_minor"] += 1
    world.items[2]["qty_ordered"] = 3  # the same order: two findings, one order
    world.commerce_order(1100, None, LINES)  # an orphan without id: an order of its own
    result = classify(world.inputs(), policy())
    assert len(result.findings) == 3
    assert (result.orders_checked, result.ok) == (9, 7)


def test_details_hold_no_buyer_data_only_ids_and_amounts():
    world = clean_world()
    world.amazon_order("111-0000100-0000100", LINES)
    detail = only(world).detail
    assert detail == ("Amazon order 111-0000100-0000100 (unshipped, merchant-fulfilled) has no Commerce order, "
                      "no link and no quarantine entry")


def test_bad_input_is_refused_naming_the_frame_column_and_order():
    world = clean_world()
    world.amazon[0]["order_status"] = "lost"
    with pytest.raises(ValueError, match="amazon_items: column 'order_status' has 'lost' on order 111-0000001-0000001"):
        world.inputs()
    world = clean_world()
    inputs = world.inputs()
    with pytest.raises(ValueError, match="frame commerce_orders: column 'grand_total_minor' must be int64"):
        Inputs(**{**inputs.__dict__, "commerce_orders": inputs.commerce_orders.astype({"grand_total_minor": float})})
    with pytest.raises(ValueError, match="frame links: column 'commerce_entity_id' is missing"):
        Inputs(**{**inputs.__dict__, "links": inputs.links.drop(columns="commerce_entity_id")})
    with pytest.raises(ValueError, match="frame links: column 'amazon_order_id' holds '111-0000001-0000001' more"):
        Inputs(**{**inputs.__dict__, "links": pd.concat([inputs.links, inputs.links.iloc[:1]])})
    with pytest.raises(ValueError, match="frame outbox: column 'updated_at' must be datetime"):
        Inputs(**{**inputs.__dict__, "outbox": inputs.outbox.astype({"updated_at": "string"})})
    with pytest.raises(ValueError, match="policy: now must be a timezone-aware datetime"):
        policy(now=NOW.replace(tzinfo=None))


def test_nothing_on_any_side_is_nothing_to_report():
    result = classify(World().inputs(), policy())
    assert result.findings.empty and (result.orders_checked, result.ok) == (0, 0)
    assert list(result.findings.columns) == ["kind", "amazon_order_id", "commerce_entity_id", "detail", "repair",
                                             "outbox_kind", "outbox_source_id", "commerce_increment_id"]
