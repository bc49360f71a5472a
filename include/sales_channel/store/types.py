"""Column types that behave the same on SQLite and PostgreSQL.

Times are stored as naive UTC (``timestamp without time zone`` on PostgreSQL, ISO text on SQLite) and
are timezone-aware UTC in Python: a naive datetime is refused, since its meaning would depend on the
machine's clock settings. Money is exact: ``numeric(19, 4)`` on PostgreSQL and decimal text on SQLite
(whose NUMERIC affinity would round through a float).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

# JSON documents: binary JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


_SCALE = Decimal("0.0001")
_LIMIT = Decimal(10) ** 15


def checked_money(amount: Decimal, what: str) -> Decimal:
    """``amount`` with four decimal places; ValueError naming ``what`` when it does not fit exactly."""
    if not amount.is_finite() or abs(amount) >= _LIMIT or amount.quantize(_SCALE) != amount:
        raise ValueError(f"{what}: {amount} does not fit a money column (at most 15 digits and 4 decimals)")
    return amount.quantize(_SCALE)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, naive UTC in the database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given: pass a timezone-aware time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount (4 places: enough for every currency Amazon sells in)."""

    impl = Numeric(19, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(19, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | str | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        # The same text on both backends: PostgreSQL returns numeric(19, 4) with four places too.
        amount = checked_money(Decimal(value), "money amount")
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))
