"""Typed errors of the Commerce client, and the rendering of Magento's error messages.

Magento answers errors as ``{"message": <template>, "parameters": <list | object>}``: the template holds
``%1``/``%2`` placeholders filled from a list, or ``%name`` placeholders filled from an object. Every
error keeps the raw template and parameters next to the rendered text, so callers can match on the
template (stable) while people read the rendered message.

No exception text (``str``/``repr``), log line or stored error holds a credential, a body or a value
Magento echoes: only the HTTP method, the path *template*, the status and ``summary``, Magento's
template with just the parameters that name fields filled in. Magento also passes raw exception texts
through as messages (``__($e->getMessage())``: "SQLSTATE[23000]: ... Duplicate entry
'jane@example.com-1' for key ..."), which carry data of their own; those are *untemplated* and their
summary (and ``template``) is a redaction marker. The full rendering stays on ``message``, for code
that must look at it, and is never part of the exception's text. Each line is judged on its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"%(\d+|[A-Za-z_][A-Za-z0-9_]*)")
# Parameters whose value names a field (or an ACL resource), never a submitted value.
FIELD_PARAMETERS = frozenset({"fieldName", "field_name", "field", "resources"})
_NAME = re.compile(r"[\w.:\[\]-]+")
# What a phrase of Magento's code never holds outside its placeholders, and raw texts usually do:
# digits (SQLSTATE, ids, amounts), an email's "@", quoted values ('jane@...', "x"); an apostrophe
# inside a word ("isn't") is no quote.
_DATA = re.compile(r"\d|@|\"[^\"]+\"|(?<!\w)'[^']+'(?!\w)")


def render_message(template: str, parameters: Any = None) -> str:
    """Fill Magento's placeholders: ``%1``.. from a list (1-based), ``%name`` from an object (or from a
    list of objects, as the published schema describes it).

    Placeholders without a value are left as they are, so nothing is silently dropped.
    """
    if not parameters:
        return template
    if isinstance(parameters, Mapping):
        values = {str(key): value for key, value in parameters.items()}
    elif isinstance(parameters, list | tuple) and parameters and all(isinstance(p, Mapping) for p in parameters):
        # The published schema types parameters as a list of named items (``error-parameters-item``).
        values = {str(key): value for item in parameters for key, value in item.items()}
    elif isinstance(parameters, list | tuple):
        values = {str(index): value for index, value in enumerate(parameters, start=1)}
    else:
        return template

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return _PLACEHOLDER.sub(substitute, template)


def is_template(message: str) -> bool:
    """True when ``message`` reads as a phrase of Magento's code (data only in placeholders), False for
    an untemplated text that carries values of its own."""
    return _DATA.search(_PLACEHOLDER.sub("", message)) is None


def loggable_message(template: str, parameters: Any = None) -> str:
    """Magento's message fit for logs, exception text and the channel database: the template with only
    the parameters in ``FIELD_PARAMETERS`` filled in (positional ``%1`` values are never known to be
    field names), and a redaction marker for each untemplated line (Magento joins the messages of a
    document validation into lines under a templated heading: the heading is kept)."""
    names = _field_names(parameters)
    return "\n".join(render_message(line, names) if is_template(line)
                     else f"<untemplated Magento message redacted, {len(line)} chars>"
                     for line in template.split("\n"))


def _field_names(parameters: Any) -> dict[str, str]:
    if isinstance(parameters, Mapping):
        items = [parameters]
    elif isinstance(parameters, list | tuple):
        items = [p for p in parameters if isinstance(p, Mapping)]
    else:
        return {}
    return {str(key): value for item in items for key, value in item.items()
            if key in FIELD_PARAMETERS and isinstance(value, str) and _NAME.fullmatch(value)}


class SandboxCredentialError(ValueError):
    """A ``sandbox-`` credential was about to be sent to a host that is not this machine."""


class CommerceError(Exception):
    """A Commerce REST call failed.

    ``status`` is the HTTP status (None when no response arrived), ``operation`` the call
    (``"GET /V1/orders/{id}"``), ``summary`` the loggable message (``str()`` shows it), ``message``
    Magento's message with every parameter filled in (it may echo submitted values: never log it),
    ``template``/``parameters`` what Magento sent (``template`` is the redaction marker for an
    untemplated message). The client's own messages (``summary`` not given) are loggable as they are.
    """

    def __init__(
        self,
        message: str,
        *,
        summary: str | None = None,
        status: int | None = None,
        operation: str = "",
        template: str | None = None,
        parameters: Any = None,
    ) -> None:
        self.status = status
        self.message = message
        self.summary = summary if summary is not None else message
        self.operation = operation
        self.template = template if template is not None else self.summary
        self.parameters = parameters
        prefix = " ".join(part for part in (operation, str(status) if status else "") if part)
        super().__init__(f"{prefix}: {self.summary}" if prefix else self.summary)


class ValidationError(CommerceError):
    """HTTP 400: Magento refused the request (bad input or a state rule, e.g. shipping a canceled order)."""


class UnauthorizedError(CommerceError):
    """HTTP 401/403: missing, invalid or insufficient credentials (or a failed admin login)."""


class NotFoundError(CommerceError):
    """HTTP 404: no such entity (or no such route)."""


class ServerError(CommerceError):
    """HTTP 5xx (or another unexpected status) after any retries the call was allowed."""


class TransportError(CommerceError):
    """No HTTP response: connection refused or broken, or a timeout (after allowed retries)."""


class AmbiguousWriteError(CommerceError):
    """A non-idempotent write (order create, invoice, ship, refund, comment, ...) may or may not have
    happened: the server failed with 5xx, timed out or dropped the connection after the request was sent.

    It is never retried blindly. Look first (the order by ``ext_order_id``, the order's invoices,
    shipments or credit memos), then write again only if nothing is there. ``lookup`` says what to look
    up (e.g. ``{"ext_order_id": "113-..."}`` or ``{"order_id": 42}``).
    """

    def __init__(self, message: str, *, lookup: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.lookup = dict(lookup or {})
        super().__init__(message, **kwargs)


def error_for_status(
    status: int, body: Any, operation: str
) -> CommerceError:
    """The typed error for an HTTP error response with Magento's error body (or anything else)."""
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        template, parameters = body["message"], body.get("parameters")
        rendered, summary = render_message(template, parameters), loggable_message(template, parameters)
        # Some calls (e.g. source items) list several errors, each a template with its own parameters.
        details = _error_list(body)
        if details:
            rendered += f" ({'; '.join(render_message(e['message'], e.get('parameters')) for e in details)})"
            summary += f" ({'; '.join(loggable_message(e['message'], e.get('parameters')) for e in details)})"
        if not is_template(template):
            template = loggable_message(template)
    else:
        template = rendered = summary = f"HTTP {status} without a Magento error body"
        parameters = None
    error_class: type[CommerceError]
    if status == 400:
        error_class = ValidationError
    elif status in (401, 403):
        error_class = UnauthorizedError
    elif status == 404:
        error_class = NotFoundError
    elif status >= 500:
        error_class = ServerError
    else:
        error_class = CommerceError
    return error_class(rendered, summary=summary, status=status, operation=operation, template=template,
                       parameters=parameters)


def _error_list(body: Any) -> list[Mapping[str, Any]]:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, Mapping) and isinstance(e.get("message"), str)]
