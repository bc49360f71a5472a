"""Helpers of the Commerce sandbox tests: an HTTP client that speaks to the sandbox with a token, a
realistic order body, and validation against the JSON Schemas derived from Adobe's published model
(tests/contract/models/commerce)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import requests
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

SCHEMAS = Path(__file__).resolve().parents[2] / "contract" / "models" / "commerce"
TOKEN = DEFAULT_CREDENTIALS["commerce_token"]


def _allow_null_for_required(schema: dict[str, Any]) -> dict[str, Any]:
    """Magento sends ``null`` for an unset non-nullable getter (a ``required`` property of the model)."""
    for definition in [schema, *schema.get("definitions", {}).values()]:
        properties = definition.get("properties", {})
        for name in definition.get("required", []):
            prop = properties.get(name)
            if prop is None:
                continue
            if "$ref" in prop:
                properties[name] = {"anyOf": [prop, {"type": "null"}]}
            elif isinstance(prop.get("type"), str):
                properties[name] = {**prop, "type": [prop["type"], "null"]}
    return schema


def _allow_named_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """The model lists error ``parameters`` as an array of objects; Magento sends an object for ``%name``
    placeholders and an array of values for ``%1`` placeholders."""
    definitions = schema.get("definitions", {})
    if "error-parameters" in definitions:
        definitions["error-parameters"] = {"anyOf": [
            definitions["error-parameters"], {"type": "object"},
            {"type": "array", "items": {"type": ["string", "number"]}}]}
    return schema


@cache
def _validator(name: str) -> jsonschema.Draft7Validator:
    schema = _allow_named_parameters(_allow_null_for_required(json.loads((SCHEMAS / f"{name}.json").read_text())))
    return jsonschema.Draft7Validator(schema)


def assert_schema(body: Any, name: str) -> None:
    """``body`` is valid against the derived schema ``name`` (e.g. ``sales-data-order-interface``)."""
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def assert_magento_error(response: requests.Response, status: int, message: str,
                         parameters: Any = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert_schema(body, "error-response")
    assert body["message"] == message
    if parameters is not None:
        assert body["parameters"] == parameters


class CommerceApi:
    """A thin client of the sandbox: ``api.get("orders/1")`` → GET <url>/rest/<store>/V1/orders/1."""

    def __init__(self, url: str, token: str | None = TOKEN, store: str = "default") -> None:
        self.url, self.store = url, store
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def v1(self, path: str, store: str | None = None) -> str:
        return f"{self.url}/rest/{store or self.store}/V1/{path}"

    def get(self, path: str, store: str | None = None, **kw: Any) -> requests.Response:
        return self.session.get(self.v1(path, store), timeout=10, **kw)

    def post(self, path: str, json: Any = None, store: str | None = None, **kw: Any) -> requests.Response:
        return self.session.post(self.v1(path, store), json=json, timeout=10, **kw)

    def put(self, path: str, json: Any = None, store: str | None = None, **kw: Any) -> requests.Response:
        return self.session.put(self.v1(path, store), json=json, timeout=10, **kw)

    def control(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}/_sandbox/{path}", timeout=10, **kw)

    def ledger(self, **params: Any) -> list[dict[str, Any]]:
        response = self.control("GET", "ledger", params=params)
        assert response.status_code == 200
        return response.json()["events"]

    def create_order(self, entity: dict[str, Any] | None = None, store: str | None = None) -> dict[str, Any]:
        response = self.post("orders", {"entity": entity or order_entity()}, store=store)
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, entity_id: int) -> dict[str, Any]:
        response = self.get(f"orders/{entity_id}")
        assert response.status_code == 200, response.text
        return response.json()


ADDRESS = {"city": "Seattle", "country_id": "US", "firstname": "Ada", "lastname": "Lovelace",
           "postcode": "98109", "telephone": "+1 206 555 0100", "street": ["410 Terry Ave N"],
           "region_code": "WA", "email": "buyer@marketplace.amazon.com"}

_ORDER = {
    "base_grand_total": 43.97, "grand_total": 43.97, "subtotal": 38.98, "base_subtotal": 38.98,
    "shipping_amount": 4.99, "base_shipping_amount": 4.99, "tax_amount": 0.0, "discount_amount": 0.0,
    "customer_email": "buyer@marketplace.amazon.com", "customer_is_guest": 1,
    "customer_firstname": "Ada", "customer_lastname": "Lovelace", "order_currency_code": "USD",
    "ext_order_id": "113-0000001-0000001",
    "items": [
        {"sku": "MUG-CERAMIC-WHT", "name": "Ceramic Coffee Mug, White, 350 ml", "qty_ordered": 2,
         "price": 12.99, "base_price": 12.99, "row_total": 25.98, "ext_order_item_id": "11111111111111"},
        {"sku": "TEA-GREEN-100", "name": "Organic Green Tea, 100 bags", "qty_ordered": 1, "price": 13.0,
         "base_price": 13.0, "row_total": 13.0, "ext_order_item_id": "22222222222222"},
    ],
    "payment": {"method": "checkmo", "account_status": "active", "cc_last4": "",
                "additional_information": ["Amazon", "113-0000001-0000001"]},
    "billing_address": {**ADDRESS, "address_type": "billing"},
    "extension_attributes": {"shipping_assignments": [{
        "shipping": {"address": {**ADDRESS, "address_type": "shipping"}, "method": "flatrate_flatrate"},
        "items": []}]},
}


def order_entity(**overrides: Any) -> dict[str, Any]:
    """A realistic order body (the shape the import sends), with top-level fields overridden."""
    entity = copy.deepcopy(_ORDER)
    entity.update(overrides)
    return entity


CREDENTIALS_BODY = {"username": DEFAULT_CREDENTIALS["commerce_admin_username"],
                    "password": DEFAULT_CREDENTIALS["commerce_admin_password"]}
