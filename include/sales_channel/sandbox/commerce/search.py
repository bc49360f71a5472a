"""``searchCriteria`` as Magento reads it from a query string, and applied to stored entities.

Both spellings are accepted, mixed freely (Magento maps snake_case onto the camelCase setters):
``filter_groups``/``filterGroups``, ``condition_type``/``conditionType``, ``sort_orders``/``sortOrders``,
``page_size``/``pageSize``, ``current_page``/``currentPage``. Filters inside a group are ORed, groups
are ANDed. Comparisons follow MySQL: numbers compare as numbers, text case-insensitively, and every
condition but ``null`` is false on a missing (NULL) field. A ``currentPage`` past the last page
returns the last page again, as Magento's collections do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sales_channel.sandbox.commerce.errors import bad_request, required_field

_KEY = re.compile(r"\[([^\]]*)\]")
_CAMEL = {"filter_groups": "filterGroups", "condition_type": "conditionType", "sort_orders": "sortOrders",
          "page_size": "pageSize", "current_page": "currentPage"}

CONDITIONS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like", "nlike", "in", "nin", "null", "notnull",
              "from", "to", "finset", "nfinset", "moreq")


@dataclass(frozen=True)
class Filter:
    field: str
    value: str | None
    condition_type: str | None  # None: not given (eq), echoed as absent

    def echo(self) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.field, "value": self.value if self.value is not None else ""}
        if self.condition_type is not None:
            body["condition_type"] = self.condition_type
        return body


@dataclass(frozen=True)
class SearchCriteria:
    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The ``search_criteria`` of a search result (Magento echoes what it was given, in snake_case)."""
        body: dict[str, Any] = {"filter_groups": [{"filters": [f.echo() for f in group]}
                                                  for group in self.filter_groups]}
        if self.sort_orders:
            body["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            body["page_size"] = self.page_size
        if self.current_page is not None:
            body["current_page"] = self.current_page
        return body


def _nest(params: Iterable[tuple[str, str]]) -> dict[str, Any] | None:
    """PHP-style nesting of ``searchCriteria[a][0][b]=v`` keys; None when no searchCriteria was sent."""
    root: dict[str, Any] = {}
    seen = False
    for key, value in params:
        if not key.startswith("searchCriteria"):
            continue
        seen = True
        path = [_CAMEL.get(part, part) for part in _KEY.findall(key[len("searchCriteria"):])]
        if not path:
            continue  # ``searchCriteria=`` alone: an empty criteria
        node = root
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return root if seen else None


def _ordered(node: Any) -> list[Any]:
    """The values of a PHP list-like array (``[0]``, ``[1]``...), in key order."""
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted(node, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))]


def _int(node: dict[str, Any], key: str) -> int | None:
    raw = node.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_request('Error occurred during "%field_name" processing. %details', {
            "field_name": key,
            "details": f'The "{raw}" value\'s type is invalid. The "int" type was expected. '
                       "Verify and try again."}) from None


def parse_search_criteria(params: Iterable[tuple[str, str]], required: bool = True) -> SearchCriteria:
    """Read ``searchCriteria`` from query parameters; Magento requires it on list endpoints."""
    raw = _nest(params)
    if raw is None:
        if required:
            raise required_field("searchCriteria")
        raw = {}
    groups: list[list[Filter]] = []
    for group in _ordered(raw.get("filterGroups")):
        filters = []
        for item in _ordered(group.get("filters") if isinstance(group, dict) else None):
            if not isinstance(item, dict):
                continue
            if not item.get("field"):
                raise required_field("field")
            condition = item.get("conditionType") or None
            if condition is not None and condition not in CONDITIONS:
                raise bad_request('Invalid value of "%value" provided for the %fieldName field.',
                                  {"value": condition, "fieldName": "condition_type"})
            filters.append(Filter(item["field"], item.get("value"), condition))
        groups.append(filters)
    sorts = []
    for item in _ordered(raw.get("sortOrders")):
        if isinstance(item, dict) and item.get("field"):
            direction = str(item.get("direction") or "ASC").upper()
            sorts.append((item["field"], "DESC" if direction == "DESC" else "ASC"))
    return SearchCriteria(groups, sorts, _int(raw, "pageSize"), _int(raw, "currentPage"))


def _compare(stored: Any, given: str) -> int:
    """-1/0/1 like MySQL binding a string: numerically on a numeric column (booleans are 0/1), else as
    case-insensitive text."""
    if isinstance(stored, int | float):
        try:
            number = float(given)
        except ValueError:
            number = 0.0  # MySQL casts non-numeric text to 0
        return (stored > number) - (stored < number)
    left, right = str(stored).casefold(), given.casefold()
    return (left > right) - (left < right)


def _like(stored: Any, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(stored), re.IGNORECASE | re.DOTALL) is not None


def _in_set(stored: Any, value: str) -> bool:
    return value.casefold() in [part.casefold() for part in str(stored).split(",")]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_MATCHERS: dict[str, Callable[[Any, str], bool]] = {
    "eq": lambda s, v: _compare(s, v) == 0,
    "neq": lambda s, v: _compare(s, v) != 0,
    "gt": lambda s, v: _compare(s, v) > 0,
    "gteq": lambda s, v: _compare(s, v) >= 0,
    "moreq": lambda s, v: _compare(s, v) >= 0,
    "from": lambda s, v: _compare(s, v) >= 0,
    "lt": lambda s, v: _compare(s, v) < 0,
    "lteq": lambda s, v: _compare(s, v) <= 0,
    "to": lambda s, v: _compare(s, v) <= 0,
    "like": _like,
    "nlike": lambda s, v: not _like(s, v),
    "in": lambda s, v: any(_compare(s, part.strip()) == 0 for part in v.split(",")),
    "nin": lambda s, v: not any(_compare(s, part.strip()) == 0 for part in v.split(",")),
    "finset": _in_set,
    "nfinset": lambda s, v: not _in_set(s, v),
}


def matches(entity: Mapping[str, Any], flt: Filter) -> bool:
    stored = entity.get(flt.field)
    condition = flt.condition_type or "eq"
    if condition == "null":
        return stored is None
    if condition == "notnull":
        return stored is not None
    if stored is None or isinstance(stored, dict | list):
        return False  # SQL: a comparison with NULL is never true
    return _MATCHERS[condition](stored, _text(flt.value))


def _sort_key(value: Any) -> tuple[int, float, str]:
    """NULLs first (MySQL ASC), then numbers, then text."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, int | float):
        return (1, float(value), "")
    return (2, 0.0, str(value).casefold())


def apply(entities: Iterable[Mapping[str, Any]], criteria: SearchCriteria) -> tuple[list[Any], int]:
    """(the requested page, total_count) of ``entities`` (given in their natural id order)."""
    found = [e for e in entities
             if all(any(matches(e, f) for f in group) for group in criteria.filter_groups if group)]
    for sort_field, direction in reversed(criteria.sort_orders):
        found.sort(key=lambda e, f=sort_field: _sort_key(e.get(f)), reverse=direction == "DESC")
    total = len(found)
    if criteria.page_size:
        size = criteria.page_size
        last_page = max(1, -(-total // size))
        page = min(max(criteria.current_page or 1, 1), last_page)
        found = found[(page - 1) * size: page * size]
    return found, total


def search_result(entities: Iterable[Mapping[str, Any]], criteria: SearchCriteria,
                  render: Callable[[Any], Any] = lambda e: e) -> dict[str, Any]:
    page, total = apply(entities, criteria)
    return {"items": [render(e) for e in page], "search_criteria": criteria.echo(), "total_count": total}
