"""Derive JSON Schemas (draft-07) from Adobe's published Swagger 2.0 model of the Commerce REST API.

Usage (from the project root)::

    git -C /work/.mirror/AdobeDocs+commerce-webapi/repo show HEAD:src/openapi/admin-schema-2.4.8.yaml \\
        > /tmp/admin-schema-2.4.8.yaml
    .venv/bin/python tests/contract/models/commerce/derive_schemas.py /tmp/admin-schema-2.4.8.yaml

Each root definition becomes ``<definition>.json`` here: the definition itself plus every definition it
reaches through ``$ref`` (kept under ``definitions`` so the references resolve unchanged). The order
schema is also written into the sandbox package, which validates ``POST /V1/orders`` bodies with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PACKAGE_SCHEMAS = HERE.parents[3] / "include" / "sales_channel" / "sandbox" / "commerce" / "schemas"

ROOTS = (
    "sales-data-order-interface",
    "sales-data-order-search-result-interface",
    "sales-data-order-status-history-interface",
    "sales-data-order-status-history-search-result-interface",
    "sales-data-invoice-interface",
    "sales-data-invoice-search-result-interface",
    "sales-data-shipment-interface",
    "sales-data-shipment-search-result-interface",
    "sales-data-shipment-track-interface",
    "sales-data-creditmemo-interface",
    "sales-data-creditmemo-search-result-interface",
    "catalog-data-product-interface",
    "catalog-data-product-search-results-interface",
    "catalog-inventory-data-stock-item-interface",
    "store-data-store-interface",
    "store-data-store-config-interface",
    "directory-data-currency-information-interface",
    "customer-data-customer-interface",
    "customer-data-customer-search-results-interface",
    "error-response",
)
# Written into the package as well: the sandbox validates the bodies it receives with them.
PACKAGE_ROOTS = ("sales-data-order-interface", "sales-data-order-status-history-interface",
                 "sales-data-shipment-track-interface", "catalog-inventory-data-stock-item-interface",
                 "customer-data-customer-interface")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.removeprefix("#/definitions/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def derive(definitions: dict[str, Any], root: str, origin: str) -> dict[str, Any]:
    """The JSON Schema of ``root``: its definition plus the closure of the definitions it references."""
    closure, pending = set(), [root]
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        pending.extend(_refs(definitions[name]) - closure)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$comment": origin, "title": root}
    schema.update(definitions[root])
    schema["definitions"] = {name: definitions[name] for name in sorted(closure)}
    return schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("swagger", type=Path, help="admin-schema-2.4.8.yaml")
    parser.add_argument("--origin", default="AdobeDocs/commerce-webapi@e2275b562 src/openapi/admin-schema-2.4.8.yaml")
    args = parser.parse_args()
    definitions = yaml.safe_load(args.swagger.read_text())["definitions"]
    PACKAGE_SCHEMAS.mkdir(parents=True, exist_ok=True)
    for root in ROOTS:
        text = json.dumps(derive(definitions, root, args.origin), indent=1, sort_keys=True) + "\n"
        (HERE / f"{root}.json").write_text(text)
        if root in PACKAGE_ROOTS:
            (PACKAGE_SCHEMAS / f"{root}.json").write_text(text)
    print(f"wrote {len(ROOTS)} schemas to {HERE}")


if __name__ == "__main__":
    main()
