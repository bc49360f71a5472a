"""Typed errors of the SP-API client.

Amazon answers every failed call with ``{"errors": [{"code", "message", "details"}]}`` and an
``x-amzn-RequestId`` header; the exceptions keep all of it (and the HTTP status) so a caller can act on
the code and a person can quote the request id to Amazon support. Login with Amazon answers OAuth-style
(``error``/``error_description``) and gets an exception of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiErrorDetail:
    """One entry of Amazon's ``errors`` list."""

    code: str
    message: str
    details: str | None = None


class SpApiError(Exception):
    """A call to the Selling Partner API failed with an HTTP error status."""

    def __init__(self, operation: str, status: int, errors: list[ApiErrorDetail], request_id: str | None) -> None:
        self.operation = operation
        self.status = status
        self.errors = errors or [ApiErrorDetail("Unknown", f"HTTP {status} without an error body")]
        self.request_id = request_id
        first = self.errors[0]
        self.code, self.message, self.details = first.code, first.message, first.details
        super().__init__(str(self))

    def __str__(self) -> str:
        details = f" ({self.details})" if self.details else ""
        return (f"{self.operation} failed: HTTP {self.status} {self.code}: {self.message}{details} "
                f"[x-amzn-RequestId {self.request_id or 'n/a'}]")

    @classmethod
    def from_response(cls, operation: str, status: int, body: Any, request_id: str | None) -> SpApiError:
        """The exception class that fits ``status``, built from Amazon's error body."""
        errors = []
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            for item in body["errors"]:
                if isinstance(item, dict):
                    errors.append(ApiErrorDetail(str(item.get("code", "Unknown")), str(item.get("message", "")),
                                                 item.get("details") or None))
        return _class_for_status(status)(operation, status, errors, request_id)


class InvalidInputError(SpApiError):
    """400: the request was malformed or broke a rule of the operation."""


class UnauthorizedError(SpApiError):
    """401/403: the access token was refused (after one refresh) or the role is missing."""


class NotFoundError(SpApiError):
    """404: the resource (order, feed, document) does not exist for this seller."""


class QuotaExceededError(SpApiError):
    """429: the usage plan's bucket for this operation was empty."""


class ServerError(SpApiError):
    """5xx: Amazon failed (InternalFailure, ServiceUnavailable)."""


def _class_for_status(status: int) -> type[SpApiError]:
    if status == 400:
        return InvalidInputError
    if status in (401, 403):
        return UnauthorizedError
    if status == 404:
        return NotFoundError
    if status == 429:
        return QuotaExceededError
    if status >= 500:
        return ServerError
    return SpApiError


class DocumentTransferError(SpApiError):
    """The upload to or download from a pre-signed document URL failed (S3 answers with its own XML
    ``<Error><Code/><Message/></Error>``, e.g. ``SignatureDoesNotMatch``, ``AccessDenied`` when expired)."""


class LwaError(Exception):
    """Login with Amazon refused the refresh-token exchange (``invalid_grant``, ``invalid_client``...)."""

    def __init__(self, status: int, error: str, description: str | None) -> None:
        self.status, self.error, self.description = status, error, description
        super().__init__(f"Login with Amazon failed: HTTP {status} {error}: {description or 'no description'}")


class InvalidParameterError(ValueError):
    """A parameter of a call breaks one of Amazon's rules; raised before any call is made."""

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {problem}")


class SearchWindowError(InvalidParameterError):
    """A searchOrders window breaks one of Amazon's rules (createdAfter/lastUpdatedAfter/...)."""


class SandboxCredentialError(ValueError):
    """A ``sandbox-`` credential would be sent to a host that is not this machine."""


class FeedProcessingReportError(ValueError):
    """A feed processing report could not be read."""
