"""Network rules both API clients share."""

from __future__ import annotations

import ipaddress

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
