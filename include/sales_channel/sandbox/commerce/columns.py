"""Magento's column lengths, applied the way its database applies them.

Magento's MySQL connections run with ``SQL_MODE=''`` (no strict mode): a string longer than its
``varchar`` column is saved cut to the column's length, in characters, without an error, and read
back cut. The lengths are the ones the import checks against (``sales_channel.commerce.limits``).
"""

from __future__ import annotations

from typing import Any

from sales_channel.commerce.limits import ADDRESS_COLUMNS, CUSTOMER_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS


def _cut(record: dict[str, Any], columns: dict[str, int]) -> None:
    for field, length in columns.items():
        value = record.get(field)
        if isinstance(value, str) and len(value) > length:
            record[field] = value[:length]


def _cut_address(address: dict[str, Any]) -> None:
    _cut(address, ADDRESS_COLUMNS)
    street = address.get("street")
    if isinstance(street, list) and all(isinstance(line, str) for line in street):
        # One column holds every line, joined by "\n": the cut can drop or shorten the last lines.
        address["street"] = "\n".join(street)[:ADDRESS_COLUMNS["street"]].split("\n")


def cut_order(order: dict[str, Any]) -> None:
    """Cut an order's texts (its own, its items' and its addresses') to their columns, in place."""
    _cut(order, ORDER_COLUMNS)
    for item in order.get("items") or []:
        _cut(item, ITEM_COLUMNS)
    addresses = [order.get("billing_address")] + [
        (assignment.get("shipping") or {}).get("address")
        for assignment in (order.get("extension_attributes") or {}).get("shipping_assignments") or []]
    for address in addresses:
        if isinstance(address, dict):
            _cut_address(address)


def cut_customer(customer: dict[str, Any]) -> None:
    _cut(customer, CUSTOMER_COLUMNS)
