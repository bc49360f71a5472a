"""What the Amazon sandbox tests share: the published models (tests/contract/models/amazon) to validate
every response body against, and a client for one running sandbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import requests
from sales_channel.sandbox.common.clock import parse_iso
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

MODELS = Path(__file__).resolve().parents[2] / "contract" / "models" / "amazon"
MODEL_FILES = {"orders": "orders_2026-01-01.json", "ordersV0": "ordersV0.json", "feeds": "feeds_2021-06-30.json",
               "reports": "reports_2021-06-30.json"}
ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT,FULFILLMENT_ORDERS"
CREDS = DEFAULT_CREDENTIALS

_formats = jsonschema.FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        if "T" not in value:
            raise ValueError(f"not a date-time: {value}")
        parse_iso(value)
    return True


class Contract:
    """Validates a response body against the model's schema for (operation, status)."""

    def __init__(self) -> None:
        self._models = {name: json.loads((MODELS / file).read_text()) for name, file in MODEL_FILES.items()}

    def schema(self, model: str, operation: str, status: int) -> dict[str, Any] | None:
        spec = self._models[model]
        for path_item in spec["paths"].values():
            for method, op in path_item.items():
                if method != "parameters" and op.get("operationId") == operation:
                    response = op["responses"][str(status)]
                    return response.get("schema")
        raise KeyError(f"{operation} is not in model {model}")

    def check_definition(self, model: str, definition: str, body: Any) -> None:
        """Assert a body (e.g. a request the client sent) matches ``#/definitions/<definition>``."""
        validator = jsonschema.Draft4Validator(
            {"$ref": f"#/definitions/{definition}", "definitions": self._models[model]["definitions"]},
            format_checker=_formats)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{definition} body violates the model: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5])

    def check(self, model: str, operation: str, response: requests.Response) -> Any:
        """Assert the response's body matches the model; return the decoded body."""
        schema = self.schema(model, operation, response.status_code)
        if schema is None:
            assert response.content == b"", f"{operation} {response.status_code} must have no body"
            return None
        body = response.json()
        validator = jsonschema.Draft4Validator(
            {**schema, "definitions": self._models[model]["definitions"]}, format_checker=_formats)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{operation} {response.status_code} body violates the model: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5])
        return body


@dataclass
class Amazon:
    """A running sandbox and a requests session holding a valid access token."""

    url: str
    server: Any
    session: requests.Session

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=30, **kwargs)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox{path}", timeout=60, **kwargs)
        assert response.ok, f"control {method} {path}: {response.status_code} {response.text}"
        return response.json()

    def full_order(self, order_id: str) -> dict[str, Any]:
        return self.control("GET", f"/orders/{order_id}")["order"]


def access_token(url: str) -> str:
    response = requests.post(f"{url}/auth/o2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": CREDS["refresh_token"],
        "client_id": CREDS["lwa_client_id"], "client_secret": CREDS["lwa_client_secret"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
