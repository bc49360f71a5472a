"""Products and stock: products by SKU, legacy stock items, MSI salable quantities, stock updates."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sales_channel.commerce.errors import NotFoundError
from sales_channel.commerce.models import Product, StockItem, to_decimal
from sales_channel.commerce.resource import Resource
from sales_channel.commerce.search import Condition, SearchCriteria

DEFAULT_STOCK_ID = 1  # MSI's default stock


class Catalog(Resource):
    """The store's products and their stock."""

    def get_product(self, sku: str) -> Product:
        return Product.from_api(self._transport.call("GET", "/V1/products/{sku}", path={"sku": sku},
                                                     idempotent=True))

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        """SKU -> product for the SKUs that exist (unknown ones are absent), one call per chunk.

        SKUs are unique, so a chunk's matches always fit one page: no paging (a product's id is ``id``,
        not the ``entity_id`` the other entities page by).
        """
        found: dict[str, Product] = {}
        skus = self._strings(skus, "skus")
        # Magento splits an ``in`` condition's value on commas: a SKU holding one is looked up alone.
        for sku in [s for s in skus if "," in s]:
            try:
                found[sku] = self.get_product(sku)
            except NotFoundError:
                pass
        for chunk in self.chunking.split("skus", [s for s in skus if "," not in s]):
            criteria = SearchCriteria().where("sku", chunk, Condition.IN).page(len(chunk))
            found.update((product.sku, product) for product in self._search_page("/V1/products", criteria,
                                                                                 Product).items)
        return found

    def get_stock_item(self, sku: str) -> StockItem:
        return StockItem.from_api(self._transport.call("GET", "/V1/stockItems/{sku}", path={"sku": sku},
                                                       idempotent=True))

    def get_salable_quantity(self, sku: str, stock_id: int = DEFAULT_STOCK_ID) -> Decimal:
        """MSI salable quantity (stock minus reservations) of ``sku`` in ``stock_id``."""
        return to_decimal(self._transport.call("GET", "/V1/inventory/get-product-salable-quantity/{sku}/{stockId}",
                                               path={"sku": sku, "stockId": int(stock_id)}, idempotent=True))

    def update_stock_qty(self, sku: str, qty: Decimal | int, *, item_id: int | None = None,
                         is_in_stock: bool | None = None) -> int:
        """Set the (legacy) stock quantity of ``sku`` (of stock item ``item_id`` when the caller has just
        read it). Returns the stock item id.

        The value is absolute, but the write is not retried blindly: a repeat after a sale that Commerce
        made in between would erase that sale. A failure after sending raises ``AmbiguousWriteError``;
        the caller re-reads and decides.
        """
        qty = to_decimal(qty)
        if qty < 0:
            raise ValueError(f"sku {sku}: stock quantity must be >= 0, got {qty}")
        if item_id is None:
            item_id = self.get_stock_item(sku).item_id
        stock_item = {"qty": qty, "is_in_stock": qty > 0 if is_in_stock is None else is_in_stock}
        return int(self._transport.call("PUT", "/V1/products/{sku}/stockItems/{itemId}",
                                        path={"sku": sku, "itemId": item_id},
                                        body={"stockItem": stock_item}, idempotent=False,
                                        lookup={"sku": sku}))
