"""Deterministic seed orders: the same seed and N give the same orders (ids, items, amounts, people,
statuses); only the absolute timestamps follow the moment of seeding (``anchor``), as offsets from it.

The mix of a fresh seed of N orders is exact, not sampled (docs/amazon-sandbox.md, "Seed mix"):
each share below is ``floor(N * share)`` orders, and every remaining order is UNSHIPPED and
merchant-fulfilled. Among those, ``CANCEL_REQUEST_SHARE`` carry a buyer cancellation request,
``BROKEN_PRODUCT_SHARE`` sell one of the catalog's deliberately broken products, and
``LATER_CANCEL_REQUEST_SHARE`` receive a buyer cancellation request later, on the lifecycle clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sales_channel.sandbox.amazon.orders import amount_text, quantize, ship_everything
from sales_channel.sandbox.catalog import BROKEN, HEALTHY, Product
from sales_channel.sandbox.common.clock import to_iso

# Categories of a fresh seed, with their exact shares of N (the rest: UNSHIPPED_MFN).
MIX_SHARES: dict[str, Decimal] = {
    "PENDING": Decimal("0.10"),
    "PARTIALLY_SHIPPED_MFN": Decimal("0.08"),
    "UNSHIPPED_AFN": Decimal("0.06"),
    "SHIPPED_AFN": Decimal("0.10"),
    "CANCELLED": Decimal("0.06"),
}
CANCEL_REQUEST_SHARE = Decimal("0.04")  # of N, taken from the UNSHIPPED_MFN orders
BROKEN_PRODUCT_SHARE = Decimal("0.04")  # of N, taken from the other UNSHIPPED_MFN orders
LATER_CANCEL_REQUEST_SHARE = Decimal("0.02")  # of N, other UNSHIPPED_MFN orders: a request arrives later

# Lifecycle delays (lifecycle time; real time is these divided by the time scale F).
PENDING_RELEASE_AFTER = (timedelta(minutes=10), timedelta(minutes=60))
AFN_SHIP_AFTER = (timedelta(hours=1), timedelta(hours=4))
LATER_CANCEL_REQUEST_AFTER = (timedelta(minutes=30), timedelta(hours=2))
BUYER_CANCEL_SHARE_OF_PENDING = 5  # one PENDING order in 5 is cancelled by its buyer instead of released


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    name: str
    country: str
    currency: str
    rate: Decimal  # price of one USD in this currency (catalog prices are USD)
    tax_rate: Decimal
    shipping: Decimal  # standard shipping charge of a merchant-fulfilled order
    gift_wrap: Decimal  # per unit
    order_prefixes: tuple[str, ...]
    email_domain: str
    carriers: tuple[str, ...]
    marketplace_facilitator: bool  # Amazon collects and remits the tax
    people: tuple[tuple[str, dict[str, str]], ...] = field(default=())


def _address(line1: str, city: str, postal: str, region: str = "", line2: str = "") -> dict[str, str]:
    address = {"addressLine1": line1}
    if line2:
        address["addressLine2"] = line2
    address.update(city=city, postalCode=postal)
    if region:
        address["stateOrRegion"] = region
    return address


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("ATVPDKIKX0DER", "Amazon.com", "US", "USD", Decimal("1"), Decimal("0.0825"), Decimal("4.99"),
                Decimal("3.99"), ("111", "112", "113", "114"), "marketplace.amazon.com", ("UPS", "USPS", "FedEx"),
                True, (
                    ("John Smith", _address("123 Main Street", "Seattle", "98101", "WA", "Apt 4B")),
                    ("María José García", _address("455 Market St", "San Francisco", "94105", "CA")),
                    ("Aaliyah Johnson", _address("78 Peachtree Rd NE", "Atlanta", "30305", "GA")),
                    ("Nguyễn Văn An", _address("1200 Westheimer Rd", "Houston", "77006", "TX")),
                    ("Zoë O'Connor-Brandt", _address("9 Elm Court", "Portland", "97205", "OR")),
                    ("Wei Zhang", _address("350 Fifth Avenue", "New York", "10118", "NY", "Floor 21")),
                )),
    Marketplace("A1PA6795UKMFR9", "Amazon.de", "DE", "EUR", Decimal("0.92"), Decimal("0.19"), Decimal("3.90"),
                Decimal("2.99"), ("302", "303", "304", "305"), "marketplace.amazon.de", ("DHL", "DPD", "Hermes"),
                False, (
                    ("Jürgen Müller", _address("Königstraße 12", "Stuttgart", "70173", "Baden-Württemberg")),
                    ("Bärbel Schröder", _address("Große Bleichen 5", "Hamburg", "20354", "Hamburg")),
                    ("Dmitri Iwanow (Дмитрий Иванов)", _address("Weißenseer Weg 44", "Berlin", "10367", "Berlin")),
                    ("Γιώργος Παπαδόπουλος", _address("Düsseldorfer Straße 3", "Köln", "50674",
                                                      "Nordrhein-Westfalen")),
                    ("Anna-Lena Fuß", _address("Maximilianstraße 18", "München", "80539", "Bayern")),
                    ("Ольга Смирнова", _address("Schloßallee 7", "Dresden", "01097", "Sachsen")),
                )),
    Marketplace("A2NODRKZP88ZB9", "Amazon.se", "SE", "SEK", Decimal("10.5"), Decimal("0.25"), Decimal("49"),
                Decimal("35"), ("403", "404"), "marketplace.amazon.se", ("PostNord", "DHL", "Budbee"),
                False, (
                    ("Åsa Lindström", _address("Drottninggatan 71", "Stockholm", "111 36")),
                    ("Björn Ekström", _address("Kungsportsavenyen 2", "Göteborg", "411 36")),
                    ("Märta Öberg", _address("Södra Förstadsgatan 8", "Malmö", "211 43")),
                    ("Sven-Åke Nyström", _address("Stora Gatan 15", "Västerås", "722 12")),
                    ("Linnéa Håkansson", _address("Järntorget 4", "Örebro", "702 10")),
                )),
    Marketplace("A1VC38T7YXB528", "Amazon.co.jp", "JP", "JPY", Decimal("150"), Decimal("0.10"), Decimal("500"),
                Decimal("300"), ("249", "250", "503"), "marketplace.amazon.co.jp", ("ヤマト運輸", "佐川急便", "日本郵便"),
                False, (
                    ("山田 太郎", _address("神南1-2-3", "渋谷区", "150-0041", "東京都", "渋谷ビル5階")),
                    ("佐藤 花子", _address("梅田3-1-1", "大阪市北区", "530-0001", "大阪府")),
                    ("鈴木 一郎", _address("栄4-5-6", "名古屋市中区", "460-0008", "愛知県")),
                    ("高橋 さくら", _address("中央区北1条西2丁目", "札幌市", "060-0001", "北海道")),
                    ("伊藤 健", _address("天神2-8-1", "福岡市中央区", "810-0001", "福岡県")),
                )),
)
BY_MARKETPLACE_ID = {m.marketplace_id: m for m in MARKETPLACES}
MARKETPLACE_WEIGHTS = (40, 25, 15, 20)  # US, DE, SE, JP

COMPANIES = {"US": ("Northwind Traders LLC", "Contoso Café Supplies Inc."),
             "DE": ("Müller & Söhne GmbH", "Bäckerei Groß KG"),
             "SE": ("Ångström Konsult AB", "Fika & Co Handelsbolag"),
             "JP": ("株式会社サクラ商事", "有限会社やまと茶舗")}
GIFT_MESSAGES = ("Happy birthday! 🎉", "Alles Gute zum Geburtstag, Oma!", "Grattis på födelsedagen!",
                 "お誕生日おめでとう！", "Thank you for everything ❤")
CANCEL_REASONS = ("Order placed by mistake", "Found a better price elsewhere", "Delivery takes too long",
                  "Bestellung versehentlich aufgegeben", "注文を間違えました")
SERVICE_LEVELS = ("STANDARD", "EXPEDITED", "SECOND_DAY", "NEXT_DAY")


def mix_counts(n: int) -> dict[str, int]:
    """The exact number of orders per category in a fresh seed of ``n`` orders."""
    counts = {category: int(n * share) for category, share in MIX_SHARES.items()}
    counts["UNSHIPPED_MFN"] = n - sum(counts.values())
    return counts


@dataclass
class SeededOrder:
    doc: dict[str, Any]
    events: list[tuple[timedelta, str, dict[str, Any]]]  # (lifecycle delay after seeding, kind, payload)


class OrderFactory:
    """Builds orders: from the seed's random stream, or from the control API's explicit requests."""

    def __init__(self, rng: random.Random, taken_ids: set[str] | None = None) -> None:
        self.rng = rng
        self.taken_ids = taken_ids if taken_ids is not None else set()

    def order_id(self, marketplace: Marketplace) -> str:
        while True:
            candidate = (f"{self.rng.choice(marketplace.order_prefixes)}-{self.rng.randrange(10**7):07d}-"
                         f"{self.rng.randrange(10**7):07d}")
            if candidate not in self.taken_ids:
                self.taken_ids.add(candidate)
                return candidate

    def item_id(self) -> str:
        return f"{self.rng.randrange(10**13, 10**14)}"

    def price(self, product: Product, marketplace: Marketplace) -> Decimal:
        local = product.price_usd * marketplace.rate
        if marketplace.currency == "USD":
            return quantize(local, "USD")
        # Local price points: whole units minus a cent (EUR), whole crowns (SEK), whole yen in tens (JPY).
        if marketplace.currency == "JPY":
            return (local / 10).to_integral_value() * 10
        if marketplace.currency == "SEK":
            return local.to_integral_value()
        return local.to_integral_value() - Decimal("0.01")

    def build(self, *, marketplace: Marketplace, fulfilled_by: str, lines: list[tuple[Product, int, Decimal]],
              created: datetime, updated: datetime, status: str, business: bool = False, prime: bool = False,
              promotion_lines: frozenset[int] = frozenset(), gift_lines: frozenset[int] = frozenset(),
              free_shipping_promotion: bool = False, person_index: int | None = None) -> dict[str, Any]:
        """One order with every dataset and the charges behind its proceeds."""
        rng = self.rng
        currency = marketplace.currency
        afn = fulfilled_by == "AMAZON"
        order_id = self.order_id(marketplace)
        name, address = marketplace.people[person_index if person_index is not None
                                           else rng.randrange(len(marketplace.people))]
        programs = (["AMAZON_BUSINESS"] if business else []) + (["PRIME"] if prime else [])
        buyer: dict[str, Any] = {"buyerName": name}
        if not afn:
            buyer["buyerEmail"] = f"{rng.getrandbits(48):012x}@{marketplace.email_domain}"
        delivery = {"name": name, **address, "countryCode": marketplace.country,
                    "addressType": "COMMERCIAL" if business else "RESIDENTIAL"}
        if business:
            companies = COMPANIES[marketplace.country]
            company = companies[rng.randrange(len(companies))]
            buyer["buyerCompanyName"] = company
            buyer["buyerPurchaseOrderNumber"] = f"PO-{rng.randrange(10**6):06d}"
            delivery["companyName"] = company
        if not afn:
            delivery["phone"] = f"+{rng.randrange(10**9, 10**10)}"
        shipping_charge = Decimal(0) if (afn or prime) else marketplace.shipping
        items = []
        for index, (product, quantity, unit_price) in enumerate(lines):
            charges = self._charges(marketplace, unit_price, quantity,
                                    shipping=shipping_charge if index == 0 else Decimal(0),
                                    gift=index in gift_lines, promotion=index in promotion_lines,
                                    free_shipping=free_shipping_promotion and index == 0)
            item: dict[str, Any] = {
                "orderItemId": self.item_id(),
                "quantityOrdered": quantity,
                "product": {
                    "asin": product.asin, "title": product.name, "sellerSku": product.seller_sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": {"unitPrice": {"amount": amount_text(unit_price, currency), "currencyCode": currency},
                              **({"priceDesignation": "BUSINESS_PRICE"} if business else {})},
                },
                "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
                "_charges": charges,
            }
            promotions = []
            if index in promotion_lines:
                promotions.append({"promotionId": f"PROMO-{rng.choice(('SPRING', 'WELCOME', 'BUNDLE'))}-"
                                                  f"{rng.randrange(1000):03d}"})
            if free_shipping_promotion and index == 0 and shipping_charge:
                promotions.append({"promotionId": "FREE-SHIPPING-OVER-THRESHOLD"})
            if promotions:
                item["promotion"] = {"breakdowns": promotions}
            if index in gift_lines:
                item["fulfillment"]["packing"] = {"giftOption": {
                    "giftMessage": GIFT_MESSAGES[rng.randrange(len(GIFT_MESSAGES))], "giftWrapLevel": "Classic"}}
            if marketplace.marketplace_facilitator:
                item["tax"] = {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR",
                                                   "responsibleParty": "Amazon Services, Inc."}]}
            items.append(item)
        shipped_by = created + timedelta(days=2)
        doc: dict[str, Any] = {
            "orderId": order_id,
            "createdTime": to_iso(created),
            "lastUpdatedTime": to_iso(updated),
            "programs": programs,
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace.marketplace_id,
                             "marketplaceName": marketplace.name},
            "buyer": buyer,
            "recipient": {"deliveryAddress": delivery},
            "fulfillment": {
                "fulfillmentStatus": status,
                "fulfilledBy": fulfilled_by,
                "fulfillmentServiceLevel": rng.choice(SERVICE_LEVELS),
                "shipByWindow": {"earliestDateTime": to_iso(created), "latestDateTime": to_iso(shipped_by)},
                "deliverByWindow": {"earliestDateTime": to_iso(shipped_by + timedelta(days=1)),
                                    "latestDateTime": to_iso(shipped_by + timedelta(days=5))},
            },
            "orderItems": items,
            "_sandbox": {"currency": currency, "packages": {}, "adjustments": []},
        }
        if not afn:
            doc["packages"] = []
        return doc

    def _charges(self, marketplace: Marketplace, unit_price: Decimal, quantity: int, *, shipping: Decimal,
                 gift: bool, promotion: bool, free_shipping: bool) -> dict[str, str]:
        currency = marketplace.currency
        item_total = quantize(unit_price * quantity, currency)
        gift_wrap = quantize(marketplace.gift_wrap * quantity, currency) if gift else Decimal(0)
        discount_item = -quantize(item_total * Decimal("0.10"), currency) if promotion else Decimal(0)
        discount_shipping = -shipping if free_shipping else Decimal(0)
        rate = marketplace.tax_rate
        charges = {"ITEM": item_total}
        if shipping:
            charges["SHIPPING"] = shipping
        if gift_wrap:
            charges["GIFT_WRAP"] = gift_wrap
        charges["TAX_ITEM"] = quantize((item_total + discount_item) * rate, currency)
        if shipping + discount_shipping:
            charges["TAX_SHIPPING"] = quantize((shipping + discount_shipping) * rate, currency)
        if gift_wrap:
            charges["TAX_GIFT_WRAP"] = quantize(gift_wrap * rate, currency)
        if discount_item:
            charges["DISCOUNT_ITEM"] = discount_item
        if discount_shipping:
            charges["DISCOUNT_SHIPPING"] = discount_shipping
        return {key: amount_text(value, currency) for key, value in charges.items()}


def seed_orders(n: int, seed: int, anchor: datetime) -> list[SeededOrder]:
    """N orders for seed ``seed``, created over the four days before ``anchor`` (all at least three
    minutes old, so a client's first import with the two-minute rule sees every one)."""
    rng = random.Random(seed)
    factory = OrderFactory(rng)
    categories = [category for category, count in mix_counts(n).items() for _ in range(count)]
    rng.shuffle(categories)
    mfn_unshipped = [i for i, category in enumerate(categories) if category == "UNSHIPPED_MFN"]
    rng.shuffle(mfn_unshipped)
    shares = [int(n * share) for share in (CANCEL_REQUEST_SHARE, BROKEN_PRODUCT_SHARE, LATER_CANCEL_REQUEST_SHARE)]
    cancel_requests = set(mfn_unshipped[:shares[0]])
    broken = mfn_unshipped[shares[0]:shares[0] + shares[1]]
    later_requests = set(mfn_unshipped[shares[0] + shares[1]:sum(shares)])
    broken_product = {index: BROKEN[position % len(BROKEN)] for position, index in enumerate(broken)}
    orders = []
    for index, category in enumerate(categories):
        order = _seed_one(factory, category, anchor, cancel_request=index in cancel_requests,
                          broken=broken_product.get(index))
        if index in later_requests:
            order.events.append((_between(rng, *LATER_CANCEL_REQUEST_AFTER), "cancel_request",
                                 {"reason": CANCEL_REASONS[rng.randrange(len(CANCEL_REASONS))]}))
        orders.append(order)
    return orders


BACKLOG_AFN_EVERY = 10  # one backlog order in 10 is Amazon-fulfilled (SHIPPED); the rest MFN UNSHIPPED


def backlog_orders(n: int, seed: int, first_update: datetime, last_update: datetime,
                   marketplaces: tuple[Marketplace, ...], taken_ids: set[str]) -> list[dict[str, Any]]:
    """N valid, importable orders whose lastUpdatedTime is spread evenly over [first_update, last_update]:
    healthy catalog products only, mostly merchant-fulfilled UNSHIPPED, a few promotions and gifts."""
    rng = random.Random(seed)
    factory = OrderFactory(rng, taken_ids)
    weights = [MARKETPLACE_WEIGHTS[MARKETPLACES.index(m)] for m in marketplaces]
    span = (last_update - first_update).total_seconds()
    docs = []
    for index in range(n):
        marketplace = rng.choices(marketplaces, weights=weights)[0]
        afn = index % BACKLOG_AFN_EVERY == BACKLOG_AFN_EVERY - 1
        products = rng.sample(HEALTHY, 2 if rng.random() < 0.2 else 1)
        lines = [(product, rng.choice((1, 1, 1, 2)), factory.price(product, marketplace)) for product in products]
        updated = first_update + timedelta(seconds=int(span * index / max(n - 1, 1)))
        doc = factory.build(
            marketplace=marketplace, fulfilled_by="AMAZON" if afn else "MERCHANT", lines=lines,
            created=updated - timedelta(seconds=rng.randint(60, 1800)), updated=updated, status="UNSHIPPED",
            prime=afn or rng.random() < 0.15,
            promotion_lines=frozenset(i for i in range(len(lines)) if rng.random() < 0.1),
            gift_lines=frozenset(i for i in range(len(lines)) if rng.random() < 0.05))
        if afn:
            ship_everything(doc)
        docs.append(doc)
    return docs


def _seed_one(factory: OrderFactory, category: str, anchor: datetime, *, cancel_request: bool,
              broken: Product | None) -> SeededOrder:
    rng = factory.rng
    marketplace = rng.choices(MARKETPLACES, weights=MARKETPLACE_WEIGHTS)[0]
    afn = category in ("UNSHIPPED_AFN", "SHIPPED_AFN") or (category in ("PENDING", "CANCELLED") and rng.random() < 0.3)
    multi = category == "PARTIALLY_SHIPPED_MFN" or rng.random() < 0.3
    products = rng.sample(HEALTHY, rng.randint(2, 3) if multi else 1)
    if broken is not None:
        products[-1] = broken
    lines = [(product, rng.choice((1, 1, 1, 2, 3)), factory.price(product, marketplace)) for product in products]
    if category == "PARTIALLY_SHIPPED_MFN" and len(lines) < 2:
        lines[0] = (lines[0][0], 2, lines[0][2])
    if category == "PENDING":
        age = timedelta(seconds=rng.randint(180, 1800))
    else:
        age = timedelta(seconds=rng.randint(900, 4 * 24 * 3600))
    created = anchor - age
    settled = min(created + timedelta(seconds=rng.randint(60, 3 * 3600)), anchor - timedelta(minutes=3))
    status = {"PENDING": "PENDING", "PARTIALLY_SHIPPED_MFN": "PARTIALLY_SHIPPED", "SHIPPED_AFN": "SHIPPED",
              "CANCELLED": "CANCELLED"}.get(category, "UNSHIPPED")
    promotions = frozenset(i for i in range(len(lines)) if rng.random() < 0.2)
    gifts = frozenset(i for i in range(len(lines)) if rng.random() < 0.1)
    doc = factory.build(
        marketplace=marketplace, fulfilled_by="AMAZON" if afn else "MERCHANT", lines=lines,
        created=created, updated=max(created, settled if status != "PENDING" else created), status=status,
        business=rng.random() < 0.12, prime=afn or rng.random() < 0.15, promotion_lines=promotions,
        gift_lines=gifts, free_shipping_promotion=not afn and rng.random() < 0.1)
    events: list[tuple[timedelta, str, dict[str, Any]]] = []
    if category == "PARTIALLY_SHIPPED_MFN":
        _ship_first_line(factory, doc, marketplace, settled)
    elif category == "SHIPPED_AFN":
        for item in doc["orderItems"]:
            item["fulfillment"].update(quantityFulfilled=item["quantityOrdered"], quantityUnfulfilled=0)
    elif category == "CANCELLED":
        by = rng.choice(("BUYER", "MERCHANT", "AMAZON"))
        for item in doc["orderItems"]:
            item["cancellation"] = {"cancellationExecution": {"cancelledBy": by, "cancelReason": (
                CANCEL_REASONS[rng.randrange(len(CANCEL_REASONS))] if by == "BUYER" else "NoInventory")}}
            item["fulfillment"]["quantityUnfulfilled"] = 0
    elif category == "PENDING":
        delay = _between(rng, *PENDING_RELEASE_AFTER)
        if rng.randrange(BUYER_CANCEL_SHARE_OF_PENDING) == 0:
            events.append((delay, "buyer_cancel", {"reason": CANCEL_REASONS[rng.randrange(len(CANCEL_REASONS))]}))
        else:
            # A released AFN order is then shipped by Amazon, like the seeded UNSHIPPED AFN ones.
            ship_after = _between(rng, *AFN_SHIP_AFTER).total_seconds() if afn else None
            events.append((delay, "release", {"ship_after": ship_after} if afn else {}))
    elif category == "UNSHIPPED_AFN":
        events.append((_between(rng, *AFN_SHIP_AFTER), "ship_afn", {}))
    if cancel_request:
        for item in doc["orderItems"]:
            item["cancellation"] = {"cancellationRequest": {
                "requester": "BUYER", "cancelReason": CANCEL_REASONS[rng.randrange(len(CANCEL_REASONS))]}}
    return SeededOrder(doc, events)


def _between(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    return timedelta(seconds=rng.randint(int(low.total_seconds()), int(high.total_seconds())))


def _ship_first_line(factory: OrderFactory, doc: dict[str, Any], marketplace: Marketplace, when: datetime) -> None:
    """A PARTIALLY_SHIPPED seed order: one package with the first item (one unit of it if it is the only one)."""
    first = doc["orderItems"][0]
    quantity = first["quantityOrdered"] if len(doc["orderItems"]) > 1 else first["quantityOrdered"] - 1
    first["fulfillment"].update(quantityFulfilled=quantity, quantityUnfulfilled=first["quantityOrdered"] - quantity)
    carrier = factory.rng.choice(marketplace.carriers)
    tracking = f"{factory.rng.randrange(10**11, 10**12)}"
    doc["packages"] = [{
        "packageReferenceId": "1", "createdTime": to_iso(when), "packageStatus": {"status": "SHIPPED"},
        "carrier": carrier, "shipTime": to_iso(when), "trackingNumber": tracking,
        "packageItems": [{"orderItemId": first["orderItemId"], "quantity": quantity}],
    }]
    doc["_sandbox"]["packages"]["1"] = {
        "packageReferenceId": "1", "carrierCode": carrier, "carrierName": None, "shippingMethod": None,
        "trackingNumber": tracking, "shipDate": to_iso(when), "orderItems": [[first["orderItemId"], quantity]]}
