"""Input validation and type conversion of request bodies against Adobe's published model.

Magento's web API deserializer converts each field to the type the data interface declares (numeric
strings become numbers, numbers become strings, ``"1"``/``"true"`` become booleans), rejects what it
cannot convert, rejects unknown properties and enforces the interface's required fields. The errors
name the field by its path in the body (``items[0].sku``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from sales_channel.sandbox.commerce.errors import FIELD_PROCESSING, INVALID_TYPE, bad_request, required_field

SCHEMAS = Path(__file__).resolve().parent / "schemas"
_PHP_TYPES = {"string": "string", "number": "float", "integer": "int", "boolean": "bool", "array": "array",
              "object": "object"}


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def _camel(text: str, separator: str) -> str:
    return "".join(part.capitalize() for part in text.split(separator))


def _class_name(definition: str) -> str:
    """``sales-data-order-item-interface`` → ``Magento\\Sales\\Api\\Data\\OrderItemInterface``."""
    module, _, rest = definition.partition("-data-")
    return f"Magento\\{_camel(module, '-')}\\Api\\Data\\{_camel(rest, '-')}"


def _type_error(path: str, value: Any, declared: str) -> Exception:
    shown = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return bad_request(FIELD_PROCESSING, {
        "field_name": path, "details": INVALID_TYPE.format(value=shown, type=_PHP_TYPES.get(declared, declared))})


class BodyValidator:
    """Validate and convert one body against a root definition of the derived schema."""

    def __init__(self, schema_name: str, enforce_required: bool = True) -> None:
        schema = load_schema(schema_name)
        self.root, self.enforce_required = schema_name, enforce_required
        self.definitions: dict[str, Any] = schema["definitions"]

    def validate(self, body: Any, path: str = "") -> dict[str, Any]:
        return self._object(self.root, body, path)

    def _object(self, definition: str, value: Any, path: str) -> dict[str, Any]:
        spec = self.definitions[definition]
        if not isinstance(value, dict):
            raise _type_error(path or definition, value, "object")
        properties = spec.get("properties", {})
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if key not in properties:
                camel = _camel(key, "_")
                raise bad_request('Property "%1" does not have accessor method "%2" in class "%3".',
                                  [camel, f"get{camel}", _class_name(definition)])
            if item is None:
                continue  # Magento treats an explicit null as "not set"
            converted[key] = self._value(properties[key], item, f"{path}.{key}" if path else key)
        for key in spec.get("required", []) if self.enforce_required else ():
            if key not in converted:
                raise required_field(f"{path}.{key}" if path else key)
        return converted

    def _value(self, spec: dict[str, Any], value: Any, path: str) -> Any:
        ref = spec.get("$ref")
        if ref:
            return self._object(ref.removeprefix("#/definitions/"), value, path)
        declared = spec.get("type")
        if declared == "array":
            if not isinstance(value, list):
                raise _type_error(path, value, "array")
            return [self._value(spec.get("items", {}), item, f"{path}[{i}]") for i, item in enumerate(value)]
        return self._scalar(declared, value, path)

    @staticmethod
    def _scalar(declared: str | None, value: Any, path: str) -> Any:
        if declared == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
        elif declared == "number":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
        elif declared == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
        elif declared == "boolean":
            if isinstance(value, bool):
                return value
            if value in (0, 1, "0", "1", "true", "false"):
                return value in (1, "1", "true")
        else:
            return value  # an untyped field (``mixed``): kept as sent
        raise _type_error(path, value, declared)
