"""Products, stock items and salable quantities, seeded from sales_channel.sandbox.catalog."""

from __future__ import annotations

import pytest
from sales_channel.sandbox.catalog import BY_SKU, HEALTHY, CatalogIssue

from .support import CommerceApi, assert_magento_error, assert_schema

NO_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again."
MISSING = next(p.sku for p in BY_SKU.values() if p.issue is CatalogIssue.MISSING_IN_COMMERCE)
DISABLED = next(p.sku for p in BY_SKU.values() if p.issue is CatalogIssue.DISABLED)
OUT_OF_STOCK = next(p.sku for p in BY_SKU.values() if p.issue is CatalogIssue.OUT_OF_STOCK)


def test_every_healthy_product_is_enabled_and_in_stock(api: CommerceApi) -> None:
    for product in HEALTHY:
        body = api.get(f"products/{product.sku}").json()
        assert_schema(body, "catalog-data-product-interface")
        assert (body["sku"], body["status"], body["price"]) == (product.sku, 1, float(product.price_usd))
        stock = body["extension_attributes"]["stock_item"]
        assert stock["is_in_stock"] is True and stock["qty"] == product.stock


def test_broken_products_are_seeded_as_the_catalog_says(api: CommerceApi) -> None:
    assert_magento_error(api.get(f"products/{MISSING}"), 404, NO_PRODUCT)
    assert api.get(f"products/{DISABLED}").json()["status"] == 2
    stock = api.get(f"stockItems/{OUT_OF_STOCK}").json()
    assert (stock["qty"], stock["is_in_stock"]) == (0, False)
    assert api.get(f"inventory/get-product-salable-quantity/{OUT_OF_STOCK}/1").json() == 0


def test_product_search_by_sku_list(api: CommerceApi) -> None:
    skus = ["MUG-CERAMIC-WHT", DISABLED, MISSING]
    response = api.get("products", params={
        "searchCriteria[filterGroups][0][filters][0][field]": "sku",
        "searchCriteria[filterGroups][0][filters][0][value]": ",".join(skus),
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "in"})
    body = response.json()
    assert_schema(body, "catalog-data-product-search-results-interface")
    assert sorted(p["sku"] for p in body["items"]) == sorted(skus[:2])
    assert body["total_count"] == 2


def test_stock_item_and_salable_quantity(api: CommerceApi) -> None:
    stock = api.get("stockItems/MUG-CERAMIC-WHT").json()
    assert_schema(stock, "catalog-inventory-data-stock-item-interface")
    assert api.get("inventory/get-product-salable-quantity/MUG-CERAMIC-WHT/1").json() == stock["qty"]
    assert_magento_error(api.get(f"stockItems/{MISSING}"), 404, NO_PRODUCT)
    assert_magento_error(api.get("inventory/get-product-salable-quantity/MUG-CERAMIC-WHT/7"), 404,
                         'Stock with id "%value" does not exist.', {"value": 7})


def test_put_stock_item_changes_quantity_and_is_in_the_ledger(api: CommerceApi) -> None:
    item_id = api.get("stockItems/TEA-GREEN-100").json()["item_id"]
    response = api.put(f"products/TEA-GREEN-100/stockItems/{item_id}", {"stockItem": {"qty": 3, "is_in_stock": True}})
    assert response.status_code == 200 and response.json() == item_id
    assert api.get("inventory/get-product-salable-quantity/TEA-GREEN-100/1").json() == 3
    event = api.ledger(event="stock_changed")[-1]
    assert (event["sku"], event["qty_before"], event["qty"]) == ("TEA-GREEN-100", 500, 3)
    assert_magento_error(api.put(f"products/{MISSING}/stockItems/1", {"stockItem": {"qty": 1}}), 404, NO_PRODUCT)
    wrong_type = api.put(f"products/TEA-GREEN-100/stockItems/{item_id}", {"stockItem": {"qty": "lots"}})
    assert_magento_error(wrong_type, 400, 'Error occurred during "%field_name" processing. %details')
    assert wrong_type.json()["parameters"]["field_name"] == "stockItem.qty"
    assert len(api.ledger(event="stock_changed")) == 1


def test_source_items_set_quantity_and_reject_unknown_skus(api: CommerceApi) -> None:
    ok = api.post("inventory/source-items", {"sourceItems": [
        {"sku": "MUG-CERAMIC-BLK", "source_code": "default", "quantity": 0, "status": 0}]})
    assert ok.status_code == 200 and ok.json() == []
    assert api.get("stockItems/MUG-CERAMIC-BLK").json()["is_in_stock"] is False
    refused = api.post("inventory/source-items", {"sourceItems": [
        {"sku": MISSING, "source_code": "default", "quantity": 5, "status": 1}]})
    assert_magento_error(refused, 400, "Validation Failed")
    assert refused.json()["errors"][0]["message"] == NO_PRODUCT


@pytest.mark.parametrize("status", [1, 2])
def test_control_api_enables_disables_adds_and_removes_products(api: CommerceApi, status: int) -> None:
    added = api.control("PUT", "products/NEW-SKU-1", json={"name": "New", "price": 5, "status": status, "qty": 7})
    assert added.status_code == 200
    body = api.get("products/NEW-SKU-1").json()
    assert (body["status"], body["extension_attributes"]["stock_item"]["qty"]) == (status, 7)
    assert api.control("PUT", "products/MUG-CERAMIC-WHT", json={"status": 2}).status_code == 200
    assert api.get("products/MUG-CERAMIC-WHT").json()["status"] == 2
    assert api.control("PUT", "products/MUG-CERAMIC-WHT/stock", json={"qty": 0}).json()["is_in_stock"] is False
    assert api.control("DELETE", "products/NEW-SKU-1").status_code == 200
    assert_magento_error(api.get("products/NEW-SKU-1"), 404, NO_PRODUCT)
    events = [e["event"] for e in api.ledger()]
    assert events[:1] == ["product_added"] and "product_removed" in events and "stock_changed" in events
