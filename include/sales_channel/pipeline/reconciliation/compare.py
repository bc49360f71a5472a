"""Classify one store's reconciliation into findings, each with its planned repair: pure, vectorised pandas.

``classify(inputs, policy)`` joins the sides on integer codes (one ``pd.factorize`` over the Amazon order
ids of every frame), aggregates with sorted reductions and ``bincount``, and builds a ``detail`` sentence
only for the orders found wrong. No I/O, no per-order Python loop (the loops run over finding kinds,
currencies' exponents, or the hops of admin-edit chains).

The rules (reconciliation-contract.md), with the choices made here:

* **Live Commerce orders.** An order canceled by an admin edit (state canceled with ``relation_child_id``)
  is replaced by its copy: it is never a duplicate, an orphan or compared; a link to it follows the chain
  of copies to the live one.
* **Expected in Commerce**: the import is enabled, bought on or after ``connected_since``, merchant-fulfilled
  and unshipped / partially shipped / shipped, or Amazon-fulfilled and shipped when ``import_fba``.
* ``missing_in_commerce``: expected, no Commerce order carries its id, not quarantined, and no link
  (repair ``reimport``) — or a report order whose link names an entity Commerce does not return (a person:
  deleted?). Quarantined orders are the quarantine's (``stuck_in_quarantine`` once too old).
* ``unlinked_commerce_order``: a report order carried by exactly one live Commerce order and without a
  link (or with a link to an entity Commerce does not return) → ``relink`` to that order.
* ``orphan_commerce_order``: a live Commerce order whose Amazon order id is neither in the report nor in
  our links (nor does a link name the order), or that carries no id at all. The loaders pass every link of
  the store, so an order bought before the report's window is known, not an orphan.
* ``duplicate_commerce_orders``: more than one live Commerce order for one known Amazon order (one
  finding per Amazon order; ``commerce_entity_id`` names a copy that is not the linked one).
* Compared: each report order with its Commerce order (the linked one, else the only live one):
  cancellation first (Commerce cancelled = state canceled, or closed with nothing shipped — a refund of an
  unshipped order is Amazon's cancel); only orders cancelled on neither side are compared further.
  Shipment per order (any unit shipped on one side, none on the other). ``shipped_in_commerce_only`` is
  ``requeue`` when the order's shipment-confirmation row can be sent again (pending, claimed, sent, or
  failed with a transient error; ``outbox_source_id`` names it), else a person's.
* ``total_mismatch`` / ``item_mismatch`` compare what was **ordered**, only for unshipped / partially shipped
  / shipped orders (a cancelled order's report row no longer carries its prices): Amazon's sum of
  ``total_minor`` against ``grand_total_minor`` (a refund leaves grand_total as ordered, so ``qty_refunded``
  never makes a mismatch), a currency mismatch included; per SKU Amazon ``quantity`` against
  ``qty_ordered`` (a SKU on one side only counts when its quantity is not 0).
* ``stuck_in_quarantine``: unresolved for longer than ``quarantine_stuck_after``.
* ``outbox_unsent``: pending, claimed, sent or held and not updated for longer than ``outbox_stuck_after``
  → ``requeue`` (held: a person, it waits for something on our side, e.g. a tracking number).
* ``outbox_failed``: every failed row. The outbox makes a transient failure due again (pending), so a
  failed row was given up: ``requeue`` only when its ``last_error`` starts with a transient error
  (``TRANSIENT_ERRORS``: 5xx, throttling, transport, ambiguous writes); every refusal — Amazon's, Commerce's,
  our refund planner's — needs a person (sent again unchanged it would be refused again).

``Result.findings`` has the contract's columns plus ``commerce_increment_id`` (for the findings table),
``outbox_kind`` and ``outbox_source_id`` (the row a ``requeue`` sends again). ``counts`` has every kind
(0 included). ``orders_checked``: the report's orders, the Commerce orders (by Amazon id; each id-less one
on its own), the quarantined ones and any other order a finding names; ``ok``: those without a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from sales_channel.domain.money import minor_units
from sales_channel.pipeline.reconciliation.frames import FINDINGS, ORDER_STATUSES, Inputs, empty_frame
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND

__all__ = ["KINDS", "TRANSIENT_ERRORS", "Inputs", "Policy", "Result", "classify"]

KINDS = (
    "missing_in_commerce", "unlinked_commerce_order", "orphan_commerce_order", "duplicate_commerce_orders",
    "shipped_on_amazon_only", "shipped_in_commerce_only", "cancelled_on_amazon_only",
    "cancelled_in_commerce_only", "total_mismatch", "item_mismatch", "stuck_in_quarantine", "outbox_unsent",
    "outbox_failed",
)
REIMPORT, REQUEUE, RELINK = "reimport", "requeue", "relink"
# last_error prefixes of failures worth sending again (``outbox_work.describe_error`` writes the class first).
TRANSIENT_ERRORS = ("ambiguous", "ServerError", "QuotaExceededError", "TransportError", "AmbiguousWriteError",
                    "DocumentTransferError", "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout")
MAX_EDIT_HOPS = 20  # an order edited more often than this is left to a person (its link resolves to nothing)

UNSHIPPED, PARTIAL, SHIPPED, CANCELLED = (ORDER_STATUSES.index(name) for name in
                                           ("unshipped", "partially_shipped", "shipped", "cancelled"))
MERCHANT, AMAZON = 0, 1
_UNSENT = ("pending", "claimed", "sent", "held")
_DETAIL_ERROR_CHARS = 200


@dataclass(frozen=True)
class Policy:
    """The store's rules for one reconciliation; ``now`` is its clock (the window's end)."""

    now: datetime
    connected_since: datetime
    import_enabled: bool = True
    import_fba: bool = True
    quarantine_stuck_after: timedelta = timedelta(hours=24)
    outbox_stuck_after: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        for name in ("now", "connected_since"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"policy: {name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class Result:
    findings: pd.DataFrame
    orders_checked: int
    ok: int
    counts: dict[str, int]


def _ns(moment: datetime) -> int:
    return pd.Timestamp(moment).tz_convert("UTC").as_unit("ns").value


def _times(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="datetime64[ns]").view(np.int64)  # UTC nanoseconds


def _ids(series: pd.Series, *, may_be_empty: bool = False) -> np.ndarray:
    """Object array of the column's strings (None for <NA> or "" in a column that may have no value)."""
    if not may_be_empty:  # validated: a string on every row
        return series.to_numpy(dtype=object)
    values = series.to_numpy(dtype=object, na_value=None)  # may be the frame's own array: never written to
    return np.where(values == "", None, values) if len(values) else values


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values without consecutive repeats, and each value's run (a report lists an order's items together,
    so only about one id per order is hashed)."""
    if not len(values):
        return values, np.zeros(0, dtype=np.int64)
    starts = np.r_[True, values[1:] != values[:-1]]
    return values[starts], np.cumsum(starts) - 1


def _joint_codes(parts: list[pd.Series | np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Integer codes of several string columns over the union of their values (-1: no value), and the values.

    Only a categorical's categories are hashed, and of other columns each run of repeats once."""
    pieces, positions = [], []
    for part in parts:
        if isinstance(part, pd.Series) and isinstance(part.dtype, pd.CategoricalDtype):
            pieces.append(np.asarray(part.cat.categories, dtype=object))
            positions.append(part.cat.codes.to_numpy(dtype=np.int64))
        else:
            piece, position = _runs(part if isinstance(part, np.ndarray) else _ids(part))
            pieces.append(piece)
            positions.append(position)
    codes, uniques = pd.factorize(np.concatenate(pieces), use_na_sentinel=True)
    joint, offset = [], 0
    for piece, position in zip(pieces, positions, strict=True):
        local = codes[offset:offset + len(piece)]
        offset += len(piece)
        joint.append(np.where(position >= 0, local[np.maximum(position, 0)], -1) if len(local)
                     else np.full(len(position), -1, dtype=np.int64))
    return joint, np.asarray(uniques, dtype=object)


def _aggregate(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and the sum of their values."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    if not len(keys):
        return keys, values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(values[order], starts)


def _unmatched(keys: np.ndarray, values: np.ndarray, other_keys: np.ndarray, other_values: np.ndarray) -> np.ndarray:
    """The keys whose value differs from the other side's (absent there counts as 0)."""
    if not len(other_keys):
        return keys[values != 0]
    position = np.minimum(np.searchsorted(other_keys, keys), len(other_keys) - 1)
    there = other_keys[position] == keys
    return keys[np.where(there, other_values[position], 0) != values]


def _codes(series: pd.Series, rows: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    """The codes of ``series`` at ``rows`` among ``categories`` (a categorical is recoded, not hashed)."""
    return pd.Categorical(series.iloc[rows], categories=categories).codes.astype(np.int8)


def _cat(*parts: object) -> pd.Series:
    """Element-wise concatenation of strings, arrays and Series (all of one length) into a string Series."""
    length = next(len(p) for p in parts if not isinstance(p, str))
    total = pd.Series([""] * length, dtype="string")
    for part in parts:
        total = total + (part if isinstance(part, str) else pd.Series(np.asarray(part, dtype=object), dtype="string"))
    return total


def _money(minor: np.ndarray, currency: np.ndarray) -> pd.Series:
    """``12.34 USD`` / ``1500 JPY`` from minor units."""
    minor = np.asarray(minor, dtype=np.int64)
    names, codes = np.unique(np.asarray(currency, dtype=object).astype(str), return_inverse=True)
    exponents = np.array([minor_units(name) for name in names], dtype=np.int64)[codes] if len(minor) else codes
    text = pd.Series([""] * len(minor), dtype="string")
    for exponent in np.unique(exponents):
        rows = exponents == exponent
        amount = np.abs(minor[rows])
        whole = pd.Series(amount // 10 ** int(exponent), dtype="int64").astype("string")
        if exponent:
            fraction = pd.Series(amount % 10 ** int(exponent), dtype="int64").astype("string").str.zfill(int(exponent))
            whole = whole + "." + fraction
        sign = pd.Series(np.where(minor[rows] < 0, "-", ""), dtype="string")
        text[rows] = (sign + whole).to_numpy()
    return text + " " + pd.Series(np.asarray(currency, dtype=object), dtype="string").fillna("(no currency)")


def _hours(age_ns: np.ndarray) -> pd.Series:
    return pd.Series(np.round(np.asarray(age_ns) / 3.6e12, 1), dtype="float64").astype("string") + " h"


class _Sides:
    """The inputs on integer order codes: Amazon per order, Commerce per row and per order, links."""

    def __init__(self, inputs: Inputs) -> None:
        items, orders, links = inputs.amazon_items, inputs.commerce_orders, inputs.links
        self.entity = orders["commerce_entity_id"].to_numpy(dtype=np.int64)
        self.entity_index = pd.Index(self.entity)
        link_entity = links["commerce_entity_id"].to_numpy(dtype=np.int64)
        linked_row = self.entity_index.get_indexer(link_entity)
        # A link whose Commerce order carries its id takes that order's code: only the others are hashed.
        ext_ids, link_ids = _ids(orders["ext_order_id"], may_be_empty=True), _ids(links["amazon_order_id"])
        carried = linked_row >= 0
        carried[carried] = ext_ids[linked_row[carried]] == link_ids[carried]
        (self.item_code, ext_code, other_link_code, self.quarantine_code, self.outbox_code), self.ids = _joint_codes([
            items["amazon_order_id"], ext_ids, link_ids[~carried], inputs.quarantine["amazon_order_id"],
            _ids(inputs.outbox["amazon_order_id"], may_be_empty=True)])
        link_code = np.empty(len(link_ids), dtype=np.int64)
        link_code[carried] = ext_code[linked_row[carried]]
        link_code[~carried] = other_link_code
        n = self.n = len(self.ids)

        # Amazon: one row per order from its items (grouped by sorting the codes).
        order = np.argsort(self.item_code, kind="stable")
        sorted_codes = self.item_code[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(order) else order
        first = order[starts]
        report_codes = sorted_codes[starts]
        self.in_report = np.zeros(n, dtype=bool)
        self.in_report[report_codes] = True

        def per_order(column: str) -> np.ndarray:
            values = np.zeros(n, dtype=np.int64)
            if len(order):
                values[report_codes] = np.add.reduceat(items[column].to_numpy(dtype=np.int64)[order], starts)
            return values

        self.total = per_order("total_minor")
        self.quantity_shipped = per_order("quantity_shipped")
        self.status = np.full(n, -1, dtype=np.int8)
        self.status[report_codes] = _codes(items["order_status"], first, ORDER_STATUSES)
        self.fulfillment = np.full(n, -1, dtype=np.int8)
        self.fulfillment[report_codes] = _codes(items["fulfillment"], first, ("merchant", "amazon"))
        self.purchase = np.zeros(n, dtype=np.int64)
        self.purchase[report_codes] = _times(items["purchase_date"])[first]
        self.currency = np.full(n, None, dtype=object)
        self.currency[report_codes] = items["currency"].iloc[first].to_numpy(dtype=object, na_value=None)

        # Commerce: per row, and edits resolved.
        self.increment = orders["increment_id"].to_numpy(dtype=object)
        self.state = orders["state"].to_numpy(dtype=object)
        self.c_currency = orders["currency"].to_numpy(dtype=object, na_value=None)
        self.grand_total = orders["grand_total_minor"].to_numpy(dtype=np.int64)
        child = orders["relation_child_id"].to_numpy(dtype=np.int64, na_value=-1)
        canceled = self.state == "canceled"
        self.edited = canceled & (child >= 0)
        link_row = linked_row.copy()
        for _ in range(MAX_EDIT_HOPS):
            hop = link_row >= 0
            hop[hop] = self.edited[link_row[hop]]
            if not hop.any():
                break
            link_row[hop] = self.entity_index.get_indexer(child[link_row[hop]])
        else:
            link_row[hop] = -1
        self.link_entity = np.full(n, -1, dtype=np.int64)
        self.link_entity[link_code] = link_entity
        self.linked = np.zeros(n, dtype=bool)
        self.linked[link_code] = True
        self.link_row = np.full(n, -1, dtype=np.int64)
        self.link_row[link_code] = link_row

        # The Amazon order of each Commerce row: the id it carries, else the link naming it (or its copy).
        row_code = ext_code.copy()
        by_link = np.full(len(orders), -1, dtype=np.int64)
        by_link[linked_row[linked_row >= 0]] = link_code[linked_row >= 0]
        by_link[link_row[link_row >= 0]] = link_code[link_row >= 0]
        row_code[row_code < 0] = by_link[row_code < 0]
        self.row_code = row_code
        self.live = ~self.edited
        known_row = row_code >= 0
        live_known = self.live & known_row
        self.n_live = np.bincount(row_code[live_known], minlength=n)
        self.n_any = np.bincount(row_code[known_row], minlength=n)
        self.live_row = np.full(n, -1, dtype=np.int64)
        self.live_row[row_code[live_known]] = np.flatnonzero(live_known)
        self.primary = np.where(self.link_row >= 0, self.link_row, np.where(self.n_live == 1, self.live_row, -1))

        item_row = self.entity_index.get_indexer(inputs.commerce_items["commerce_entity_id"].to_numpy(np.int64))
        self.item_row = item_row
        found = item_row >= 0
        shipped = inputs.commerce_items["qty_shipped"].to_numpy(dtype=np.int64)
        # Float weights are exact for unit counts (far below 2**53).
        self.c_shipped = np.bincount(item_row[found], weights=shipped[found], minlength=len(orders)).astype(np.int64)
        self.c_cancelled = canceled | ((self.state == "closed") & (self.c_shipped == 0))

        self.quarantined = np.zeros(n, dtype=bool)
        self.quarantined[self.quarantine_code[self.quarantine_code >= 0]] = True


class _Findings:
    def __init__(self, sides: _Sides) -> None:
        self.sides, self.frames = sides, []

    def add(self, kind: str, codes: np.ndarray, rows: np.ndarray, detail: pd.Series, repair: object = None,
            outbox_kind: object = None, outbox_source: object = None) -> None:
        """Findings of ``kind``: Amazon order codes (-1: none) and Commerce rows (-1: none), one each."""
        if not len(codes):
            return
        s = self.sides
        has_row = rows >= 0
        entity = pd.array(np.where(has_row, s.entity[np.maximum(rows, 0)] if len(s.entity) else 0, 0), dtype="Int64")
        entity[~has_row] = pd.NA
        increment = np.where(has_row, s.increment[np.maximum(rows, 0)] if len(s.increment) else None, None)
        ids = np.where(codes >= 0, s.ids[np.maximum(codes, 0)] if s.n else None, None)
        size = len(codes)
        self.frames.append(pd.DataFrame({
            "kind": pd.Series([kind] * size, dtype="string"),
            "amazon_order_id": pd.Series(ids, dtype="string"),
            "commerce_entity_id": entity,
            "detail": detail.reset_index(drop=True).astype("string"),
            "repair": pd.Series(np.broadcast_to(np.asarray(repair, dtype=object), size), dtype="string"),
            "outbox_kind": pd.Series(np.broadcast_to(np.asarray(outbox_kind, dtype=object), size), dtype="string"),
            "outbox_source_id": pd.Series(np.broadcast_to(np.asarray(outbox_source, dtype=object), size),
                                          dtype="string"),
            "commerce_increment_id": pd.Series(increment, dtype="string"),
            "_code": codes,
            "_row": rows,
        }))

    def result(self, checked: np.ndarray, idless_rows: int) -> Result:
        columns = [*FINDINGS, "commerce_increment_id"]
        if self.frames:
            findings = pd.concat(self.frames, ignore_index=True)
        else:
            findings = empty_frame({**FINDINGS, "commerce_increment_id": "string"}).assign(
                _code=np.empty(0, np.int64), _row=np.empty(0, np.int64))
        codes = findings["_code"].to_numpy()
        flagged = np.zeros(self.sides.n, dtype=bool)
        flagged[codes[codes >= 0]] = True
        idless_flagged = int(np.unique(findings["_row"].to_numpy()[(codes < 0) & (findings["_row"].to_numpy() >= 0)]).size)
        checked = checked | flagged
        orders_checked = int(checked.sum()) + idless_rows
        counts = dict.fromkeys(KINDS, 0) | findings["kind"].value_counts().astype(int).to_dict()
        return Result(findings=findings[columns].reset_index(drop=True), orders_checked=orders_checked,
                      ok=orders_checked - int(flagged.sum()) - idless_flagged, counts=counts)


def _status_names(codes: np.ndarray) -> np.ndarray:
    return np.asarray(ORDER_STATUSES, dtype=object)[codes]


def classify(inputs: Inputs, policy: Policy) -> Result:
    """Every discrepancy between the sides of ``inputs`` under ``policy``, with its planned repair."""
    s = _Sides(inputs)
    out = _Findings(s)
    now = _ns(policy.now)

    # -- presence ---------------------------------------------------------------------------------
    status, fulfillment = s.status, s.fulfillment
    expected = (policy.import_enabled & s.in_report & (s.purchase >= _ns(policy.connected_since))
                & (((fulfillment == MERCHANT) & np.isin(status, (UNSHIPPED, PARTIAL, SHIPPED)))
                   | ((fulfillment == AMAZON) & policy.import_fba & (status == SHIPPED))))
    link_lost = s.linked & (s.link_row < 0)
    absent = s.n_any == 0
    codes = np.flatnonzero((expected & absent & ~s.linked & ~s.quarantined) | (s.in_report & link_lost & absent))
    lost = s.linked[codes]
    where = np.where(lost, _cat(" is linked to Commerce order entity ", s.link_entity[codes].astype(str),
                                ", which Commerce does not return, and no Commerce order carries its id"),
                     " has no Commerce order, no link and no quarantine entry")
    out.add("missing_in_commerce", codes, np.full(len(codes), -1),
            _cat("Amazon order ", s.ids[codes], " (", _status_names(status[codes]), ", ",
                 np.asarray(["merchant", "Amazon"], dtype=object)[fulfillment[codes]], "-fulfilled)", where),
            np.where(lost, None, REIMPORT))

    codes = np.flatnonzero(s.in_report & (s.n_live == 1) & (~s.linked | link_lost))
    rows = s.live_row[codes]
    lost = s.linked[codes]
    out.add("unlinked_commerce_order", codes, rows,
            _cat("Commerce order ", s.increment[rows], " carries Amazon order ", s.ids[codes],
                 np.where(lost, _cat(" but our link names entity ", s.link_entity[codes].astype(str),
                                     ", which Commerce does not return"), " but has no link")),
            RELINK)

    known = s.in_report | s.linked
    rows = np.flatnonzero(s.live & ((s.row_code < 0) | ~known[np.maximum(s.row_code, 0)]))
    row_codes = s.row_code[rows]
    carried = row_codes >= 0
    out.add("orphan_commerce_order", row_codes, rows,
            _cat("Commerce order ", s.increment[rows], " (entity ", s.entity[rows].astype(str), ", ",
                 s.state[rows], ") is paid with Amazon but ",
                 np.where(carried, _cat("its Amazon order ", np.where(carried, s.ids[np.maximum(row_codes, 0)], ""),
                                        " is neither in the report nor in our links"),
                          "carries no Amazon order id and has no link")))

    codes = np.flatnonzero(known & (s.n_live > 1))
    if len(codes):
        dup = np.zeros(s.n, dtype=bool)
        dup[codes] = True
        rows = np.flatnonzero(s.live & (s.row_code >= 0))
        rows = rows[dup[s.row_code[rows]]]
        frame = pd.DataFrame({"code": s.row_code[rows], "row": rows, "increment": s.increment[rows],
                              "linked": rows == s.link_row[s.row_code[rows]]})
        frame["shown"] = frame["increment"].astype("string") + np.where(frame["linked"], " (linked)", "")
        grouped = frame.sort_values(["code", "increment"]).groupby("code", sort=True)
        listed = grouped["shown"].agg(", ".join)
        extra = frame[~frame["linked"]].groupby("code")["row"].min().reindex(listed.index)
        codes = listed.index.to_numpy()
        out.add("duplicate_commerce_orders", codes, extra.to_numpy(dtype=np.int64),
                _cat("Amazon order ", s.ids[codes], " has ", s.n_live[codes].astype(str), " live Commerce orders: ",
                     listed.to_numpy(dtype=object)))

    # -- compared, order by order (vectorised) ----------------------------------------------------
    compared = np.flatnonzero(s.in_report & (s.primary >= 0))
    rows = s.primary[compared]
    a_status = status[compared]
    a_cancelled = a_status == CANCELLED
    c_cancelled = s.c_cancelled[rows]
    a_status_text, c_state = _status_names(a_status), s.state[rows]

    def sentence(codes_mask: np.ndarray, *parts: object) -> tuple[np.ndarray, np.ndarray, pd.Series]:
        picked = np.flatnonzero(codes_mask)
        return compared[picked], rows[picked], _cat(*(p[picked] if not isinstance(p, str) else p for p in parts))

    ids, increments = s.ids[compared], s.increment[rows]
    out.add("cancelled_on_amazon_only", *sentence(a_cancelled & ~c_cancelled, "Amazon order ", ids,
                                                  " is cancelled on Amazon but Commerce order ", increments,
                                                  " is ", c_state))
    out.add("cancelled_in_commerce_only", *sentence(c_cancelled & ~a_cancelled, "Commerce order ", increments,
                                                    " is ", c_state, " but Amazon order ", ids, " is ",
                                                    a_status_text))
    active = ~a_cancelled & ~c_cancelled
    a_shipped = np.isin(a_status, (PARTIAL, SHIPPED)) | (s.quantity_shipped[compared] > 0)
    c_units = s.c_shipped[rows]
    c_shipped = c_units > 0
    out.add("shipped_on_amazon_only", *sentence(active & a_shipped & ~c_shipped, "Amazon order ", ids, " is ",
                                                a_status_text, " on Amazon (", s.quantity_shipped[compared].astype(str),
                                                " units shipped) but Commerce order ", increments,
                                                " has nothing shipped (", c_state, ")"))
    merchant = s.fulfillment[compared] == MERCHANT
    self_shipped = active & merchant & ~a_shipped & c_shipped
    codes, picked_rows, detail = sentence(self_shipped, "Commerce order ", increments, " has ", c_units.astype(str),
                                          " units shipped but Amazon order ", ids, " is ", a_status_text)
    confirm_source = _requeueable_confirmations(inputs, s, codes)
    has_row = ~pd.isna(confirm_source)
    detail = detail + pd.Series(np.where(has_row, "; its confirmation can be sent again", "; no confirmation "
                                         "row can be sent again"), dtype="string")
    out.add("shipped_in_commerce_only", codes, picked_rows, detail, np.where(has_row, REQUEUE, None),
            np.where(has_row, CONFIRM_KIND, None), confirm_source)

    priced = active & np.isin(a_status, (UNSHIPPED, PARTIAL, SHIPPED))
    a_currency, c_currency = s.currency[compared], s.c_currency[rows]
    same_currency = (a_currency == c_currency)
    a_total, c_total = s.total[compared], s.grand_total[rows]
    wrong_total = priced & (~same_currency | (a_total != c_total))
    picked = np.flatnonzero(wrong_total)
    amazon_money = _money(a_total[picked], a_currency[picked])
    commerce_money = _money(c_total[picked], c_currency[picked])
    difference = _money(a_total[picked] - c_total[picked], a_currency[picked])
    out.add("total_mismatch", compared[picked], rows[picked],
            _cat("Amazon order ", ids[picked], " totals ", amazon_money, " but Commerce order ", increments[picked],
                 " has grand total ", commerce_money,
                 np.where(same_currency[picked], _cat(" (Amazon − Commerce = ", difference, ")"),
                          " (the currencies differ)")))

    _item_mismatches(inputs, s, out, compared[priced], rows[priced])
    _quarantine(inputs, s, out, now, policy.quarantine_stuck_after)
    _outbox(inputs, s, out, now, policy.outbox_stuck_after)

    checked = s.in_report | (s.n_any > 0) | s.quarantined
    return out.result(checked, int((s.live & (s.row_code < 0)).sum()))


def _transient(outbox: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Whether these rows' last_error is a transient failure's."""
    errors = pd.Series(outbox["last_error"].to_numpy(dtype=object, na_value="")[rows], dtype="string")
    return errors.str.startswith(TRANSIENT_ERRORS).to_numpy(dtype=bool)


def _requeueable(outbox: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    status = outbox["status"].to_numpy(dtype=object)[rows]
    failed = status == "failed"
    again = pd.Series(status).isin(("pending", "claimed", "sent")).to_numpy(copy=True)
    again[failed] = _transient(outbox, rows[failed])
    return again


def _requeueable_confirmations(inputs: Inputs, s: _Sides, codes: np.ndarray) -> np.ndarray:
    """Per order code, the source of a shipment-confirmation row that can be sent again (None: none)."""
    found = np.full(len(codes), None, dtype=object)
    outbox = inputs.outbox
    if not len(codes) or not len(outbox):
        return found
    wanted = np.zeros(s.n, dtype=bool)
    wanted[codes] = True
    code = s.outbox_code
    rows = np.flatnonzero((code >= 0) & (outbox["kind"].to_numpy(dtype=object) == CONFIRM_KIND))
    rows = rows[wanted[code[rows]]]
    rows = rows[_requeueable(outbox, rows)]
    source = pd.Series(outbox["source_id"].to_numpy(dtype=object)[rows], index=code[rows])
    source = source[~source.index.duplicated()]
    return source.reindex(codes).to_numpy(dtype=object, na_value=None)


def _item_mismatches(inputs: Inputs, s: _Sides, out: _Findings, codes: np.ndarray, rows: np.ndarray) -> None:
    """Per SKU, Amazon's ordered quantity against Commerce's qty_ordered of the compared order."""
    selected = np.zeros(s.n, dtype=bool)
    selected[codes] = True
    amazon = np.flatnonzero(selected[np.maximum(s.item_code, 0)] & (s.item_code >= 0))
    order_of_row = np.full(len(s.entity), -1, dtype=np.int64)
    order_of_row[rows] = codes
    items = inputs.commerce_items
    item_row = s.item_row
    commerce = np.flatnonzero(item_row >= 0)
    commerce = commerce[order_of_row[item_row[commerce]] >= 0]
    (a_sku, c_sku), skus = _joint_codes([inputs.amazon_items["sku"].iloc[amazon], items["sku"].iloc[commerce]])
    sku_code = np.concatenate([a_sku, c_sku])
    order_code = np.concatenate([s.item_code[amazon], order_of_row[item_row[commerce]]])
    quantity = np.concatenate([inputs.amazon_items["quantity"].to_numpy(dtype=np.int64)[amazon],
                               -items["qty_ordered"].to_numpy(dtype=np.int64)[commerce]])
    width = max(len(skus), 1)
    key = order_code * width + sku_code
    amazon_keys, amazon_quantity = _aggregate(key[:len(amazon)], quantity[:len(amazon)])
    commerce_keys, commerce_quantity = _aggregate(key[len(amazon):], -quantity[len(amazon):])
    wrong = np.unique(np.r_[_unmatched(amazon_keys, amazon_quantity, commerce_keys, commerce_quantity),
                            _unmatched(commerce_keys, commerce_quantity, amazon_keys, amazon_quantity)] // width)
    if not len(wrong):
        return
    flagged = np.zeros(s.n, dtype=bool)
    flagged[wrong] = True
    mine = flagged[order_code]
    side = np.r_[np.zeros(len(amazon), bool), np.ones(len(commerce), bool)][mine]
    frame = pd.DataFrame({"code": order_code[mine], "sku": np.asarray(skus, dtype=object)[sku_code[mine]],
                          "amazon": np.where(side, 0, quantity[mine]), "commerce": np.where(side, -quantity[mine], 0)})
    per_sku = frame.groupby(["code", "sku"], sort=True)[["amazon", "commerce"]].sum().reset_index()
    per_sku = per_sku[per_sku["amazon"] != per_sku["commerce"]]
    per_sku["text"] = _cat("SKU ", per_sku["sku"].to_numpy(dtype=object), ": Amazon ",
                           per_sku["amazon"].astype(str).to_numpy(dtype=object), ", Commerce ",
                           per_sku["commerce"].astype(str).to_numpy(dtype=object)).to_numpy(dtype=object)
    listed = per_sku.groupby("code", sort=True)["text"].agg("; ".join)
    wrong = listed.index.to_numpy()
    order_rows = s.primary[wrong]
    out.add("item_mismatch", wrong, order_rows,
            _cat("Amazon order ", s.ids[wrong], " and Commerce order ", s.increment[order_rows],
                 " differ in items ordered: ", listed.to_numpy(dtype=object)))


def _quarantine(inputs: Inputs, s: _Sides, out: _Findings, now: int, after: timedelta) -> None:
    quarantine = inputs.quarantine
    age = now - _times(quarantine["first_seen_at"])
    picked = np.flatnonzero(age > after / timedelta(microseconds=1) * 1000)
    codes = s.quarantine_code[picked]
    out.add("stuck_in_quarantine", codes, np.full(len(picked), -1),
            _cat("Amazon order ", s.ids[codes], " has been quarantined for ", _hours(age[picked]), " (",
                 quarantine["reason_code"].to_numpy(dtype=object)[picked], "), longer than ",
                 _hours(np.full(len(picked), after / timedelta(microseconds=1) * 1000))))


def _outbox(inputs: Inputs, s: _Sides, out: _Findings, now: int, after: timedelta) -> None:
    outbox = inputs.outbox
    status = outbox["status"].to_numpy(dtype=object)
    kind = outbox["kind"].to_numpy(dtype=object)
    source = outbox["source_id"].to_numpy(dtype=object)
    age = now - _times(outbox["updated_at"])
    limit = after / timedelta(microseconds=1) * 1000
    picked = np.flatnonzero(pd.Series(status).isin(_UNSENT).to_numpy() & (age > limit))
    held = status[picked] == "held"
    out.add("outbox_unsent", s.outbox_code[picked], np.full(len(picked), -1),
            _cat(kind[picked], " ", source[picked], " has been ", status[picked], " for ", _hours(age[picked]),
                 ", longer than ", _hours(np.full(len(picked), limit)),
                 np.where(held, " (held: it waits for something on our side, e.g. a tracking number)", "")),
            np.where(held, None, REQUEUE), kind[picked], source[picked])

    picked = np.flatnonzero(status == "failed")
    retry = _transient(outbox, picked)
    errors = pd.Series(outbox["last_error"].to_numpy(dtype=object, na_value="")[picked], dtype="string")
    out.add("outbox_failed", s.outbox_code[picked], np.full(len(picked), -1),
            _cat(kind[picked], " ", source[picked], " failed: ", errors.str.slice(0, _DETAIL_ERROR_CHARS),
                 np.where(retry, " (transient: sent again)", " (a refusal: fix the cause, then re-send)")),
            np.where(retry, REQUEUE, None), kind[picked], source[picked])
