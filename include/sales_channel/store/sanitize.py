"""Keeping buyer PII out of the channel database.

Amazon's data protection policy limits how long buyer data may be kept and requires it encrypted; the
product needs none of it after the Commerce order exists (what must be retried is re-read from
Amazon). So an order snapshot is stored without the buyer's identity, delivery address, tax
registration, gift message or customization, and free-form JSON written here (event details, outbox
payloads) is refused when it carries a key that names buyer data.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

# Parts of an Orders API v2026-01-01 Order that describe the buyer (published model, see
# shared/reference/amazon-sp-api.md): removed wherever they occur in a snapshot.
AMAZON_PII_KEYS = frozenset({
    "buyer",  # buyerName, buyerEmail, buyerCompanyName, buyerPurchaseOrderNumber
    "recipient",  # deliveryAddress (name, address lines, phone), deliveryPreference
    "taxRegistrations",  # the buyer's legal name, tax number and address (business orders)
    "giftMessage",  # free text from the buyer, often with names
    "customization",  # link to the buyer's personalisation of an item
})

# Keys that name buyer data in any JSON this package stores (Amazon's and Commerce's spellings),
# compared case-insensitively and ignoring "_".
_PII_KEY_NAMES = frozenset(k.lower().replace("_", "") for k in AMAZON_PII_KEYS | {
    "buyerName", "buyerEmail", "buyerCompanyName", "deliveryAddress", "shippingAddress", "billingAddress",
    "billing_address", "address", "addressLine1", "addressLine2", "addressLine3", "street", "postalCode",
    "postcode", "phone", "telephone", "email", "customer_email", "customer_firstname", "customer_lastname",
    "customer_middlename", "firstname", "lastname", "middlename", "taxRegistrationNumber", "legalName",
})


def strip_buyer_pii(order: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of an Amazon order without buyer data (``order`` itself is left unchanged)."""
    return _without_keys(copy.deepcopy(order), AMAZON_PII_KEYS)


def find_pii_keys(document: Any, path: str = "$") -> list[str]:
    """The JSON paths of keys in ``document`` that name buyer data (empty when there is none)."""
    return list(_pii_paths(document, path))


def ensure_no_pii(document: Any, what: str) -> None:
    """Refuse to store ``document`` when it holds buyer data; ``what`` names it in the error."""
    found = find_pii_keys(document)
    if found:
        raise ValueError(f"{what} holds buyer data at {', '.join(found)}: the channel database keeps no buyer PII")


def _without_keys(node: Any, keys: frozenset[str]) -> Any:
    if isinstance(node, dict):
        for key in [k for k in node if k in keys]:
            del node[key]
        for value in node.values():
            _without_keys(value, keys)
    elif isinstance(node, list):
        for value in node:
            _without_keys(value, keys)
    return node


def _pii_paths(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).lower().replace("_", "") in _PII_KEY_NAMES:
                yield f"{path}.{key}"
            else:
                yield from _pii_paths(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _pii_paths(value, f"{path}[{index}]")
