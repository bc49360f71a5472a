"""Where SP-API calls go: the regional host of a marketplace, Login with Amazon, and the rule that a
sandbox credential never leaves this machine."""

from __future__ import annotations

from urllib.parse import urlsplit

from sales_channel.amazon.errors import SandboxCredentialError
from sales_channel.net import SANDBOX_CREDENTIAL_PREFIX, is_loopback_host

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
LWA_TOKEN_PATH = "/auth/o2/token"

REGION_HOSTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}

# Amazon's marketplace ids by selling region (developer-docs "Marketplace IDs").
MARKETPLACE_REGIONS = {
    # North America
    "ATVPDKIKX0DER": "NA", "A2EUQ1WTGCTBG2": "NA", "A1AM78C64UM0Y8": "NA", "A2Q3Y263D00KWC": "NA",
    # Europe (with the Middle East, Africa and India)
    "A1RKKUPIHCS9HS": "EU", "A1F83G8C2ARO7P": "EU", "A13V1IB3VIYZZH": "EU", "AMEN7PMS3EDWL": "EU",
    "A1805IZSGTT6HS": "EU", "A1PA6795UKMFR9": "EU", "APJ6JRA9NG5V4": "EU", "A2NODRKZP88ZB9": "EU",
    "AE08WJ6YKNBMC": "EU", "A1C3SOZRARQ6R3": "EU", "ARBP9OOSHTCHU": "EU", "A33AVAJ2PDY3EV": "EU",
    "A17E79C6D8DWNP": "EU", "A2VIGQ35RCS4UG": "EU", "A21TJRUUN4KGV": "EU", "A28R8C7NBKEWEA": "EU",
    # Far East
    "A19VAU5U5O7RUS": "FE", "A39IBJ37TRP1C6": "FE", "A1VC38T7YXB528": "FE",
}


def endpoint_for_marketplace(marketplace_id: str) -> str:
    """The regional SP-API base URL that serves ``marketplace_id``."""
    try:
        return REGION_HOSTS[MARKETPLACE_REGIONS[marketplace_id]]
    except KeyError:
        raise ValueError(f"marketplace_id: unknown Amazon marketplace {marketplace_id!r}; "
                         f"pass base_url to choose the endpoint explicitly") from None


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    return is_loopback_host(urlsplit(url).hostname)


def refuse_sandbox_credentials_off_machine(secrets: dict[str, str], urls: list[str]) -> None:
    """Raise before any I/O if a ``sandbox-`` credential would be sent to a non-loopback host.

    The sandboxes' credentials are public (they are in this repository): sending one to a real host
    means a configuration mix-up that would leak it and fail anyway, so it is stopped here.
    """
    sandbox_fields = sorted(name for name, value in secrets.items() if value.startswith(SANDBOX_CREDENTIAL_PREFIX))
    if not sandbox_fields:
        return
    for url in urls:
        if not is_loopback_url(url):
            raise SandboxCredentialError(
                f"{', '.join(sandbox_fields)} is a sandbox credential ('sandbox-...') and may only be sent "
                f"to a loopback address, not to {urlsplit(url).hostname!r}: configure the real "
                f"credentials of the seller account or point base_url at the local sandbox")
