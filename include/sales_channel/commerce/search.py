"""Magento's ``searchCriteria``: an immutable builder that renders query parameters.

Filter groups are ANDed, the filters inside one group are ORed. The parameters are always spelled as
in the published schema (``filterGroups``, ``conditionType``, ``sortOrders``, ``pageSize``,
``currentPage``); real stores also accept the snake_case spelling, but one spelling keeps URLs,
logs and tests comparable.

    criteria = (SearchCriteria()
                .where("status", ["pending", "processing"], Condition.IN)
                .any_of(Filter("ext_order_id", "113-%", Condition.LIKE), Filter("ext_order_id", None, Condition.NULL))
                .sort_by("entity_id")
                .page(50))
    requests.get(url, params=criteria.to_params())
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

MAGENTO_DATETIME = "%Y-%m-%d %H:%M:%S"


class Condition(StrEnum):
    """Every condition type Magento's search accepts."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTEQ = "gteq"
    LT = "lt"
    LTEQ = "lteq"
    MOREQ = "moreq"
    LIKE = "like"  # SQL % wildcards
    NLIKE = "nlike"
    IN = "in"  # comma-separated list
    NIN = "nin"
    NULL = "null"  # value ignored
    NOTNULL = "notnull"
    FROM = "from"  # range start; pair with TO in *another* group (see SearchCriteria.between)
    TO = "to"
    FINSET = "finset"  # value in a comma-separated column
    NFINSET = "nfinset"


_LIST_CONDITIONS = {Condition.IN, Condition.NIN}
_VALUELESS_CONDITIONS = {Condition.NULL, Condition.NOTNULL}


class Direction(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


def format_value(value: Any) -> str:
    """One scalar as Magento compares it: datetimes as UTC ``YYYY-MM-DD HH:MM:SS``, booleans as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; pass an aware (UTC) datetime")
        return value.astimezone(UTC).strftime(MAGENTO_DATETIME)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | str | Decimal):
        return str(value)
    raise ValueError(f"cannot use {type(value).__name__} value {value!r} in searchCriteria")


def parse_datetime(value: str | None) -> datetime | None:
    """Magento's ``YYYY-MM-DD HH:MM:SS`` (no offset: UTC) as an aware datetime."""
    if not value:
        return None
    return datetime.strptime(value, MAGENTO_DATETIME).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Filter:
    """One condition on one field. ``value`` is a list for IN/NIN and ignored for NULL/NOTNULL."""

    field: str
    value: Any = None
    condition: Condition = Condition.EQ

    def __post_init__(self) -> None:
        if not self.field:
            raise ValueError("searchCriteria filter needs a field name")
        object.__setattr__(self, "condition", Condition(self.condition))
        self.rendered_value()  # fail at construction, naming the field, not when the URL is built

    def rendered_value(self) -> str | None:
        if self.condition in _VALUELESS_CONDITIONS:
            return None
        if self.condition in _LIST_CONDITIONS:
            if isinstance(self.value, str) or not isinstance(self.value, Iterable):
                raise ValueError(f"filter on {self.field!r}: '{self.condition}' needs a list of values")
            values = [format_value(v) for v in self.value]
            if not values:
                raise ValueError(f"filter on {self.field!r}: '{self.condition}' needs at least one value")
            for v in values:
                if "," in v:
                    raise ValueError(f"filter on {self.field!r}: value {v!r} contains a comma, which "
                                     f"'{self.condition}' uses as its separator")
            return ",".join(values)
        if self.value is None:
            raise ValueError(f"filter on {self.field!r}: '{self.condition}' needs a value")
        try:
            return format_value(self.value)
        except ValueError as exc:
            raise ValueError(f"filter on {self.field!r}: {exc}") from None


@dataclass(frozen=True)
class SortOrder:
    field: str
    direction: Direction = Direction.ASC


@dataclass(frozen=True)
class SearchCriteria:
    """Immutable: every method returns a new criteria, so one base can be reused safely."""

    filter_groups: tuple[tuple[Filter, ...], ...] = ()
    sort_orders: tuple[SortOrder, ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def where(self, field_name: str, value: Any = None, condition: Condition | str = Condition.EQ) -> SearchCriteria:
        """AND one condition."""
        return self.any_of(Filter(field_name, value, Condition(condition)))

    def any_of(self, *filters: Filter) -> SearchCriteria:
        """AND a group of conditions that are ORed together."""
        if not filters:
            raise ValueError("any_of() needs at least one filter")
        return replace(self, filter_groups=(*self.filter_groups, tuple(filters)))

    def between(self, field_name: str, low: Any, high: Any) -> SearchCriteria:
        """``low <= field <= high``: FROM and TO in two groups (ANDed; in one group they would be ORed)."""
        return self.where(field_name, low, Condition.FROM).where(field_name, high, Condition.TO)

    def sort_by(self, field_name: str, direction: Direction | str = Direction.ASC) -> SearchCriteria:
        return replace(self, sort_orders=(*self.sort_orders, SortOrder(field_name, Direction(direction.upper()))))

    def without_sort(self) -> SearchCriteria:
        return replace(self, sort_orders=())

    def page(self, size: int, current: int = 1) -> SearchCriteria:
        if size < 1:
            raise ValueError(f"page size must be >= 1, got {size}")
        if current < 1:
            raise ValueError(f"current page is 1-based, got {current}")
        return replace(self, page_size=size, current_page=current)

    def to_params(self) -> dict[str, str]:
        """The query parameters, in the published schema's spelling."""
        params: dict[str, str] = {}
        for g, group in enumerate(self.filter_groups):
            for f, flt in enumerate(group):
                prefix = f"searchCriteria[filterGroups][{g}][filters][{f}]"
                params[f"{prefix}[field]"] = flt.field
                value = flt.rendered_value()
                if value is not None:
                    params[f"{prefix}[value]"] = value
                params[f"{prefix}[conditionType]"] = flt.condition.value
        for s, sort in enumerate(self.sort_orders):
            params[f"searchCriteria[sortOrders][{s}][field]"] = sort.field
            params[f"searchCriteria[sortOrders][{s}][direction]"] = sort.direction.value
        if self.page_size is not None:
            params["searchCriteria[pageSize]"] = str(self.page_size)
        if self.current_page is not None:
            params["searchCriteria[currentPage]"] = str(self.current_page)
        if not params:
            # Magento rejects a search without searchCriteria; an empty page size asks for everything.
            params["searchCriteria"] = ""
        return params


@dataclass(frozen=True)
class Chunking:
    """How long lists are split for ``in`` lookups: few items per URL, and URLs of a sane length."""

    max_items: int = 50
    max_chars: int = 1500

    def split(self, field_name: str, values: Sequence[str]) -> Iterator[list[str]]:
        """Consecutive chunks of distinct values (first occurrence order kept)."""
        chunk: list[str] = []
        length = 0
        for value in dict.fromkeys(values):
            if not value:
                raise ValueError(f"{field_name}: empty value in the lookup list")
            if chunk and (len(chunk) >= self.max_items or length + len(value) + 1 > self.max_chars):
                yield chunk
                chunk, length = [], 0
            chunk.append(value)
            length += len(value) + 1
        if chunk:
            yield chunk
