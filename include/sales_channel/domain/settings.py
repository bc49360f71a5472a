"""Per-store settings, like the Adobe extension's and beyond, validated against a JSON Schema.

They live in the Airflow Variable ``sales_channel_stores`` (JSON: store key → settings) so an ops
person edits them without a deploy. An invalid document fails with a message naming the store and
the field, and nothing is changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import jsonschema

from sales_channel.domain.amazon_order import parse_time

# A store's key in the settings document (also how a person names a store in a trigger form).
STORE_KEY_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$"
CANCEL_REASONS = [
    "NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled", "GeneralAdjustment",
    "CarrierCreditDecision", "RiskAssessmentInformationNotValid", "CarrierCoverageFailure", "CustomerReturn",
    "MerchandiseNotReceived",
]


class CustomerCreation(StrEnum):
    GUEST = "guest"
    CREATE = "create"


class OrderNumberSource(StrEnum):
    COMMERCE = "commerce"
    AMAZON = "amazon"


class StockHandling(StrEnum):
    DECREMENT = "decrement"  # lower the salable quantity of imported merchant-fulfilled items
    RESERVE = "reserve"  # the same, recorded as a reservation released when the order ships or cancels
    LEAVE = "leave"  # stock is managed elsewhere


class UntrackedShipments(StrEnum):
    CONFIRM = "confirm"  # confirm to Amazon without a tracking number
    HOLD = "hold"  # wait until the shipment has a tracking number


_STORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["amazon_conn_id", "marketplace_ids", "commerce_conn_id", "store_code", "connected_since"],
    "properties": {
        "active": {"type": "boolean", "default": True, "description": "inactive stores are not synced"},
        "amazon_conn_id": {"type": "string", "minLength": 1, "description": "Airflow connection of the seller account"},
        "marketplace_ids": {"type": "array", "minItems": 1, "uniqueItems": True,
                            "items": {"type": "string", "pattern": "^[A-Z0-9]{10,14}$"}},
        "commerce_conn_id": {"type": "string", "minLength": 1},
        "store_code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "store_id": {"type": "integer", "minimum": 0, "default": 1},
        "connected_since": {"type": "string", "format": "date-time",
                            "description": "orders created before this moment are never imported"},
        "import_enabled": {"type": "boolean", "default": True},
        "customer_creation": {"enum": [c.value for c in CustomerCreation], "default": "guest"},
        "placeholder_email": {"type": "string", "pattern": "^[^@\\s]*\\{order_id\\}[^@\\s]*@[^@\\s]+\\.[^@\\s]+$",
                              "default": "{order_id}@marketplace.amazon.invalid",
                              "description": "used when Amazon gives no buyer email (FBA); {order_id} required"},
        "order_number_source": {"enum": [s.value for s in OrderNumberSource], "default": "commerce"},
        "order_number_prefixes": {
            "type": "object", "additionalProperties": False,
            "properties": {k: {"type": "string", "maxLength": 10, "pattern": "^[A-Za-z0-9_-]*$"}
                           for k in ("regular", "fba", "prime", "business")},
        },
        "imported_order_status": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "default": "processing"},
        "stock_handling": {"enum": [s.value for s in StockHandling], "default": "decrement"},
        "import_fba_orders": {"type": "boolean", "default": True},
        "auto_invoice": {"type": "boolean", "default": True},
        "shipments_without_tracking": {"enum": [s.value for s in UntrackedShipments], "default": "hold"},
        "default_cancellation_reason": {"enum": CANCEL_REASONS, "default": "NoInventory"},
        "accept_buyer_cancellations": {"type": "boolean", "default": True},
        "read_only": {"type": "boolean", "default": False,
                      "description": "blocks every outgoing state-changing call (staging copies)"},
    },
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Amazon Sales Channel stores",
    "type": "object",
    "minProperties": 1,
    "propertyNames": {"pattern": STORE_KEY_PATTERN},
    "additionalProperties": _STORE_SCHEMA,
}


class SettingsError(ValueError):
    """The settings document is invalid; the message names the store and the field."""


@dataclass(frozen=True)
class StoreSettings:
    key: str
    amazon_conn_id: str
    marketplace_ids: tuple[str, ...]
    commerce_conn_id: str
    store_code: str
    connected_since: datetime
    store_id: int = 1
    active: bool = True
    import_enabled: bool = True
    customer_creation: CustomerCreation = CustomerCreation.GUEST
    placeholder_email: str = "{order_id}@marketplace.amazon.invalid"
    order_number_source: OrderNumberSource = OrderNumberSource.COMMERCE
    prefix_regular: str = ""
    prefix_fba: str = ""
    prefix_prime: str = ""
    prefix_business: str = ""
    imported_order_status: str = "processing"
    stock_handling: StockHandling = StockHandling.DECREMENT
    import_fba_orders: bool = True
    auto_invoice: bool = True
    shipments_without_tracking: UntrackedShipments = UntrackedShipments.HOLD
    default_cancellation_reason: str = "NoInventory"
    accept_buyer_cancellations: bool = True
    read_only: bool = False

    def to_json(self) -> dict[str, Any]:
        """The store's settings as the schema's JSON (round-trips through ``parse_settings``)."""
        return {
            "active": self.active, "amazon_conn_id": self.amazon_conn_id,
            "marketplace_ids": list(self.marketplace_ids), "commerce_conn_id": self.commerce_conn_id,
            "store_code": self.store_code, "store_id": self.store_id,
            "connected_since": self.connected_since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "import_enabled": self.import_enabled, "customer_creation": self.customer_creation.value,
            "placeholder_email": self.placeholder_email, "order_number_source": self.order_number_source.value,
            "order_number_prefixes": {"regular": self.prefix_regular, "fba": self.prefix_fba,
                                      "prime": self.prefix_prime, "business": self.prefix_business},
            "imported_order_status": self.imported_order_status, "stock_handling": self.stock_handling.value,
            "import_fba_orders": self.import_fba_orders, "auto_invoice": self.auto_invoice,
            "shipments_without_tracking": self.shipments_without_tracking.value,
            "default_cancellation_reason": self.default_cancellation_reason,
            "accept_buyer_cancellations": self.accept_buyer_cancellations, "read_only": self.read_only,
        }


def _error_message(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if not path:
        return f"stores settings: {error.message}"
    store, fields = path[0], ".".join(str(p) for p in path[1:])
    if error.validator == "required":
        missing = error.message.split("'")[1]
        fields = f"{fields}.{missing}" if fields else missing
        return f"store {store!r}: field {fields!r} is required"
    if not fields:
        return f"store {store!r}: {error.message}"
    return f"store {store!r}: field {fields!r}: {error.message}"


@dataclass(frozen=True)
class StoresDocument:
    """The stores' settings, each store validated on its own: one store's mistake never stops the others."""

    valid: dict[str, StoreSettings]
    invalid: dict[str, str]  # store key → what is wrong, naming the field

    def accounts(self) -> dict[str, list[StoreSettings]]:
        """The active valid stores by seller account (one Amazon search serves all of an account's stores)."""
        by_account: dict[str, list[StoreSettings]] = {}
        for store in self.valid.values():
            if store.active:
                by_account.setdefault(store.amazon_conn_id, []).append(store)
        return by_account


# searchOrders takes at most 50 marketplaces per call.
MAX_MARKETPLACES_PER_ACCOUNT = 50


def parse_stores(document: str | dict[str, Any]) -> StoresDocument:
    """Validate the stores' settings (JSON text or an already decoded object), store by store.

    A document that is not a JSON object of stores raises ``SettingsError``; a store with an invalid
    field is listed in ``invalid`` with the store and the field named, and the others stay valid. Two
    active stores of one seller account that take the same marketplace are both invalid: an order of
    that marketplace could go to either.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"stores settings are not valid JSON: {exc}") from None
    validator = jsonschema.Draft202012Validator(SETTINGS_SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if any(not e.absolute_path for e in errors):
        raise SettingsError("; ".join(_error_message(e) for e in errors if not e.absolute_path))
    invalid: dict[str, list[str]] = {}
    for error in errors:
        invalid.setdefault(str(error.absolute_path[0]), []).append(_error_message(error))
    valid: dict[str, StoreSettings] = {}
    for key, raw in document.items():
        if key in invalid:
            continue
        try:
            valid[key] = _store(key, raw)
        except SettingsError as exc:
            invalid[key] = [str(exc)]
    for problem, keys in _marketplace_conflicts(valid.values()).items():
        for key in keys:
            invalid.setdefault(key, []).append(f"store {key!r}: field 'marketplace_ids': {problem}")
            valid.pop(key, None)
    return StoresDocument(valid=valid, invalid={key: "; ".join(problems) for key, problems in invalid.items()})


def _marketplace_conflicts(stores: Any) -> dict[str, list[str]]:
    owners: dict[tuple[str, str], list[str]] = {}
    for store in stores:
        if store.active:
            for marketplace in store.marketplace_ids:
                owners.setdefault((store.amazon_conn_id, marketplace), []).append(store.key)
    conflicts = {f"marketplace {marketplace} of {account!r} is taken by several active stores ({', '.join(keys)})": keys
                 for (account, marketplace), keys in owners.items() if len(keys) > 1}
    per_account: dict[str, set[str]] = {}
    for account, marketplace in owners:
        per_account.setdefault(account, set()).add(marketplace)
    for account, marketplaces in per_account.items():
        if len(marketplaces) > MAX_MARKETPLACES_PER_ACCOUNT:
            keys = sorted({k for (a, _), ks in owners.items() if a == account for k in ks})
            conflicts[f"the active stores of {account!r} take {len(marketplaces)} marketplaces; "
                      f"one search takes at most {MAX_MARKETPLACES_PER_ACCOUNT}"] = keys
    return conflicts


def parse_settings(document: str | dict[str, Any]) -> dict[str, StoreSettings]:
    """Validate and parse the stores' settings; any invalid store raises ``SettingsError`` (the CLI and
    tests, where one wrong store should stop the command)."""
    stores = parse_stores(document)
    if stores.invalid:
        raise SettingsError("; ".join(stores.invalid.values()))
    return stores.valid


_ENUM_FIELDS = {"customer_creation": CustomerCreation, "order_number_source": OrderNumberSource,
                "stock_handling": StockHandling, "shipments_without_tracking": UntrackedShipments}


def _store(key: str, raw: dict[str, Any]) -> StoreSettings:
    values = {k: v for k, v in raw.items() if k not in ("order_number_prefixes", "connected_since")}
    values.update({name: enum(values[name]) for name, enum in _ENUM_FIELDS.items() if name in values})
    values["marketplace_ids"] = tuple(raw["marketplace_ids"])
    values.update({f"prefix_{k}": v for k, v in raw.get("order_number_prefixes", {}).items()})
    return StoreSettings(key=key, connected_since=_parse_since(key, raw["connected_since"]), **values)


def _parse_since(key: str, value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise SettingsError(f"store {key!r}: field 'connected_since': {exc} (e.g. 2026-11-01T00:00:00Z)") from None
