"""The reconciliation's frames: their column contracts, their validation, and the order report's conversion.

Every amount is an ``int64`` in minor units of its currency (``sales_channel.domain.money.minor_units``),
every time a UTC ``datetime64`` (any unit; the report's conversion gives ns), every id or code a string
column (``object``, ``str``/``string`` or ``category``). ``validate_*`` raise ``ValueError`` naming the
frame and the column (and the order, for a bad value). ``Inputs`` validates its frames when built.

One addition to the contract (reconciliation-contract.md): ``outbox`` carries ``last_error`` (string, may
be empty): whether a failed row may be requeued depends on it (``compare.TRANSIENT_ERRORS``).

``commerce_orders`` must hold every Commerce order that carries, or is linked to, an Amazon order of the
report (whenever it was created), plus the store's other Amazon-payment orders the loaders want checked
for orphans: a report order linked to an entity the frame lacks is reported as missing in Commerce.

``amazon_items_from_report`` converts the raw order report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_*``, read
with ``pd.read_csv(sep="\\t", dtype=str, keep_default_na=False)``) into ``amazon_items``, vectorised:

* amounts are split on "." and padded to the currency's minor units (never through float or a Decimal per
  cell); an empty cell is no charge (Amazon leaves absent charges empty, e.g. a pending order's price),
  anything else must be a plain decimal with at most the currency's decimals (trailing zeros allowed);
* discounts count as amounts off whatever their sign in the report;
* ``order-status`` is normalised from the report's spellings (``amazon.reports.ORDER_STATUSES``: Pending,
  Unshipped, Shipping, Shipped, Cancelled) and Amazon's others (PendingAvailability → pending,
  PartiallyShipped → partially_shipped, Canceled → cancelled, Unfulfillable → unfulfillable: a sixth
  status the contract lacked, never imported, so a report holding one is not refused); ``fulfillment-channel``
  too (Amazon/AFN → amazon, Merchant/MFN → merchant); any other value is refused, naming it and the order;
* the string columns but ``sku`` come as ``category`` (``CATEGORICAL_ITEM_COLUMNS``): the order id repeats
  over an order's items, the others have few values — less memory, and ``classify`` hashes only the
  categories (``sku`` stays a string column: the loaders translate it through the SKU map);
* ``quantity_shipped`` is the report's ``quantity-shipped`` when it has one, else the quantity of items
  whose ``item-status`` is Shipped (at least one unit shipped) or of a shipped order, else 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sales_channel.amazon.reports import FULFILLMENT_CHANNELS, ORDER_REPORT_COLUMNS
from sales_channel.amazon.reports import ORDER_STATUSES as REPORT_ORDER_STATUSES
from sales_channel.domain.errors import shown
from sales_channel.domain.money import AMOUNT_PATTERN, minor_units

STRING, INT64, NULLABLE_INT, DATETIME = "string", "int64", "Int64", "datetime"

ORDER_STATUSES = ("pending", "unshipped", "partially_shipped", "shipped", "cancelled", "unfulfillable")
FULFILLMENTS = ("merchant", "amazon")
OUTBOX_STATUSES = ("pending", "claimed", "sent", "confirmed", "failed", "held")

AMAZON_ITEMS: dict[str, str] = {
    "amazon_order_id": STRING, "purchase_date": DATETIME, "last_updated": DATETIME, "order_status": STRING,
    "fulfillment": STRING, "marketplace": STRING, "sku": STRING, "quantity": INT64, "quantity_shipped": INT64,
    "currency": STRING, "total_minor": INT64,
}
COMMERCE_ORDERS: dict[str, str] = {
    "commerce_entity_id": INT64, "increment_id": STRING, "ext_order_id": STRING, "state": STRING,
    "currency": STRING, "grand_total_minor": INT64, "created_at": DATETIME, "relation_child_id": NULLABLE_INT,
}
COMMERCE_ITEMS: dict[str, str] = {
    "commerce_entity_id": INT64, "sku": STRING, "qty_ordered": INT64, "qty_shipped": INT64,
    "qty_refunded": INT64, "qty_canceled": INT64,
}
LINKS: dict[str, str] = {"amazon_order_id": STRING, "commerce_entity_id": INT64}
QUARANTINE: dict[str, str] = {"amazon_order_id": STRING, "reason_code": STRING, "first_seen_at": DATETIME}
OUTBOX: dict[str, str] = {
    "kind": STRING, "source_id": STRING, "status": STRING, "amazon_order_id": STRING, "updated_at": DATETIME,
    "last_error": STRING,
}
FINDINGS: dict[str, str] = {
    "kind": STRING, "amazon_order_id": STRING, "commerce_entity_id": NULLABLE_INT, "detail": STRING,
    "repair": STRING, "outbox_kind": STRING, "outbox_source_id": STRING,
}

# String columns that may hold no value (<NA> or ""); every other column must be filled on every row.
_MAY_BE_EMPTY = {
    "commerce_orders": {"ext_order_id", "relation_child_id"},
    "outbox": {"amazon_order_id", "last_error"},
    "amazon_items": {"marketplace", "currency"},
}


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    """A frame with these columns and no row, typed as the contract says (for a side with nothing)."""
    dtypes = {STRING: "string", INT64: "int64", NULLABLE_INT: "Int64", DATETIME: "datetime64[ns, UTC]"}
    return pd.DataFrame({name: pd.Series(dtype=dtypes[kind]) for name, kind in columns.items()})


def _is_string(dtype: object) -> bool:
    return (dtype == object or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype))  # noqa: E721


def _first_bad(frame: pd.DataFrame, bad: np.ndarray | pd.Series) -> str:
    """Which order (or row) a bad value is on, for the message."""
    position = int(np.flatnonzero(np.asarray(bad))[0])
    if "amazon_order_id" in frame.columns and isinstance(frame["amazon_order_id"].iloc[position], str):
        return f"order {frame['amazon_order_id'].iloc[position]}"
    if "commerce_entity_id" in frame.columns:
        return f"Commerce order {frame['commerce_entity_id'].iloc[position]}"
    return f"row {position}"


def validate(frame: pd.DataFrame, name: str, columns: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` if it has every column of the contract with its type (extra columns are left alone)."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame {name}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"frame {name}: column {missing[0]!r} is missing (has {sorted(map(str, frame.columns))})")
    for column, kind in columns.items():
        values = frame[column]
        dtype = values.dtype
        if kind == STRING:
            good = _is_string(dtype)
        elif kind == INT64:
            good = isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.integer)
        elif kind == NULLABLE_INT:
            good = pd.api.types.is_integer_dtype(dtype)
        else:
            good = isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
        if not good:
            raise ValueError(f"frame {name}: column {column!r} must be {kind}"
                             f"{' (UTC)' if kind == DATETIME else ''}, got {dtype}")
        if column not in _MAY_BE_EMPTY.get(name, ()) and kind != INT64:
            absent = values.isna().to_numpy()
            if kind == STRING:
                absent = absent | (values == "").fillna(True).to_numpy(dtype=bool)
            if absent.any():
                raise ValueError(f"frame {name}: column {column!r} has no value on {_first_bad(frame, absent)}")
    return frame


def _refuse_unknown(frame: pd.DataFrame, name: str, column: str, allowed: tuple[str, ...]) -> None:
    bad = ~frame[column].isin(allowed).to_numpy()
    if bad.any():
        value = frame[column].iloc[int(np.flatnonzero(bad)[0])]
        raise ValueError(f"frame {name}: column {column!r} has {shown(value)} on {_first_bad(frame, bad)} "
                         f"(expected one of {', '.join(allowed)})")


def _refuse_negative(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    for column in columns:
        bad = frame[column].to_numpy() < 0
        if bad.any():
            raise ValueError(f"frame {name}: column {column!r} is negative on {_first_bad(frame, bad)}")


def _refuse_duplicates(frame: pd.DataFrame, name: str, column: str) -> None:
    repeated = frame[column].duplicated().to_numpy()
    if repeated.any():
        value = frame[column].iloc[int(np.flatnonzero(repeated)[0])]
        raise ValueError(f"frame {name}: column {column!r} holds {shown(str(value))} more than once")


def validate_amazon_items(frame: pd.DataFrame) -> pd.DataFrame:
    validate(frame, "amazon_items", AMAZON_ITEMS)
    _refuse_unknown(frame, "amazon_items", "order_status", ORDER_STATUSES)
    _refuse_unknown(frame, "amazon_items", "fulfillment", FULFILLMENTS)
    _refuse_negative(frame, "amazon_items", ("quantity", "quantity_shipped"))
    return frame


def validate_commerce_orders(frame: pd.DataFrame) -> pd.DataFrame:
    validate(frame, "commerce_orders", COMMERCE_ORDERS)
    _refuse_duplicates(frame, "commerce_orders", "commerce_entity_id")
    return frame


def validate_commerce_items(frame: pd.DataFrame) -> pd.DataFrame:
    validate(frame, "commerce_items", COMMERCE_ITEMS)
    _refuse_negative(frame, "commerce_items", ("qty_ordered", "qty_shipped", "qty_refunded", "qty_canceled"))
    return frame


def validate_links(frame: pd.DataFrame) -> pd.DataFrame:
    validate(frame, "links", LINKS)
    _refuse_duplicates(frame, "links", "amazon_order_id")
    return frame


def validate_quarantine(frame: pd.DataFrame) -> pd.DataFrame:
    return validate(frame, "quarantine", QUARANTINE)


def validate_outbox(frame: pd.DataFrame) -> pd.DataFrame:
    validate(frame, "outbox", OUTBOX)
    _refuse_unknown(frame, "outbox", "status", OUTBOX_STATUSES)
    return frame


@dataclass(frozen=True)
class Inputs:
    """The three sides of one store's reconciliation, validated when built."""

    amazon_items: pd.DataFrame
    commerce_orders: pd.DataFrame
    commerce_items: pd.DataFrame
    links: pd.DataFrame
    quarantine: pd.DataFrame
    outbox: pd.DataFrame

    def __post_init__(self) -> None:
        validate_amazon_items(self.amazon_items)
        validate_commerce_orders(self.commerce_orders)
        validate_commerce_items(self.commerce_items)
        validate_links(self.links)
        validate_quarantine(self.quarantine)
        validate_outbox(self.outbox)


# -- the order report -------------------------------------------------------------------------------

# Given as categories: few distinct values (an order id per order's items), so less memory, and classify
# hashes only the categories. Not ``sku``: the loaders translate it through the SKU map (``replace``).
CATEGORICAL_ITEM_COLUMNS = ("amazon_order_id", "order_status", "fulfillment", "marketplace", "currency")
CHARGES = ("item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax")
DISCOUNTS = ("item-promotion-discount", "ship-promotion-discount")
# The report's own spellings (amazon.reports) and the other spellings Amazon uses for the same status.
_REPORT_STATUSES = {key.lower(): value for key, value in REPORT_ORDER_STATUSES.items()} | {
    "pendingavailability": "pending", "partiallyshipped": "partially_shipped", "canceled": "cancelled",
    "unfulfillable": "unfulfillable"}
_REPORT_FULFILLMENTS = {key.lower(): value for key, value in FULFILLMENT_CHANNELS.items()} | {
    "afn": "amazon", "mfn": "merchant"}
_COUNT = r"[0-9]{1,9}"


class _Report:
    """The raw report's columns, each refused with its column's name and the first bad order."""

    def __init__(self, raw: pd.DataFrame) -> None:
        if not isinstance(raw, pd.DataFrame):
            raise ValueError(f"order report: expected a pandas DataFrame, got {type(raw).__name__}")
        missing = [column for column in ORDER_REPORT_COLUMNS if column not in raw.columns]
        if missing:
            raise ValueError(f"order report: column {missing[0]!r} is missing")
        self.raw = raw
        self.order_ids = raw["amazon-order-id"].astype("string").str.strip()

    def fail(self, column: str, bad: np.ndarray, problem: str) -> ValueError:
        position = int(np.flatnonzero(bad)[0])
        value = self.raw[column].iloc[position]
        return ValueError(f"order report: column {column!r} of order {self.order_ids.iloc[position]} "
                          f"has {shown(str(value))}: {problem}")

    def text(self, column: str) -> pd.Series:
        return self.raw[column].astype("string").fillna("").str.strip()

    def required(self, column: str) -> pd.Series:
        values = self.text(column)
        empty = (values == "").to_numpy(dtype=bool)
        if empty.any():
            raise self.fail(column, empty, "a value is required")
        return values

    def time(self, column: str) -> pd.Series:
        values = self.required(column)
        times = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        bad = times.isna().to_numpy()
        if bad.any():
            raise self.fail(column, bad, "not an ISO 8601 time")
        return times.astype("datetime64[ns, UTC]")

    def count(self, column: str) -> np.ndarray:
        values = self.required(column)
        bad = ~values.str.fullmatch(_COUNT).to_numpy(dtype=bool)
        if bad.any():
            raise self.fail(column, bad, "not a whole number of units")
        return values.astype("int64").to_numpy()

    def mapped(self, column: str, mapping: dict[str, str]) -> pd.Series:
        values = self.required(column)
        normal = values.str.lower().map(mapping)
        bad = normal.isna().to_numpy()
        if bad.any():
            raise self.fail(column, bad, "unknown value")
        return normal.astype("string")

    def minor(self, column: str, exponents: np.ndarray) -> np.ndarray:
        """The column in minor units, parsing each distinct text once (prices repeat across rows)."""
        codes, texts = pd.factorize(self.text(column).to_numpy(dtype=object))
        if not len(texts):
            return np.zeros(0, dtype=np.int64)
        texts = pd.Series(texts, dtype="string")
        bad_text = ~(texts.str.fullmatch(AMOUNT_PATTERN) | (texts == "")).to_numpy(dtype=bool)
        if bad_text.any():
            raise self.fail(column, bad_text[codes], "not a decimal amount")
        negative = texts.str.startswith("-").to_numpy(dtype=bool)
        parts = texts.str.lstrip("-").str.partition(".")
        whole = parts[0].replace("", "0").astype("int64").to_numpy()
        result = np.zeros(len(codes), dtype=np.int64)
        for exponent in np.unique(exponents):
            rows = exponents == exponent
            used = np.zeros(len(texts), dtype=bool)
            used[codes[rows]] = True
            extra = parts[2].str.slice(int(exponent)).str.strip("0") != ""
            too_precise = (extra.to_numpy(dtype=bool) & used)
            if too_precise.any():
                raise self.fail(column, too_precise[codes] & rows,
                                f"more decimals than its currency has ({int(exponent)})")
            fraction = parts[2].str.slice(0, int(exponent)).str.ljust(int(exponent), "0")
            fraction_value = fraction.astype("int64").to_numpy() if exponent > 0 else np.zeros(len(texts), np.int64)
            value = whole * 10 ** int(exponent) + fraction_value
            result[rows] = np.where(negative, -value, value)[codes[rows]]
        return result


def amazon_items_from_report(raw: pd.DataFrame,
                             currency_exponent: Callable[[str], int] = minor_units) -> pd.DataFrame:
    """The typed ``amazon_items`` frame of a raw order report (see the module docstring for the rules)."""
    report = _Report(raw)
    bad_ids = (report.order_ids.fillna("") == "").to_numpy(dtype=bool)
    if bad_ids.any():
        raise ValueError(f"order report: column 'amazon-order-id' is empty on row {int(np.flatnonzero(bad_ids)[0])}")
    currency = report.text("currency").str.upper()
    currency_codes, currencies = pd.factorize(currency.to_numpy(dtype=object))
    exponents = np.array([currency_exponent(c) for c in currencies], dtype=np.int64)[currency_codes]
    total = np.zeros(len(raw), dtype=np.int64)
    for column in CHARGES:
        total += report.minor(column, exponents)
    for column in DISCOUNTS:
        total -= np.abs(report.minor(column, exponents))
    unpriced = (currency == "").to_numpy(dtype=bool) & (total != 0)
    if unpriced.any():
        raise report.fail("currency", unpriced, "an order with amounts needs a currency")
    status = report.mapped("order-status", _REPORT_STATUSES)
    quantity = report.count("quantity")
    if "quantity-shipped" in raw.columns:
        shipped = report.count("quantity-shipped")
    else:  # item-status Shipped: at least one unit shipped; the order's status says the rest
        item_shipped = (report.text("item-status").str.lower() == "shipped").to_numpy(dtype=bool)
        shipped = np.where(item_shipped | (status == "shipped").to_numpy(dtype=bool), quantity, 0)
    items = pd.DataFrame({
        "amazon_order_id": report.order_ids,
        "purchase_date": report.time("purchase-date"),
        "last_updated": report.time("last-updated-date"),
        "order_status": status,
        "fulfillment": report.mapped("fulfillment-channel", _REPORT_FULFILLMENTS),
        "marketplace": report.text("sales-channel"),
        "sku": report.required("sku"),
        "quantity": quantity,
        "quantity_shipped": shipped.astype(np.int64),
        "currency": currency,
        "total_minor": total,
    })
    for column in CATEGORICAL_ITEM_COLUMNS:
        items[column] = items[column].astype("category")
    return validate_amazon_items(items.reset_index(drop=True))
