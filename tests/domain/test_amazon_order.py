from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sales_channel.domain.amazon_order import FulfilledBy, FulfillmentStatus, parse_order
from sales_channel.domain.errors import MalformedOrder, QuarantineReason

from tests.domain.factories import item, order


def test_parses_a_complete_order_with_decimal_money_and_utc_times():
    raw = order(items=[item("1", "MUG-CERAMIC-WHT", 2, "12.99", "USD", tax="2.34", shipping="4.99",
                            shipping_tax="0.34", discount="1.30", gift_wrap="3.00",
                            gift_message="Happy birthday!", buyer_cancel=True)])
    parsed = parse_order(raw)
    assert parsed.status is FulfillmentStatus.UNSHIPPED and parsed.fulfilled_by is FulfilledBy.MERCHANT
    assert parsed.created_time == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    charges = parsed.items[0].charges
    assert (charges.item, charges.tax, charges.shipping_tax, charges.discount, charges.gift_wrap) == (
        Decimal("25.98"), Decimal("2.34"), Decimal("0.34"), Decimal("1.30"), Decimal("3.00"))
    assert parsed.buyer_paid == Decimal("25.98") + Decimal("4.99") + Decimal("3.00") + Decimal("2.34") - Decimal("1.30")
    assert parsed.items[0].promotion_ids == ("PROMO-AUTUMN-10",)
    assert parsed.items[0].gift_message == "Happy birthday!"
    assert parsed.buyer_cancellation_requested


def test_repr_never_shows_buyer_data():
    parsed = parse_order(order(name="Zoë Ångström", email="zoe@example.com"))
    text = repr(parsed)
    assert "Zoë" not in text and "zoe@example.com" not in text and "Main St" not in text


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o.pop("salesChannel"), "salesChannel"),
    (lambda o: o["fulfillment"].update(fulfillmentStatus="shipped <b>"), "fulfillment.fulfillmentStatus"),
    (lambda o: o["fulfillment"].update(fulfilledBy=7), "fulfillment.fulfilledBy"),
    (lambda o: o.update(createdTime="yesterday"), "order.createdTime"),
    (lambda o: o["orderItems"][0]["product"].pop("sellerSku"), "orderItems[0].product.sellerSku"),
    (lambda o: o["orderItems"][0].update(quantityOrdered="2"), "orderItems[0].quantityOrdered"),
    (lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"].update(amount="12,99"),
     "orderItems[0].proceeds.breakdowns[0].subtotal.amount"),
    (lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"].update(currencyCode="EUR"),
     "orderItems[0].proceeds.breakdowns[0].subtotal.currencyCode"),
    (lambda o: o["proceeds"]["breakdowns"][0]["subtotal"].update(amount="1.00"), "proceeds.breakdowns[ITEM]"),
    (lambda o: o.update(orderItems=[]), "orderItems"),
])
def test_malformed_data_names_the_order_and_the_field(mutate, field):
    raw = order()
    mutate(raw)
    with pytest.raises(MalformedOrder) as caught:
        parse_order(raw)
    assert caught.value.reason is QuarantineReason.MALFORMED_DATA
    assert caught.value.field == field
    assert str(caught.value).startswith("order 113-1234567-7654321: " + field)
