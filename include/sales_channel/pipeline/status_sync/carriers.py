"""Commerce carriers → Amazon's carrier codes for confirmShipment.

Magento names a track by its carrier's code (``ups``, ``usps``, ``fedex``, ``dhl``, or ``custom`` for a
carrier the merchant typed in) and a title. Amazon wants one of its own ``carrierCode`` values; for any
other carrier it wants ``Other`` with the carrier's name in ``carrierName`` — never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OTHER = "Other"

# Amazon carrier codes (the values Seller Central lists), keyed by a normalised name: Magento's
# carrier code, or a custom carrier's title.
_AMAZON_CODES = {
    "ups": "UPS", "upsmi": "UPSMI", "usps": "USPS", "fedex": "FedEx", "fedexsmartpost": "FedEx SmartPost",
    "dhl": "DHL", "dhlexpress": "DHL", "dhlecommerce": "DHL eCommerce", "dhlglobalmail": "DHL Global Mail",
    "ontrac": "OnTrac", "lasership": "Lasership", "canadapost": "Canada Post", "royalmail": "Royal Mail",
    "parcelforce": "Parcelforce", "yodel": "Yodel", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "deutschepost": "Deutsche Post", "laposte": "La Poste", "colissimo": "Colissimo", "chronopost": "Chronopost",
    "posteitaliane": "Poste Italiane", "tnt": "TNT", "correos": "Correos", "postnord": "PostNord",
    "bring": "Bring", "yamato": "Yamato Transport", "yamatotransport": "Yamato Transport",
    "sagawa": "Sagawa Express", "sagawaexpress": "Sagawa Express", "japanpost": "Japan Post",
    "australiapost": "Australia Post", "indiapost": "India Post", "bluedart": "BlueDart",
}


@dataclass(frozen=True)
class AmazonCarrier:
    code: str
    name: str | None  # required by Amazon when ``code`` is Other


def _normalised(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (value or "").casefold())


def amazon_carrier(carrier_code: str | None, title: str | None) -> AmazonCarrier:
    """The Amazon carrier for a Commerce track: by Magento's carrier code, else by the title; an
    unknown carrier is ``Other`` named by its title (or its code when it has no title)."""
    for candidate in (carrier_code, title):
        code = _AMAZON_CODES.get(_normalised(candidate))
        if code:
            return AmazonCarrier(code, None)
    name = (title or "").strip() or (carrier_code or "").strip()
    if not name or _normalised(name) == "custom":
        name = "Merchant carrier"
    return AmazonCarrier(OTHER, name[:100])
