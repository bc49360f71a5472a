"""A Commerce credit memo → the Amazon refund (payment adjustment) it stands for, or why it cannot be one.

Amazon refunds per order item and price component (Principal, Shipping, Tax, ShippingTax, GiftWrap,
GiftWrapTax), in the order's currency, never more than is left of what the buyer paid. A credit memo
says what Commerce refunded: per item its row total, discount and tax, and for the whole memo the
shipping, its tax and any gift wrapping. Amounts of the whole memo are spread over the items Amazon
charged them on, up to what is left on each.

Pure: no I/O. ``RefundRefused`` carries a message for the merchant (it becomes a comment on the
Commerce order); nothing refused is ever sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sales_channel.amazon.feeds_xml import AdjustmentReason, PriceComponent
from sales_channel.commerce.models import CreditMemo
from sales_channel.commerce.models import Order as CommerceOrder
from sales_channel.domain.amazon_order import AmazonOrder, AmazonOrderItem
from sales_channel.domain.money import quantize

ZERO = Decimal(0)
Refunded = Mapping[tuple[str, str], Decimal]
"""What earlier refunds of the order took that the Amazon order does not show yet (its proceeds are net
of the refunds Amazon applied): (Amazon order item id, component) → amount."""


class RefundRefused(ValueError):
    """The credit memo cannot become an Amazon refund; the message says why, for the merchant."""


@dataclass(frozen=True)
class PlannedRefund:
    """The refund of one credit memo, in the form the outbox keeps (JSON-safe: amounts as strings)."""

    amazon_order_id: str
    adjustment_id: str
    currency: str
    items: tuple[dict[str, Any], ...]  # {"order_item_id", "reason", "components": {component: "1.23"}}

    def to_payload(self) -> dict[str, Any]:
        return {"amazon_order_id": self.amazon_order_id, "adjustment_id": self.adjustment_id,
                "currency": self.currency, "items": list(self.items)}

    def total(self) -> Decimal:
        return sum((Decimal(v) for item in self.items for v in item["components"].values()), ZERO)


def charged(item: AmazonOrderItem) -> dict[str, Decimal]:
    """What Amazon holds of the buyer's payment for one item, per refund component: Principal net of the item's
    discount, Shipping net of its shipping discount (a free-shipping promotion), as Amazon details them."""
    c = item.charges
    return {
        PriceComponent.PRINCIPAL: c.item - c.item_discount, PriceComponent.SHIPPING: c.shipping - c.shipping_discount,
        PriceComponent.GIFT_WRAP: c.gift_wrap,
        PriceComponent.TAX: c.tax - c.shipping_tax - c.gift_wrap_tax, PriceComponent.SHIPPING_TAX: c.shipping_tax,
        PriceComponent.GIFT_WRAP_TAX: c.gift_wrap_tax,
    }


def refunded_so_far(payloads: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Decimal]:
    """Sum the components of earlier refunds of an order (their outbox payloads)."""
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for payload in payloads:
        for item in payload.get("items") or ():
            for component, amount in item["components"].items():
                total[(item["order_item_id"], component)] += Decimal(amount)
    return dict(total)


def plan_refund(memo: CreditMemo, commerce_order: CommerceOrder, amazon: AmazonOrder, refunded: Refunded,
                adjustment_id: str) -> PlannedRefund:
    """The Amazon refund of ``memo``; RefundRefused when it cannot be sent as one."""
    where = f"credit memo {memo.increment_id} of order {amazon.order_id}"
    currency = amazon.currency
    if memo.currency and memo.currency != currency:
        raise RefundRefused(f"{where} is in {memo.currency}; the Amazon order is in {currency}")
    if memo.adjustment_positive or memo.adjustment_negative:
        raise RefundRefused(f"{where} has an adjustment refund or fee; Amazon refunds per item and price "
                            "component only: refund the difference in Seller Central")
    amazon_items = {item.order_item_id: item for item in amazon.items}
    commerce_items = {item.item_id: item for item in commerce_order.items}
    left = {(item_id, component): amount - refunded.get((item_id, component), ZERO)
            for item_id, item in amazon_items.items() for component, amount in charged(item).items()}

    amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in memo.items:
        if line.qty <= 0:
            continue
        commerce_item = commerce_items.get(line.order_item_id)
        amazon_item_id = commerce_item.ext_order_item_id if commerce_item else None
        if amazon_item_id not in amazon_items:
            raise RefundRefused(f"{where}: item {line.sku} is not an item of the Amazon order")
        amounts[amazon_item_id][PriceComponent.PRINCIPAL] += line.row_total - line.discount_amount
        amounts[amazon_item_id][PriceComponent.TAX] += line.tax_amount
    memo_items = list(amounts) or list(amazon_items)  # a shipping-only memo spreads over every item
    item_tax = sum((line.tax_amount for line in memo.items if line.qty > 0), ZERO)
    # Commerce books a shipping promotion as a discount on the item and refunds the shipping in full; Amazon
    # keeps it off the shipping. The shipping Amazon no longer holds is the price that discount took.
    unheld_shipping = _spread(memo.shipping_amount, PriceComponent.SHIPPING, memo_items, left, amounts)
    for item_id in memo_items:
        moved = min(unheld_shipping, amazon_items[item_id].charges.shipping_discount)
        amounts[item_id][PriceComponent.PRINCIPAL] += moved
        unheld_shipping -= moved
    _refuse_unheld(unheld_shipping, memo.shipping_amount, PriceComponent.SHIPPING, where, currency)
    for component, amount in ((PriceComponent.SHIPPING_TAX, memo.tax_amount - item_tax),
                              (PriceComponent.GIFT_WRAP, _gift_wrap(memo, "gw_items_price")),
                              (PriceComponent.GIFT_WRAP_TAX, _gift_wrap(memo, "gw_items_tax_amount"))):
        _refuse_unheld(_spread(amount, component, memo_items, left, amounts), amount, component, where, currency)

    items = []
    for item_id, components in amounts.items():
        for component, amount in components.items():
            if amount < 0 or quantize(amount, currency) != amount:
                raise RefundRefused(f"{where}: {component} of item {item_id} is {amount} {currency}, "
                                    f"not an amount Amazon can refund")
            if amount > left[(item_id, component)]:
                raise RefundRefused(f"{where} refunds {amount} {currency} {component} of item {item_id}; "
                                    f"only {max(left[(item_id, component)], ZERO)} {currency} is left to refund")
        sent = {str(component): str(amount) for component, amount in components.items() if amount > 0}
        if sent:
            reason = (AdjustmentReason.CUSTOMER_RETURN if amazon_items[item_id].quantity_shipped
                      else AdjustmentReason.GENERAL_ADJUSTMENT)
            items.append({"order_item_id": item_id, "reason": reason.value, "components": sent})
    if not items:
        raise RefundRefused(f"{where} refunds nothing Amazon can refund")
    return PlannedRefund(amazon.order_id, adjustment_id, currency, tuple(items))


def _gift_wrap(memo: CreditMemo, name: str) -> Decimal:
    """Gift wrapping refunded by the memo (Magento's GiftWrapping extension attributes), 0 without it."""
    value = (memo.raw.get("extension_attributes") or {}).get(name)
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _spread(amount: Decimal, component: str, item_ids: list[str], left: Mapping[tuple[str, str], Decimal],
            amounts: dict[str, dict[str, Decimal]]) -> Decimal:
    """Spread a memo-wide ``amount`` of ``component`` over the items, each up to what is left on it; what did not fit."""
    remaining = max(amount, ZERO)
    for item_id in item_ids:
        take = min(remaining, max(left[(item_id, component)] - amounts[item_id][component], ZERO))
        if take > 0:
            amounts[item_id][component] += take
            remaining -= take
    return remaining


def _refuse_unheld(remaining: Decimal, amount: Decimal, component: str, where: str, currency: str) -> None:
    if remaining > 0:
        raise RefundRefused(f"{where} refunds {amount} {currency} {component}; only "
                            f"{amount - remaining} {currency} of it is left to refund on Amazon")
