"""Money as ``Decimal`` end to end: Amazon sends amounts as strings, Commerce stores what we send."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units where they are not 2 (only those Amazon marketplaces use).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "HUF": 2, "BHD": 3, "KWD": 3}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (only used for derived amounts, e.g. base currency)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def parse_amount(value: object) -> Decimal:
    """A decimal amount from Amazon's string form; raises ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a decimal amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


def as_number(amount: Decimal) -> float | int:
    """JSON number for Commerce's REST API (its schema types totals as ``number``).

    Amounts are already rounded to the currency, and a float round-trips any such value exactly in
    its decimal repr, so nothing is lost on the way to Commerce.
    """
    return int(amount) if amount == amount.to_integral_value() else float(amount)
