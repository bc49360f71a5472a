"""Keeping buyer PII out of the channel database.

Amazon's data protection policy limits how long buyer data may be kept and requires it encrypted; the
product needs none of it after the Commerce order exists (what must be retried is re-read from
Amazon). So an order snapshot is stored without the buyer's identity, delivery address, tax
registration, gift message or customization, and free-form JSON written here (event details, outbox
payloads) is refused when it carries a key that names buyer data.

Every walk here is iterative: Amazon's JSON may nest to any depth, and a recursive walk would end in
RecursionError instead of an answer.
"""

from __future__ import annotations

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


def strip_buyer_pii(order: Any) -> Any:
    """A deep copy of an Amazon order without buyer data (``order`` itself is left unchanged)."""
    return _copy_without_keys(order, AMAZON_PII_KEYS)


def find_pii_keys(document: Any, path: str = "$") -> list[str]:
    """The JSON paths of keys in ``document`` that name buyer data (empty when there is none)."""
    return list(_pii_paths(document, path))


def ensure_no_pii(document: Any, what: str) -> None:
    """Refuse to store ``document`` when it holds buyer data; ``what`` names it in the error."""
    found = find_pii_keys(document)
    if found:
        raise ValueError(f"{what} holds buyer data at {', '.join(found)}: the channel database keeps no buyer PII")


def _copy_without_keys(node: Any, keys: frozenset[str]) -> Any:
    """A copy of the JSON value ``node`` whose objects lack ``keys``, at every depth."""
    def fresh(value: Any) -> Any:
        return {} if isinstance(value, dict) else [] if isinstance(value, list) else value

    root = fresh(node)
    pending = [(node, root)] if isinstance(node, dict | list) else []
    while pending:
        source, target = pending.pop()
        entries = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in entries:
            if isinstance(source, dict) and key in keys:
                continue
            copied = fresh(value)
            if isinstance(value, dict | list):
                pending.append((value, copied))
            if isinstance(target, dict):
                target[key] = copied
            else:
                target.append(copied)  # entries come in order: the list keeps its order
    return root


def _pii_paths(node: Any, path: str) -> Iterator[str]:
    """Depth first, in document order; a key naming buyer data is reported, its value not walked."""
    pending: list[tuple[Any, str, bool]] = [(node, path, False)]
    while pending:
        node, path, names_buyer_data = pending.pop()
        if names_buyer_data:
            yield path
        elif isinstance(node, dict):
            pending.extend(reversed([(value, f"{path}.{key}", str(key).lower().replace("_", "") in _PII_KEY_NAMES)
                                     for key, value in node.items()]))
        elif isinstance(node, list):
            pending.extend(reversed([(value, f"{path}[{index}]", False) for index, value in enumerate(node)]))
