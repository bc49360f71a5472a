"""The catalog side of the sandbox: products, their legacy stock items and MSI salable quantities.

Seeded from ``sales_channel.sandbox.catalog``: every healthy product enabled and in stock, the
``MISSING_IN_COMMERCE`` one absent, the ``DISABLED`` one present with status 2, the ``OUT_OF_STOCK`` one
present with qty 0. Orders never reserve stock here (``POST /V1/orders`` saves without a quote).
"""

from __future__ import annotations

import threading
from typing import Any

from sales_channel.sandbox.catalog import PRODUCTS, CatalogIssue, Product
from sales_channel.sandbox.commerce.errors import NO_SUCH_PRODUCT, MagentoError, bad_request, not_found
from sales_channel.sandbox.commerce.storage import StateStore, magento_time
from sales_channel.sandbox.commerce.validation import BodyValidator
from sales_channel.sandbox.common.clock import SandboxClock

ENABLED, DISABLED = 1, 2
DEFAULT_STOCK_ID = 1
DEFAULT_SOURCE = "default"
_stock_item_validator = BodyValidator("catalog-inventory-data-stock-item-interface", enforce_required=False)
NOT_ASSIGNED_TO_STOCK = "The requested sku is not assigned to given stock."


def stock_item(product_id: int, qty: float, is_in_stock: bool) -> dict[str, Any]:
    """catalog-inventory-data-stock-item-interface with Magento's default configuration values."""
    return {
        "item_id": product_id, "product_id": product_id, "stock_id": DEFAULT_STOCK_ID, "qty": float(qty),
        "is_in_stock": is_in_stock, "is_qty_decimal": False, "show_default_notification_message": False,
        "use_config_min_qty": True, "min_qty": 0.0, "use_config_min_sale_qty": 1, "min_sale_qty": 1.0,
        "use_config_max_sale_qty": True, "max_sale_qty": 10000.0, "use_config_backorders": True,
        "backorders": 0, "use_config_notify_stock_qty": True, "notify_stock_qty": 1.0,
        "use_config_qty_increments": True, "qty_increments": 0.0, "use_config_enable_qty_inc": True,
        "enable_qty_increments": False, "use_config_manage_stock": True, "manage_stock": True,
        "low_stock_date": None, "is_decimal_divided": False, "stock_status_changed_auto": 0,
    }


class CatalogService:
    def __init__(self, state: StateStore, clock: SandboxClock) -> None:
        self.state, self.clock = state, clock
        # Test switches of the control API, in memory (a reset clears them): SKUs whose salable-quantity
        # call answers "not assigned", and other channels' sales armed to land after the next stock read.
        self._lock = threading.Lock()
        self._unassigned: set[str] = set()
        self._armed_sales: dict[str, list[tuple[float, float]]] = {}

    def seed(self) -> None:
        with self._lock:
            self._unassigned.clear()
            self._armed_sales.clear()
        with self.state.transaction():
            for product in PRODUCTS:
                if product.issue is not CatalogIssue.MISSING_IN_COMMERCE:
                    self.upsert(product.sku, _seed_fields(product), record=False)

    def _find(self, sku: str) -> dict[str, Any] | None:
        # Magento's SKU lookup is case-insensitive (MySQL collation).
        found = next((p for p in self.state.all("product") if p["sku"].casefold() == sku.casefold()), None)
        return self.state.get("product", found["id"]) if found else None

    def get(self, sku: str) -> dict[str, Any]:
        product = self._find(sku)
        if product is None:
            raise not_found(NO_SUCH_PRODUCT)
        return product

    def all(self) -> list[dict[str, Any]]:
        return self.state.all("product")

    def stock_item(self, sku: str) -> dict[str, Any]:
        return self.get(sku)["extension_attributes"]["stock_item"]

    def salable_qty(self, sku: str, stock_id: int) -> float:
        item = self.stock_item(sku)
        if stock_id != DEFAULT_STOCK_ID:
            raise MagentoError(404, 'Stock with id "%value" does not exist.', {"value": stock_id})
        with self._lock:
            if sku.casefold() in self._unassigned:
                raise bad_request(NOT_ASSIGNED_TO_STOCK)
        return max(item["qty"] - item["min_qty"], 0.0) if item["is_in_stock"] else 0.0

    def assign_to_stock(self, sku: str, assigned: bool) -> dict[str, Any]:
        """Make the salable-quantity call of ``sku`` answer Magento's "not assigned to given stock" (400)."""
        product = self.get(sku)
        with self._lock:
            (self._unassigned.discard if assigned else self._unassigned.add)(product["sku"].casefold())
        return {"sku": product["sku"], "assigned": assigned}

    def sell(self, sku: str, qty: float) -> dict[str, Any]:
        """Another sales channel sells ``qty`` units: a relative change (it may oversell below zero)."""
        with self.state.transaction():
            item = self.stock_item(sku)
            return self.set_stock(sku, item["qty"] - qty)

    def arm_sale(self, sku: str, qty: float, delay_s: float) -> None:
        """Sell ``qty`` units ``delay_s`` after the next faithful read of ``sku``'s stock (see ``after_read``)."""
        product = self.get(sku)
        with self._lock:
            self._armed_sales.setdefault(product["sku"].casefold(), []).append((qty, delay_s))

    def sell_later(self, sku: str, qty: float, delay_s: float) -> None:
        timer = threading.Timer(delay_s, self.sell, (sku, qty))
        timer.daemon = True
        timer.start()

    def after_read(self, sku: str) -> None:
        """A client has just read ``sku``'s stock: the sales armed for it start now (between its read and
        whatever it writes next)."""
        with self._lock:
            sales = self._armed_sales.pop(sku.casefold(), [])
        for qty, delay_s in sales:
            if delay_s:
                self.sell_later(sku, qty, delay_s)
            else:
                self.sell(sku, qty)

    def upsert(self, sku: str, fields: dict[str, Any], record: bool = True) -> dict[str, Any]:
        """Add a product or change its name/price/status/qty (control API and seed)."""
        with self.state.transaction():
            product = self._find(sku)
            now = magento_time(self.clock.now())
            if product is None:
                product_id = self.state.next_id("product")
                product = {"id": product_id, "sku": sku, "name": sku, "attribute_set_id": 4, "price": 0.0,
                           "status": ENABLED, "visibility": 4, "type_id": "simple", "created_at": now,
                           "weight": 0.0, "extension_attributes": {
                               "website_ids": [1, 2], "stock_item": stock_item(product_id, 0, False)},
                           "custom_attributes": []}
                event = "product_added"
            else:
                event = "product_changed"
            for key in ("name", "price", "status", "weight"):
                if fields.get(key) is not None:
                    product[key] = fields[key]
            if product["status"] not in (ENABLED, DISABLED):
                raise bad_request('Invalid value of "%value" provided for the %fieldName field.',
                                  {"value": str(product["status"]), "fieldName": "status"})
            product["updated_at"] = now
            self.state.put("product", product["id"], product)
            if record:
                self.state.record(self.clock.now(), event, sku=product["sku"], status=product["status"])
            if fields.get("qty") is not None or fields.get("is_in_stock") is not None:
                self.set_stock(product["sku"], fields.get("qty"), fields.get("is_in_stock"), record=record)
            return self.get(sku)

    def remove(self, sku: str) -> None:
        with self.state.transaction():
            product = self.get(sku)
            self.state.delete("product", product["id"])
            self.state.record(self.clock.now(), "product_removed", sku=product["sku"])

    def set_stock(self, sku: str, qty: float | None, is_in_stock: bool | None = None,
                  record: bool = True) -> dict[str, Any]:
        """Change the quantity; ``is_in_stock`` follows the quantity unless given (Magento's auto status)."""
        with self.state.transaction():
            product = self.get(sku)
            item = product["extension_attributes"]["stock_item"]
            before = item["qty"]
            if qty is not None:
                item["qty"] = float(qty)
            item["is_in_stock"] = bool(is_in_stock) if is_in_stock is not None else item["qty"] > item["min_qty"]
            item["low_stock_date"] = (magento_time(self.clock.now()) if item["qty"] <= item["notify_stock_qty"]
                                      else None)
            self.state.put("product", product["id"], product)
            if record:
                self.state.record(self.clock.now(), "stock_changed", sku=product["sku"], qty_before=before,
                                  qty=item["qty"], is_in_stock=item["is_in_stock"])
            return item

    def update_stock_item(self, sku: str, body: Any) -> int:
        """PUT /V1/products/{sku}/stockItems/{itemId}: Magento resolves the item by SKU; returns its id."""
        data = _stock_item_validator.validate(body if body is not None else {}, "stockItem")
        item = self.set_stock(sku, data.get("qty"), data.get("is_in_stock"))
        return item["item_id"]

    def save_source_items(self, source_items: Any) -> None:
        """POST /V1/inventory/source-items: the single ``default`` source feeds the default stock."""
        if not isinstance(source_items, list):
            raise bad_request('"%fieldName" is required. Enter and try again.', {"fieldName": "sourceItems"})
        errors = []
        for index, source_item in enumerate(source_items):
            if not isinstance(source_item, dict) or self._find(str(source_item.get("sku", ""))) is None:
                errors.append({"message": '"%field" can not be empty.' if not isinstance(source_item, dict)
                               or not source_item.get("sku") else NO_SUCH_PRODUCT,
                               "parameters": {"field": f"sourceItems[{index}].sku"}})
            elif source_item.get("source_code", DEFAULT_SOURCE) != DEFAULT_SOURCE:
                errors.append({"message": 'Source with code "%value" does not exist.',
                               "parameters": {"value": str(source_item.get("source_code"))}})
        if errors:
            raise MagentoError(400, "Validation Failed", errors=errors)
        with self.state.transaction():
            for source_item in source_items:
                status = source_item.get("status")
                self.set_stock(source_item["sku"], source_item.get("quantity"),
                               None if status is None else bool(int(status)))


def _seed_fields(product: Product) -> dict[str, Any]:
    return {"name": product.name, "price": float(product.price_usd), "weight": float(product.weight_kg),
            "status": DISABLED if product.issue is CatalogIssue.DISABLED else ENABLED,
            "qty": 0 if product.issue is CatalogIssue.OUT_OF_STOCK else product.stock}
