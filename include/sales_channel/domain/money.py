"""Money as ``Decimal`` end to end: Amazon sends amounts as strings, Commerce stores what we send."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from sales_channel.domain.errors import shown

# ISO 4217 minor units where they are not 2 (only those Amazon marketplaces use).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "HUF": 2, "BHD": 3, "KWD": 3}
# Amazon's decimal strings ("12.34", "-1.30"): no exponent, no NaN or Infinity, no thousands separator.
AMOUNT_PATTERN = r"-?[0-9]{1,16}(?:\.[0-9]{1,8})?"  # a decimal amount as text (Amazon's strings)
_AMOUNT = re.compile(AMOUNT_PATTERN)
# Magento keeps order amounts as decimal(20,4): an amount must leave room for sums and base conversion.
MAX_AMOUNT = Decimal("1e12")


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (only used for derived amounts, e.g. base currency)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str) -> Decimal:
    """A decimal amount from Amazon's string form, exact in ``currency``; ValueError for anything else
    (the message shows at most a short, escaped part of the value)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{shown(value)} is not a decimal amount")
    if isinstance(value, str) and not _AMOUNT.fullmatch(value.strip()):
        raise ValueError(f"{shown(value)} is not a decimal amount")
    amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{shown(value)} is beyond any order amount ({MAX_AMOUNT:,.0f})")
    if quantize(amount, currency) != amount:
        raise ValueError(f"{shown(value)} has more decimals than {currency} has ({minor_units(currency)})")
    return amount


def as_number(amount: Decimal) -> float | int:
    """JSON number for Commerce's REST API (its schema types totals as ``number``).

    Amounts are already rounded to the currency, and a float round-trips any such value exactly in
    its decimal repr, so nothing is lost on the way to Commerce.
    """
    return int(amount) if amount == amount.to_integral_value() else float(amount)
