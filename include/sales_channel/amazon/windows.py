"""The searchOrders window rules of Orders API v2026-01-01, checked before a call is made.

Amazon answers a broken window with a 400 after a call that costs one token of a 0.0056 req/s plan
(three minutes of budget); checking here costs nothing and names the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sales_channel.amazon.errors import InvalidParameterError, SearchWindowError
from sales_channel.amazon.models import FulfilledBy, FulfillmentStatus, IncludedData

# Amazon requires the end of a window (lastUpdatedBefore/createdBefore) to be this far in the past.
MIN_WINDOW_END_AGE = timedelta(minutes=2)
MAX_RESULTS_PER_PAGE = 100
MAX_MARKETPLACE_IDS = 50


def to_amazon_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, the form Amazon documents."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SearchWindow:
    """A validated searchOrders query (everything but the pagination token)."""

    created_after: datetime | None = None
    created_before: datetime | None = None
    last_updated_after: datetime | None = None
    last_updated_before: datetime | None = None
    marketplace_ids: tuple[str, ...] = ()
    fulfillment_statuses: frozenset[FulfillmentStatus] = frozenset()
    fulfilled_by: frozenset[FulfilledBy] = frozenset()
    included_data: frozenset[IncludedData] = frozenset()
    max_results_per_page: int = MAX_RESULTS_PER_PAGE

    def validate(self, now: datetime) -> None:
        """Raise ``SearchWindowError`` naming the first parameter that breaks Amazon's rules."""
        for name in ("created_after", "created_before", "last_updated_after", "last_updated_before"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise SearchWindowError(_camel(name), "naive datetime; pass an aware datetime (UTC)")
        if (self.created_after is None) == (self.last_updated_after is None):
            raise SearchWindowError("createdAfter/lastUpdatedAfter", "exactly one of them is required")
        if self.last_updated_after is not None:
            for name in ("created_after", "created_before"):
                if getattr(self, name) is not None:
                    raise SearchWindowError(_camel(name), "not allowed together with lastUpdatedAfter")
            self._check_end("lastUpdatedBefore", self.last_updated_after, self.last_updated_before, now)
        else:
            if self.last_updated_before is not None:
                raise SearchWindowError("lastUpdatedBefore", "not allowed together with createdAfter")
            self._check_end("createdBefore", self.created_after, self.created_before, now)
        start = self.created_after or self.last_updated_after
        if start is not None and start > now - MIN_WINDOW_END_AGE:  # the window ends 2 minutes ago at the latest
            raise SearchWindowError(_camel("created_after" if self.created_after else "last_updated_after"),
                                    f"{to_amazon_time(start)} must be at least 2 minutes before the time of "
                                    f"the request ({to_amazon_time(now)}): the window cannot end later")
        if not 1 <= self.max_results_per_page <= MAX_RESULTS_PER_PAGE:
            raise SearchWindowError("maxResultsPerPage",
                                    f"must be between 1 and {MAX_RESULTS_PER_PAGE}, got {self.max_results_per_page}")
        if not all(isinstance(m, str) and m.strip() for m in self.marketplace_ids):
            raise SearchWindowError("marketplaceIds", f"marketplace ids must be non-empty strings, got "
                                                      f"{list(self.marketplace_ids)!r}")
        if len(self.marketplace_ids) > MAX_MARKETPLACE_IDS:
            raise SearchWindowError("marketplaceIds", f"at most {MAX_MARKETPLACE_IDS} marketplaces per search")

    @staticmethod
    def _check_end(parameter: str, start: datetime, end: datetime | None, now: datetime) -> None:
        if end is None:
            return
        if end < start:
            raise SearchWindowError(parameter, f"{to_amazon_time(end)} is before the start of the window "
                                               f"{to_amazon_time(start)}")
        if end > now - MIN_WINDOW_END_AGE:
            raise SearchWindowError(parameter, f"{to_amazon_time(end)} must be at least 2 minutes before the "
                                               f"time of the request ({to_amazon_time(now)})")

    def query(self) -> dict[str, str]:
        """The query parameters (arrays comma-separated, as Swagger 2.0 ``csv``), in a stable order."""
        params: dict[str, str] = {}
        for name in ("created_after", "created_before", "last_updated_after", "last_updated_before"):
            value = getattr(self, name)
            if value is not None:
                params[_camel(name)] = to_amazon_time(value)
        for name, values in (("marketplaceIds", self.marketplace_ids),
                             ("fulfillmentStatuses", sorted(self.fulfillment_statuses)),
                             ("fulfilledBy", sorted(self.fulfilled_by)),
                             ("includedData", sorted(self.included_data))):
            if values:
                params[name] = ",".join(values)
        params["maxResultsPerPage"] = str(self.max_results_per_page)
        return params


def enum_set(enum: type, values: Iterable[str] | None, parameter: str) -> frozenset:
    """``values`` as a set of ``enum`` members, with an error naming the parameter and the bad value."""
    if isinstance(values, str):  # a single value, not an iterable of characters
        values = [values]
    result = set()
    for value in values or ():
        try:
            result.add(enum(value))
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise InvalidParameterError(parameter, f"unknown value {value!r} (allowed: {allowed})") from None
    return frozenset(result)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
