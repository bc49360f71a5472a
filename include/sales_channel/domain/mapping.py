"""Amazon order → Commerce order entity (the body of ``POST /V1/orders``).

Amazon's prices, tax, shipping, gift wrap and discounts are taken as they are, in Decimal, and the
Commerce grand total equals what the buyer paid on Amazon (the sum of Amazon's charge breakdowns) to
the cent. Anything that stops an order from becoming a correct Commerce order raises ``ImportBlocked``
with a reason and the field, so the order is quarantined and retried, never half-created: that
includes values Commerce would keep wrong (Magento cuts a text longer than its column without a word,
so such an order is held, naming the field, its length and the limit — never the value).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sales_channel.commerce.limits import ADDRESS_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS
from sales_channel.domain.amazon_order import DISCOUNT, Address, AmazonOrder, AmazonOrderItem
from sales_channel.domain.countries import COUNTRY_CODES
from sales_channel.domain.errors import ImportBlocked, QuarantineReason, shown
from sales_channel.domain.money import as_number, quantize
from sales_channel.domain.rules import Decision
from sales_channel.domain.settings import OrderNumberSource, StoreSettings

PAYMENT_METHOD = "amazon_sales_channel"
NOT_LOGGED_IN_GROUP, GENERAL_GROUP = 0, 1  # Magento's default customer groups
SHIPPING_METHOD = "amazon_sales_channel_shipping"
# Countries where a postal code is optional (Amazon sends none for them).
_NO_POSTAL_CODE = {"AE", "AG", "AO", "BS", "BZ", "HK", "IE", "JM", "QA", "SA"}
_FAMILY_NAME_FIRST = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
# Units on one order line beyond which a quantity is a data error, not an order (Amazon caps a line far lower).
MAX_LINE_QUANTITY = 10_000
_ADDRESS = "recipient.deliveryAddress"


@dataclass(frozen=True)
class CatalogProduct:
    """What the import needs to know of a Commerce product (read in one batch per page)."""

    sku: str
    name: str
    product_id: int
    enabled: bool
    salable_qty: Decimal


@dataclass(frozen=True)
class StoreCurrency:
    """The Commerce store's base currency and the order currencies it allows, with base→order rates."""

    base: str
    rates: Mapping[str, Decimal]  # order currency → rate (order amount = base amount × rate)

    def allows(self, currency: str) -> bool:
        return currency == self.base or currency in self.rates

    def rate(self, currency: str) -> Decimal:
        return Decimal(1) if currency == self.base else self.rates[currency]


@dataclass(frozen=True)
class CommerceOrderDraft:
    entity: dict[str, Any]
    stock_moves: tuple[tuple[str, int], ...]  # (Commerce SKU, quantity) to take from salable stock
    increment_id: str | None


def commerce_sku_for(item: AmazonOrderItem, sku_map: Mapping[str, str]) -> str:
    return sku_map.get(item.seller_sku, item.seller_sku)


def check_catalog(order: AmazonOrder, products: Mapping[str, CatalogProduct], sku_map: Mapping[str, str],
                  check_stock: bool) -> None:
    """Unknown SKU, disabled product, out of stock — the import blockers of the Adobe extension."""
    needed: Counter[str] = Counter()
    for n, item in enumerate(order.items):
        sku = commerce_sku_for(item, sku_map)
        field = f"orderItems[{n}].product.sellerSku"
        product = products.get(sku)
        if product is None:
            mapped = f" (mapped to {shown(sku)})" if sku != item.seller_sku else ""
            raise ImportBlocked(QuarantineReason.UNKNOWN_SKU, order.order_id, field,
                                f"SKU {shown(item.seller_sku)}{mapped} is not in the Commerce catalog")
        if not product.enabled:
            raise ImportBlocked(QuarantineReason.PRODUCT_DISABLED, order.order_id, field,
                                f"product {shown(sku)} is disabled in Commerce")
        needed[sku] += item.quantity_ordered - item.quantity_shipped
    if check_stock:
        for sku, qty in needed.items():
            if products[sku].salable_qty < qty:
                raise ImportBlocked(QuarantineReason.OUT_OF_STOCK, order.order_id, "orderItems.quantityOrdered",
                                    f"product {shown(sku)}: {qty} needed, {products[sku].salable_qty} salable")


def split_name(name: str) -> tuple[str, str]:
    """(firstname, lastname): the last word is the family name, except in scripts that write the family
    name first (Chinese, Japanese, Korean). A single word is kept whole as the first name."""
    words = name.split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], "-"
    if any(unicodedata.name(ch, "").startswith(_FAMILY_NAME_FIRST) for ch in words[0]):
        return " ".join(words[1:]), words[0]
    return " ".join(words[:-1]), words[-1]


def _address(order: AmazonOrder, kind: str, email: str) -> dict[str, Any]:
    a = order.ship_to
    if a is None:
        if not order.is_afn:
            raise ImportBlocked(QuarantineReason.MISSING_ADDRESS, order.order_id, _ADDRESS,
                                "no shipping address (was RECIPIENT requested?)")
        a = Address(name="", company=None, lines=(), city=None, district=None, region=None, postal_code=None,
                    country_code=None, phone=None)
    if not order.is_afn:  # Amazon gives an Amazon-fulfilled order's address only in part
        _validate_address(order.order_id, a, _ADDRESS)
    if a.country_code is not None and a.country_code.upper() not in COUNTRY_CODES:
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order.order_id, f"{_ADDRESS}.countryCode",
                            "is not an ISO 3166-1 alpha-2 country code")
    buyer_name = order.buyer.name if order.buyer and order.buyer.name else ""
    first, last = split_name(a.name or buyer_name or "Amazon Customer")
    return {
        "address_type": kind,
        "firstname": first, "lastname": last,
        "company": a.company or "",
        "street": list(a.lines) or ["Fulfilled by Amazon"],
        "city": a.city or "-",
        "region": a.region or "",
        "postcode": a.postal_code or "-",
        "country_id": (a.country_code or "US").upper(),
        "telephone": a.phone or "-",
        "email": email,
    }


def _validate_address(order_id: str, a: Address, field: str) -> None:
    if not a.name.strip():
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order_id, f"{field}.name", "is empty")
    if not a.lines:
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order_id, f"{field}.addressLine1", "is empty")
    if not a.city:
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order_id, f"{field}.city", "is empty")
    if not a.country_code:
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order_id, f"{field}.countryCode", "is empty")
    if not a.postal_code and a.country_code.upper() not in _NO_POSTAL_CODE:
        raise ImportBlocked(QuarantineReason.INVALID_ADDRESS, order_id, f"{field}.postalCode", "is empty")


def increment_id_for(order: AmazonOrder, store: StoreSettings) -> str | None:
    """None lets Commerce number the order; else the Amazon number with the store's prefixes."""
    if store.order_number_source is OrderNumberSource.COMMERCE:
        return None
    special = (store.prefix_business if "AMAZON_BUSINESS" in order.programs and store.prefix_business
               else store.prefix_prime if "PRIME" in order.programs and store.prefix_prime
               else store.prefix_fba if order.is_afn else "")
    return f"{store.prefix_regular}{special}{order.order_id}"


def map_order(order: AmazonOrder, decision: Decision, store: StoreSettings, currency: StoreCurrency,
              products: Mapping[str, CatalogProduct], sku_map: Mapping[str, str]) -> CommerceOrderDraft:
    """Build the Commerce order (a guest order; see ``for_customer``) for an order the creation matrix
    says to create."""
    if not decision.creates:
        raise ValueError(f"order {order.order_id}: decision {decision} does not create an order")
    if not currency.allows(order.currency):
        raise ImportBlocked(QuarantineReason.CURRENCY_NOT_ALLOWED, order.order_id, "proceeds.grandTotal.currencyCode",
                            f"{order.currency} is not allowed in Commerce store {store.store_code!r} "
                            f"(base {currency.base}, allowed {', '.join(sorted({currency.base, *currency.rates}))})")
    _check_amounts(order)
    check_catalog(order, products, sku_map, check_stock=not order.is_afn)

    cur, base, rate = order.currency, currency.base, currency.rate(order.currency)

    def both(name: str, amount: Decimal) -> dict[str, Any]:
        """``name`` in the order currency and ``base_name`` in the store's base currency."""
        return {name: as_number(amount), f"base_{name}": as_number(quantize(amount / rate, base))}

    email = (order.buyer.email if order.buyer and order.buyer.email
             else store.placeholder_email.replace("{order_id}", order.order_id))
    shipping_address = _address(order, "shipping", email)
    billing_address = {**shipping_address, "address_type": "billing"}

    items, stock_moves = [], []
    for item in order.items:
        sku = commerce_sku_for(item, sku_map)
        product = products[sku]
        c = item.charges
        # Per-unit amounts derived by division are rounded to the currency; row totals stay Amazon's own.
        unit = item.unit_price if item.unit_price is not None else quantize(c.item / item.quantity_ordered, cur)
        item_tax = c.tax - c.shipping_tax - c.gift_wrap_tax
        items.append({
            # Amazon's title when Commerce can keep it whole, else the catalog's own name.
            "sku": sku, "name": item.title if item.title and len(item.title) <= ITEM_COLUMNS["name"] else product.name,
            "product_id": product.product_id,
            "product_type": "simple", "ext_order_item_id": item.order_item_id,
            "qty_ordered": item.quantity_ordered,
            **both("price", unit), **both("original_price", unit),
            **both("row_total", c.item), **both("tax_amount", item_tax),
            **both("discount_amount", c.discount),
            **both("price_incl_tax", quantize(unit + item_tax / item.quantity_ordered, cur)),
            **both("row_total_incl_tax", c.item + item_tax),
            "tax_percent": as_number((item_tax / c.item * 100).quantize(Decimal("0.0001"))) if c.item else 0,
            **({"gw_price": as_number(c.gift_wrap), "gw_base_price": as_number(quantize(c.gift_wrap / rate, base)),
                "gw_tax_amount": as_number(c.gift_wrap_tax)} if c.gift_wrap else {}),
        })
        if not order.is_afn:
            stock_moves.append((sku, item.quantity_ordered - item.quantity_shipped))

    sums = {k: sum((getattr(i.charges, k) for i in order.items), Decimal(0))
            for k in ("item", "shipping", "gift_wrap", "tax", "discount", "other", "shipping_tax", "gift_wrap_tax")}
    sums["other"] += sum(order.unattributed.values(), Decimal(0))
    grand_total = order.buyer_paid
    # Commerce's own equation must hold with Amazon's numbers: the buyer paid exactly this.
    assert sums["item"] + sums["shipping"] + sums["gift_wrap"] + sums["tax"] + sums["other"] - sums["discount"] \
        == grand_total, order.order_id

    increment_id = increment_id_for(order, store)
    buyer_first, buyer_last = split_name(order.buyer.name) if order.buyer and order.buyer.name else (
        shipping_address["firstname"], shipping_address["lastname"])
    amazon_info = _amazon_info(order)
    gift_messages = [i.gift_message for i in order.items if i.gift_message]
    extension: dict[str, Any] = {
        "shipping_assignments": [{
            "shipping": {"address": shipping_address, "method": SHIPPING_METHOD},
            "items": [{"sku": i["sku"], "qty_ordered": i["qty_ordered"]} for i in items],
        }],
        "payment_additional_info": [{"key": k, "value": v} for k, v in amazon_info.items()],
    }
    if sums["gift_wrap"]:
        extension.update({"gw_items_price": str(sums["gift_wrap"]),
                          "gw_items_base_price": str(quantize(sums["gift_wrap"] / rate, base)),
                          "gw_items_tax_amount": str(sums["gift_wrap_tax"])})
    if gift_messages:
        extension["gift_message"] = {"sender": "", "recipient": "", "message": "\n\n".join(gift_messages)}

    entity: dict[str, Any] = {
        "ext_order_id": order.order_id,
        "store_id": store.store_id,
        # Amazon-fulfilled orders become complete when the import invoices and ships them.
        "state": "processing",
        "status": store.imported_order_status,
        "customer_email": email,
        "customer_firstname": buyer_first, "customer_lastname": buyer_last,
        "customer_is_guest": 1, "customer_group_id": NOT_LOGGED_IN_GROUP,
        "base_currency_code": base, "global_currency_code": base, "store_currency_code": base,
        "order_currency_code": cur, "base_to_order_rate": as_number(rate), "base_to_global_rate": 1,
        "store_to_order_rate": as_number(rate), "store_to_base_rate": 1,
        "total_qty_ordered": sum(i.quantity_ordered for i in order.items),
        "total_item_count": len(order.items),
        # Commerce has no column for Amazon's other charges (COD fee, delivery tip, types Amazon adds):
        # they go with shipping, so that the totals add up to what the buyer paid.
        **both("subtotal", sums["item"]),
        **both("subtotal_incl_tax", sums["item"] + sums["tax"] - sums["shipping_tax"] - sums["gift_wrap_tax"]),
        **both("shipping_amount", sums["shipping"] + sums["other"]),
        **both("shipping_tax_amount", sums["shipping_tax"]),
        **both("shipping_incl_tax", sums["shipping"] + sums["other"] + sums["shipping_tax"]),
        **both("tax_amount", sums["tax"]),
        # Magento keeps an order's discount as a negative amount.
        **both("discount_amount", -sums["discount"]),
        **both("grand_total", grand_total),
        **both("total_due", grand_total),
        "discount_description": ", ".join(sorted({p for i in order.items for p in i.promotion_ids})) or None,
        "shipping_description": f"Amazon {order.service_level or 'Standard'} shipping",
        "billing_address": billing_address,
        "payment": {
            "method": PAYMENT_METHOD, "account_status": "active", "cc_last4": "",
            "additional_information": [f"Amazon order {order.order_id}",
                                       f"{amazon_info['amazon_marketplace_name']} ({order.marketplace_id})",
                                       f"Fulfilled by {'Amazon' if order.is_afn else 'merchant'}"],
            **both("amount_ordered", grand_total),
        },
        "items": items,
        "extension_attributes": extension,
    }
    if increment_id:
        entity["increment_id"] = increment_id
    if order.buyer and order.buyer.company:
        billing_address["company"] = billing_address["company"] or order.buyer.company
    entity = {k: v for k, v in entity.items() if v is not None}
    _check_lengths(order, entity)
    return CommerceOrderDraft(entity=entity, stock_moves=tuple(stock_moves), increment_id=increment_id)


def _check_amounts(order: AmazonOrder) -> None:
    """Quantities and charges that no correct Commerce order can carry."""
    def refuse(field: str, problem: str) -> ImportBlocked:
        return ImportBlocked(QuarantineReason.MALFORMED_DATA, order.order_id, field, problem)

    for n, item in enumerate(order.items):
        if item.quantity_ordered == 0:
            raise refuse(f"orderItems[{n}].quantityOrdered", "is 0: an order line needs at least one unit")
        if item.quantity_ordered > MAX_LINE_QUANTITY:
            raise refuse(f"orderItems[{n}].quantityOrdered", f"is {item.quantity_ordered}, more than "
                                                              f"{MAX_LINE_QUANTITY} units on one line")
        if item.unit_price is not None and item.unit_price < 0:
            raise refuse(f"orderItems[{n}].product.price.unitPrice.amount", "is negative")
        for kind, amount in item.charges.by_type.items():
            if amount < 0 and kind != DISCOUNT:
                raise refuse(f"orderItems[{n}].proceeds.breakdowns[{kind}]", f"is negative ({amount})")
        if item.charges.item <= 0:
            raise refuse(f"orderItems[{n}].proceeds", "has no ITEM charge (was PROCEEDS requested?)")
    for kind, amount in order.unattributed.items():
        if amount < 0:
            raise refuse(f"proceeds.breakdowns[{kind}]", f"is negative ({amount})")
    if order.buyer_paid < 0:
        raise refuse("proceeds.breakdowns[DISCOUNT]", "the discounts exceed the charges")


def _check_lengths(order: AmazonOrder, entity: Mapping[str, Any]) -> None:
    """Every text Commerce keeps fits its column (see ``commerce.limits``), or the order is held."""
    address = entity["billing_address"]
    buyer_name = "buyer.buyerName" if order.buyer and order.buyer.name else f"{_ADDRESS}.name"
    buyer_email = "buyer.buyerEmail" if order.buyer and order.buyer.email else "placeholder_email"
    company = f"{_ADDRESS}.companyName" if order.ship_to and order.ship_to.company else "buyer.buyerCompanyName"
    contact = QuarantineReason.INVALID_ADDRESS
    checks = [
        (f"{_ADDRESS}.name", address["firstname"], ADDRESS_COLUMNS["firstname"], contact),
        (f"{_ADDRESS}.name", address["lastname"], ADDRESS_COLUMNS["lastname"], contact),
        (company, address["company"], ADDRESS_COLUMNS["company"], contact),
        (f"{_ADDRESS}.addressLine1-3", "\n".join(address["street"]), ADDRESS_COLUMNS["street"], contact),
        (f"{_ADDRESS}.city", address["city"], ADDRESS_COLUMNS["city"], contact),
        (f"{_ADDRESS}.stateOrRegion", address["region"], ADDRESS_COLUMNS["region"], contact),
        (f"{_ADDRESS}.postalCode", address["postcode"], ADDRESS_COLUMNS["postcode"], contact),
        (f"{_ADDRESS}.phone", address["telephone"], ADDRESS_COLUMNS["telephone"], contact),
        (buyer_email, entity["customer_email"], min(ORDER_COLUMNS["customer_email"], ADDRESS_COLUMNS["email"]),
         contact),
        (buyer_name, entity["customer_firstname"], ORDER_COLUMNS["customer_firstname"], contact),
        (buyer_name, entity["customer_lastname"], ORDER_COLUMNS["customer_lastname"], contact),
        ("fulfillment.fulfillmentServiceLevel", entity["shipping_description"], ORDER_COLUMNS["shipping_description"],
         QuarantineReason.MALFORMED_DATA),
    ]
    for field, value, limit, reason in checks:
        if len(value) > limit:
            raise ImportBlocked(reason, order.order_id, field,
                                f"is {len(value)} characters long; Commerce keeps {limit} and would cut the rest")


def for_customer(draft: CommerceOrderDraft, customer_id: int) -> CommerceOrderDraft:
    """The same order, placed by the customer account ``customer_id`` instead of a guest."""
    entity = {**draft.entity, "customer_id": customer_id, "customer_is_guest": 0, "customer_group_id": GENERAL_GROUP}
    return replace(draft, entity=entity)


MARKETPLACE_NAMES = {
    "ATVPDKIKX0DER": "Amazon.com", "A2EUQ1WTGCTBG2": "Amazon.ca", "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A1PA6795UKMFR9": "Amazon.de", "A1F83G8C2ARO7P": "Amazon.co.uk", "A13V1IB3VIYZZH": "Amazon.fr",
    "APJ6JRA9NG5V4": "Amazon.it", "A1RKKUPIHCS9HS": "Amazon.es", "A2NODRKZP88ZB9": "Amazon.se",
    "A1805IZSGTT6HS": "Amazon.nl", "A1C3SOZRARQ6R3": "Amazon.pl", "A1VC38T7YXB528": "Amazon.co.jp",
    "A39IBJ37TRP1C6": "Amazon.com.au",
}


def _amazon_info(order: AmazonOrder) -> dict[str, str]:
    """What the order's payment section shows about Amazon (no buyer PII)."""
    info = {
        "amazon_order_id": order.order_id,
        "amazon_marketplace_id": order.marketplace_id,
        "amazon_marketplace_name": MARKETPLACE_NAMES.get(order.marketplace_id, order.sales_channel),
        "amazon_fulfillment_channel": "AFN" if order.is_afn else "MFN",
        "amazon_programs": ",".join(sorted(order.programs)),
        "amazon_purchase_date": order.created_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if order.buyer and order.buyer.purchase_order_number:
        info["amazon_business_po"] = order.buyer.purchase_order_number
    return info
