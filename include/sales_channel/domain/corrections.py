"""Corrections a person makes to an Amazon order before it is imported (``amazon_resolve_quarantine``).

A corrected shipping address is buyer data: it lives in memory for one import of one order, goes into
that order's Commerce create, and is never stored, logged or put in an event (``fields_corrected``
names what changed, never to what).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sales_channel.domain.amazon_order import Address, AmazonOrder
from sales_channel.domain.countries import COUNTRY_CODES

MAX_ADDRESS_LINES = 3  # Amazon's addressLine1-3


class InvalidCorrection(ValueError):
    """A correction that cannot be used; the message names the field, never its value."""


@dataclass(frozen=True)
class AddressCorrection:
    """A corrected delivery address for one order. The recipient's name and company stay Amazon's:
    the correction replaces where the order goes, not to whom."""

    lines: tuple[str, ...]
    city: str
    country_code: str
    region: str | None = None
    postal_code: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        lines = tuple(line.strip() for line in self.lines if line and line.strip())
        if not lines:
            raise InvalidCorrection("field street: at least one street line is required")
        if len(lines) > MAX_ADDRESS_LINES:
            raise InvalidCorrection(f"field street: at most {MAX_ADDRESS_LINES} lines, got {len(lines)}")
        if not self.city or not self.city.strip():
            raise InvalidCorrection("field city: is empty")
        country = (self.country_code or "").strip().upper()
        if country not in COUNTRY_CODES:
            raise InvalidCorrection("field country_code: is not an ISO 3166-1 alpha-2 country code")
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "city", self.city.strip())
        object.__setattr__(self, "country_code", country)
        for name in ("region", "postal_code", "phone"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value.strip() or None) if isinstance(value, str) else None)

    def __repr__(self) -> str:  # buyer data stays out of logs and tracebacks
        return "AddressCorrection(<redacted>)"

    def applied_to(self, order: AmazonOrder) -> AmazonOrder:
        """``order`` shipping to the corrected address (the phone stays Amazon's unless one is given)."""
        amazon = order.ship_to or Address(name="", company=None, lines=(), city=None, district=None, region=None,
                                          postal_code=None, country_code=None, phone=None)
        return replace(order, ship_to=replace(
            amazon, lines=self.lines, city=self.city, region=self.region, postal_code=self.postal_code,
            country_code=self.country_code, phone=self.phone if self.phone is not None else amazon.phone))

    def fields_corrected(self, order: AmazonOrder) -> list[str]:
        """Amazon's names of the address fields this correction changes in ``order`` (for logs and events)."""
        amazon = order.ship_to
        corrected = self.applied_to(order).ship_to
        names = {"lines": "addressLines", "city": "city", "region": "stateOrRegion", "postal_code": "postalCode",
                 "country_code": "countryCode", "phone": "phone"}
        return [label for name, label in names.items()
                if amazon is None or getattr(amazon, name) != getattr(corrected, name)]
