"""Network rules both API clients share."""

from __future__ import annotations

import ipaddress
import logging
import re

# Every sandbox credential starts with this; they are published, so they may only go to this machine.
SANDBOX_CREDENTIAL_PREFIX = "sandbox-"


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) or the name ``localhost``; no DNS lookup."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


_QUERY = re.compile(r"\?[^\s\"'#]+")
_QUERY_VALUE = re.compile(r"=[^&]*")
# The loggers that print request URLs or messages about them: urllib3's request lines ("GET /path?query
# HTTP/1.1" 200) and retry notices, and our clients' own.
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "sales_channel.amazon.client",
                "sales_channel.amazon.auth", "sales_channel.commerce")


def redact_query_values(text: str) -> str:
    """Every URL query in ``text`` with its values replaced by ``***`` and its parameter names kept:
    queries hold buyer emails (Commerce searchCriteria) and signatures (pre-signed document URLs)."""
    return _QUERY.sub(lambda query: _QUERY_VALUE.sub("=***", query.group(0)), text)


class RedactQueryValues(logging.Filter):
    """Rewrites a record's message with ``redact_query_values`` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = redact_query_values(message), None
        return True


_FILTER = RedactQueryValues()


def install_log_redaction() -> None:
    """Put the query redaction on every logger that prints our requests' URLs (idempotent: a logger
    keeps one instance of the filter)."""
    for name in _URL_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
