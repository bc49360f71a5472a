"""Magento's error bodies: ``{"message": "...%1...", "parameters": [...] | {...}}``, HTTP 400/401/404.

Magento sends the message *template* with its placeholders and the values apart, as a list for ``%1``
style placeholders and as an object for ``%name`` style ones; clients render it themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

NO_SUCH_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."
NO_SUCH_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again."
NO_ROUTE = "Request does not match any route."
UNAUTHORIZED = "The consumer isn't authorized to access %resources."
BAD_LOGIN = ("The account sign-in was incorrect or your account is disabled temporarily. "
             "Please wait and try again later.")
REQUIRED_FIELD = '"%fieldName" is required. Enter and try again.'
FIELD_PROCESSING = 'Error occurred during "%field_name" processing. %details'
INVALID_TYPE = 'The "{value}" value\'s type is invalid. The "{type}" type was expected. Verify and try again.'
INVALID_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
UNIQUE_CONSTRAINT = "Unique constraint violation found"


class MagentoError(Exception):
    """An error answered in Magento's shape."""

    def __init__(self, status: int, message: str, parameters: list[Any] | dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.message, self.parameters, self.errors = status, message, parameters, errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str, parameters: list[Any] | dict[str, Any] | None = None) -> MagentoError:
    return MagentoError(400, message, parameters)


def required_field(field: str) -> MagentoError:
    return bad_request(REQUIRED_FIELD, {"fieldName": field})


def invalid_value(field: str, value: Any) -> MagentoError:
    return bad_request(INVALID_VALUE, {"value": str(value), "fieldName": field})


def not_found(message: str = NO_SUCH_ENTITY) -> MagentoError:
    return MagentoError(404, message)


def unauthorized(resource: str) -> MagentoError:
    return MagentoError(401, UNAUTHORIZED, {"resources": resource})


# nginx's own error pages: what a client gets when the gateway gives up on PHP (502, 504).
NGINX_PAGES = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}


def fault_body(status: int) -> dict[str, Any] | str:
    """The body of an injected 5xx: nginx's page when the gateway failed, else what Magento answers
    when something fails inside."""
    if status in NGINX_PAGES:
        title = NGINX_PAGES[status]
        return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>"
                "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    if status == 503:
        return {"message": "Service Temporarily Unavailable"}
    return {"message": "Internal Error. Details are available in Magento log file. Report ID: webapi-sandbox"}


async def magento_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MagentoError)
    return JSONResponse(exc.body(), status_code=exc.status)
