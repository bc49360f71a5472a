"""SP-API error bodies and the exception the routes raise to produce them."""

from __future__ import annotations

from typing import Any

# The codes SP-API answers with, by HTTP status (used for injected faults and framework errors).
CODE_BY_STATUS = {
    400: "InvalidInput",
    403: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    429: "QuotaExceeded",
    500: "InternalFailure",
    503: "ServiceUnavailable",
}

MESSAGE_BY_STATUS = {
    403: "Access to requested resource is denied.",
    404: "Resource not found.",
    405: "The method is not allowed for the requested resource.",
    429: "You exceeded your quota for the requested resource.",
    500: "We encountered an internal error. Please try again.",
    503: "Service temporarily unavailable. Please try again.",
}


def error_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    """``{"errors": [{"code", "message", "details"?}]}`` — the shape of every SP-API error."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def status_error_body(status: int) -> dict[str, Any]:
    """The body of an error known only by its status (injected faults, unknown paths)."""
    return error_body(CODE_BY_STATUS.get(status, "InternalFailure"),
                      MESSAGE_BY_STATUS.get(status, "Request failed."))


class SpApiError(Exception):
    """An error answer of the faithful API; rendered by the app's exception handler."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def invalid_input(message: str, details: str | None = None) -> SpApiError:
    return SpApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> SpApiError:
    return SpApiError(404, "NotFound", message)
