"""The products both sandboxes agree on: what the Amazon seed sells and the Commerce seed stocks.

Most SKUs exist in Commerce, enabled and in stock. A few are deliberately broken so that the import's
quarantine paths are exercised by ``make run`` and the tests: one SKU Amazon sells that Commerce does
not know, one disabled product, one product out of stock, and one Amazon seller SKU that differs from
its Commerce SKU (resolved through the channel's SKU map).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class CatalogIssue(StrEnum):
    NONE = "none"
    MISSING_IN_COMMERCE = "missing_in_commerce"
    DISABLED = "disabled"
    OUT_OF_STOCK = "out_of_stock"


@dataclass(frozen=True)
class Product:
    sku: str  # the Commerce SKU (and the Amazon seller SKU unless ``amazon_sku`` says otherwise)
    name: str
    price_usd: Decimal
    weight_kg: Decimal
    stock: int = 500
    issue: CatalogIssue = CatalogIssue.NONE
    amazon_sku: str | None = None
    asin: str = ""

    @property
    def seller_sku(self) -> str:
        return self.amazon_sku or self.sku


def _p(sku: str, name: str, price: str, weight: str, asin: str, **kw: object) -> Product:
    return Product(sku=sku, name=name, price_usd=Decimal(price), weight_kg=Decimal(weight), asin=asin, **kw)


PRODUCTS: tuple[Product, ...] = (
    _p("MUG-CERAMIC-WHT", "Ceramic Coffee Mug, White, 350 ml", "12.99", "0.40", "B0CMUG0001"),
    _p("MUG-CERAMIC-BLK", "Ceramic Coffee Mug, Black, 350 ml", "12.99", "0.40", "B0CMUG0002"),
    _p("TEA-GREEN-100", "Organic Green Tea, 100 bags", "8.49", "0.25", "B0CTEA0003"),
    _p("TEA-MATCHA-50G", "Ceremonial Matcha 50 g", "24.90", "0.08", "B0CTEA0004"),
    _p("KETTLE-GOOSE-1L", "Gooseneck Kettle 1 L, Stainless", "59.00", "1.10", "B0CKET0005"),
    _p("GRINDER-BURR-01", "Conical Burr Coffee Grinder", "89.95", "1.60", "B0CGRI0006"),
    _p("FILTER-PAPER-100", "Paper Filters #4, 100 pcs", "4.75", "0.20", "B0CFIL0007"),
    _p("SCALE-DIGITAL-02", "Digital Brew Scale with Timer", "34.50", "0.55", "B0CSCA0008"),
    _p("BEANS-ETH-1KG", "Ethiopia Yirgacheffe Beans 1 kg", "42.00", "1.05", "B0CBEA0009"),
    _p("BEANS-COL-250G", "Colombia Supremo Beans 250 g", "13.25", "0.27", "B0CBEA0010"),
    _p("CUP-TRAVEL-450", "Insulated Travel Cup 450 ml", "27.99", "0.35", "B0CCUP0011"),
    _p("TEAPOT-CAST-800", "Cast Iron Teapot 800 ml", "64.00", "1.90", "B0CPOT0012"),
    _p("CHOPSTICK-SET-5", "Wooden Chopstick Set, 5 pairs", "15.40", "0.15", "B0CCHO0013"),
    _p("BOWL-RAMEN-2", "Ramen Bowl Set of 2", "38.00", "1.40", "B0CBOW0014"),
    _p("COASTER-CORK-6", "Cork Coasters, 6 pcs", "9.99", "0.10", "B0CCOA0015"),
    _p("APRON-LINEN-NAT", "Linen Apron, Natural", "29.00", "0.30", "B0CAPR0016"),
    _p("FRENCH-PRESS-1L", "French Press 1 L", "31.90", "0.90", "B0CFRE0017", amazon_sku="FP-1000-AMZ"),
    # Deliberately broken for the quarantine paths:
    _p("GIFTCARD-PHYS-50", "Physical Gift Card 50", "50.00", "0.05", "B0CGIF0018",
       issue=CatalogIssue.MISSING_IN_COMMERCE),
    _p("MILK-FROTHER-OLD", "Milk Frother (discontinued)", "19.99", "0.30", "B0CMIL0019",
       issue=CatalogIssue.DISABLED),
    _p("CANISTER-VAC-1L", "Vacuum Coffee Canister 1 L", "22.00", "0.45", "B0CCAN0020",
       stock=0, issue=CatalogIssue.OUT_OF_STOCK),
)

BY_SKU = {p.sku: p for p in PRODUCTS}
BY_SELLER_SKU = {p.seller_sku: p for p in PRODUCTS}
HEALTHY = tuple(p for p in PRODUCTS if p.issue is CatalogIssue.NONE)
BROKEN = tuple(p for p in PRODUCTS if p.issue is not CatalogIssue.NONE)
