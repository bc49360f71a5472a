"""Orders and their documents (invoices, shipments, credit memos) with Magento 2.4's state rules.

The rules mirror ``Magento\\Sales\\Model\\Order`` (canInvoice, canShip, canCreditmemo, canCancel,
canHold, canUnhold), the document validators of InvoiceOrder/ShipOrder/RefundOrder (their messages
joined under "<Document> Document Validation Error(s):") and the order state handler (new → processing
→ complete → closed). Every action works on a copy of the order and stores it only when all checks
pass, so a refused transition changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sales_channel.sandbox.commerce.columns import cut_order
from sales_channel.sandbox.commerce.errors import (
    NO_SUCH_ENTITY,
    UNIQUE_CONSTRAINT,
    MagentoError,
    bad_request,
    not_found,
)
from sales_channel.sandbox.commerce.storage import StateStore, magento_time
from sales_channel.sandbox.commerce.stores import Store
from sales_channel.sandbox.commerce.validation import BodyValidator
from sales_channel.sandbox.common.clock import SandboxClock

NEW, PROCESSING, COMPLETE, CLOSED, CANCELED, HOLDED, PAYMENT_REVIEW = (
    "new", "processing", "complete", "closed", "canceled", "holded", "payment_review")
DEFAULT_STATUS = {NEW: "pending", "pending_payment": "pending_payment", PROCESSING: "processing",
                  COMPLETE: "complete", CLOSED: "closed", CANCELED: "canceled", HOLDED: "holded",
                  PAYMENT_REVIEW: "payment_review"}
# Magento's document states: invoice 2 = paid, credit memo 2 = refunded.
PAID = REFUNDED = 2
EPSILON = 0.0001

_order_validator = BodyValidator("sales-data-order-interface")
_history_validator = BodyValidator("sales-data-order-status-history-interface", enforce_required=False)
_track_validator = BodyValidator("sales-data-shipment-track-interface", enforce_required=False)


def _num(value: Any) -> float:
    return float(value or 0)


def _money(value: float) -> float:
    return round(value + 0.0, 4)


# Quantities of one order item, as Magento's Order\Item computes them.
def qty_to_invoice(item: dict[str, Any]) -> float:
    return max(_num(item.get("qty_ordered")) - _num(item.get("qty_invoiced")) - _num(item.get("qty_canceled")), 0)


def qty_to_ship(item: dict[str, Any]) -> float:
    shipped_or_refunded = max(_num(item.get("qty_shipped")), _num(item.get("qty_refunded")))
    return max(_num(item.get("qty_ordered")) - shipped_or_refunded - _num(item.get("qty_canceled")), 0)


def qty_to_refund(item: dict[str, Any]) -> float:
    return max(_num(item.get("qty_invoiced")) - _num(item.get("qty_refunded")), 0)


def _row_amounts(item: dict[str, Any]) -> tuple[float, float, float]:
    """(row total, tax, discount) of ``item``, as the order was saved with them."""
    row_total = (_num(item.get("row_total")) if item.get("row_total") is not None
                 else _num(item.get("price")) * _num(item.get("qty_ordered")))
    return row_total, _num(item.get("tax_amount")), abs(_num(item.get("discount_amount")))


# What an invoice or a credit memo takes of an item, and records on it: (amounts it takes from, the
# item's fields of what earlier documents took, the quantity still open for the document).
_DOCUMENT_ROWS: dict[str, tuple[Callable[[dict[str, Any]], tuple[float, float, float]], tuple[str, str, str],
                               Callable[[dict[str, Any]], float]]] = {
    "invoice": (_row_amounts, ("row_invoiced", "tax_invoiced", "discount_invoiced"), qty_to_invoice),
    "creditmemo": (lambda i: (_num(i.get("row_invoiced")), _num(i.get("tax_invoiced")),
                              _num(i.get("discount_invoiced"))),
                   ("amount_refunded", "tax_refunded", "discount_refunded"), qty_to_refund),
}


def _line_amounts(item: dict[str, Any], qty: float, kind: str) -> tuple[float, float, float]:
    """(row total, tax, discount) of ``qty`` units of ``item`` on a document of ``kind``, as Magento's
    total collectors compute them: the units' share rounded to the cent, and the item's last units
    take exactly what is left (so the documents of an item add up to its amounts)."""
    base_of, done_fields, open_qty = _DOCUMENT_ROWS[kind]
    base, done = base_of(item), [_num(item.get(name)) for name in done_fields]
    taken = _num(item.get("qty_invoiced")) if kind == "creditmemo" else _num(item.get("qty_ordered"))
    if abs(open_qty(item) - qty) < EPSILON and not _num(item.get("qty_canceled")):
        row, tax, discount = (_money(b - d) for b, d in zip(base, done, strict=True))
    else:
        row, tax, discount = (round(b * qty / (taken or 1) + 0.0, 2) for b in base)
    return row, tax, discount


# Order predicates ---------------------------------------------------------------------------------
def can_invoice(order: dict[str, Any]) -> bool:
    if order.get("state") in (CANCELED, PAYMENT_REVIEW, HOLDED, COMPLETE, CLOSED):
        return False
    return any(qty_to_invoice(i) > 0 and not i.get("locked_do_invoice") for i in order["items"])


def can_ship(order: dict[str, Any]) -> bool:
    if order.get("state") in (HOLDED, PAYMENT_REVIEW, CANCELED) or order.get("is_virtual"):
        return False
    return any(qty_to_ship(i) > 0 and not i.get("is_virtual") and not i.get("locked_do_ship")
               for i in order["items"])


def can_creditmemo(order: dict[str, Any]) -> bool:
    if order.get("state") in (HOLDED, PAYMENT_REVIEW, CANCELED, CLOSED):
        return False
    return _num(order.get("total_paid")) - _num(order.get("total_refunded")) > EPSILON


def can_cancel(order: dict[str, Any]) -> bool:
    if order.get("state") in (PAYMENT_REVIEW, HOLDED, CANCELED, COMPLETE, CLOSED):
        return False
    return any(qty_to_invoice(i) > 0 for i in order["items"])


def can_hold(order: dict[str, Any]) -> bool:
    return order.get("state") not in (CANCELED, PAYMENT_REVIEW, COMPLETE, CLOSED, HOLDED)


def _set_state(order: dict[str, Any], state: str) -> None:
    order["state"], order["status"] = state, DEFAULT_STATUS[state]


def check_state(order: dict[str, Any]) -> None:
    """Magento's Order\\Handler\\State::check after a document was registered (is_in_process)."""
    if order.get("state") == NEW:
        _set_state(order, PROCESSING)
    if order.get("state") in (CANCELED, HOLDED) or can_invoice(order):
        return
    if order.get("state") in (PROCESSING, COMPLETE) and not can_creditmemo(order) and not can_ship(order) \
            and _num(order.get("total_refunded")) > 0:
        _set_state(order, CLOSED)
    elif order.get("state") == PROCESSING and not can_ship(order):
        _set_state(order, COMPLETE)


def _validation_error(document: str, messages: list[str]) -> MagentoError:
    return bad_request(f"{document} Document Validation Error(s):\n" + "\n".join(messages))


def _requested_qtys(order: dict[str, Any], requested: list[dict[str, Any]] | None,
                    remaining: Callable[[dict[str, Any]], float]) -> dict[int, float]:
    """order_item_id → qty; no items given means every remaining quantity."""
    if not requested:
        return {item["item_id"]: remaining(item) for item in order["items"] if remaining(item) > 0}
    qtys: dict[int, float] = {}
    for index, line in enumerate(requested):
        if not isinstance(line, dict) or "order_item_id" not in line:
            raise bad_request('"%fieldName" is required. Enter and try again.',
                              {"fieldName": f"items[{index}].order_item_id"})
        try:
            qtys[int(line["order_item_id"])] = qtys.get(int(line["order_item_id"]), 0) + float(line.get("qty", 0))
        except (TypeError, ValueError):
            raise bad_request('Invalid value of "%value" provided for the %fieldName field.',
                              {"value": str(line.get("qty")), "fieldName": f"items[{index}].qty"}) from None
    return qtys


def _check_quantities(order: dict[str, Any], qtys: dict[int, float], remaining: Callable[[dict[str, Any]], float],
                      unknown: str, too_many: str, empty: str | None = None) -> list[str]:
    """The messages of a document's QuantityValidator (``empty``: when nothing at all is requested)."""
    by_id = {item["item_id"]: item for item in order["items"]}
    messages, total = [], 0.0
    for item_id, qty in qtys.items():
        item = by_id.get(item_id)
        if item is None:
            messages.append(unknown.replace("%1", str(item_id)))
            continue
        if qty < 0 or qty > remaining(item) + EPSILON:
            messages.append(too_many.replace("%1", str(item["sku"])))
        total += qty
    if total <= 0 and empty:
        messages.append(empty)
    return messages


class SalesService:
    """The sales side of the sandbox: create and read orders, register documents, apply state rules."""

    def __init__(self, state: StateStore, clock: SandboxClock, stores: dict[str, Store]) -> None:
        self.state, self.clock, self.stores = state, clock, stores
        self._stores_by_id = {s.store_id: s for s in stores.values()}

    def now(self) -> str:
        return magento_time(self.clock.now())

    def _increment_id(self, sequence: str, store_id: int) -> str:
        number = self.state.next_id(f"{sequence}_increment_{store_id}")
        prefix = "" if store_id <= 1 else str(store_id)
        return f"{prefix}{number:09d}"

    def _record(self, event: str, order: dict[str, Any], **details: Any) -> None:
        self.state.record(self.clock.now(), event, entity_id=order["entity_id"],
                          increment_id=order.get("increment_id"), store_id=order.get("store_id"),
                          ext_order_id=order.get("ext_order_id"), state=order.get("state"),
                          status=order.get("status"), **details)

    # Orders ---------------------------------------------------------------------------------------
    def get_order(self, entity_id: int) -> dict[str, Any]:
        order = self.state.get("order", entity_id)
        if order is None:
            raise not_found(NO_SUCH_ENTITY)
        return order

    def save_order(self, entity: Any, store: Store, source: str = "api") -> dict[str, Any]:
        """POST /V1/orders: validate, then insert (or update when ``entity_id`` names an order)."""
        data = _order_validator.validate(entity)
        cut_order(data)
        with self.state.transaction():
            if "entity_id" in data:
                return self._update_order(data)
            return self._insert_order(data, store, source)

    def _insert_order(self, data: dict[str, Any], store: Store, source: str) -> dict[str, Any]:
        now = self.now()
        store_id = data.setdefault("store_id", store.store_id if store.store_id else 1)
        target = self._stores_by_id.get(store_id, store)
        if "increment_id" in data:
            if self.state.find("order", store_id=store_id, increment_id=data["increment_id"]):
                raise bad_request(UNIQUE_CONSTRAINT)
        else:
            data["increment_id"] = self._increment_id("order", store_id)
        order_id = self.state.next_id("order")
        data["entity_id"] = order_id
        state = data.setdefault("state", NEW)
        data.setdefault("status", DEFAULT_STATUS.get(state, "pending"))
        for key in ("base_currency_code", "global_currency_code", "store_currency_code", "order_currency_code"):
            data.setdefault(key, target.currency)
        data.setdefault("created_at", now)
        data["updated_at"] = now
        data.setdefault("total_due", data["grand_total"])
        data.setdefault("base_total_due", data["base_grand_total"])
        for item in data["items"]:
            item.update(item_id=self.state.next_id("order_item"), order_id=order_id, store_id=store_id,
                        created_at=now, updated_at=now)
            item.setdefault("product_type", "simple")
            for qty in ("qty_invoiced", "qty_shipped", "qty_refunded", "qty_canceled"):
                item.setdefault(qty, 0.0)
        if "payment" in data:
            data["payment"].update(entity_id=self.state.next_id("payment"), parent_id=order_id)
        if "billing_address" in data:
            data["billing_address"].update(entity_id=self.state.next_id("address"), parent_id=order_id,
                                           address_type="billing")
            data["billing_address_id"] = data["billing_address"]["entity_id"]
        for assignment in data.get("extension_attributes", {}).get("shipping_assignments", []):
            address = assignment.get("shipping", {}).get("address")
            if address is not None:
                address.update(entity_id=self.state.next_id("address"), parent_id=order_id, address_type="shipping")
        for history in data.get("status_histories", []):
            history.update(entity_id=self.state.next_id("comment"), parent_id=order_id, entity_name="order")
            history.setdefault("created_at", now)
        self.state.put("order", order_id, data)
        self._record("order_created", data, source=source)
        return data

    def _update_order(self, data: dict[str, Any]) -> dict[str, Any]:
        order = self.get_order(data["entity_id"])
        if "increment_id" in data and data["increment_id"] != order.get("increment_id") and self.state.find(
                "order", store_id=order["store_id"], increment_id=data["increment_id"]):
            raise bad_request(UNIQUE_CONSTRAINT)
        # Line items keep their invoiced/shipped counters: only order-level fields are replaced.
        order.update({k: v for k, v in data.items() if k != "items"})
        order["updated_at"] = self.now()
        self.state.put("order", order["entity_id"], order)
        self._record("order_updated", order, fields=sorted(k for k in data if k != "entity_id"))
        return order

    def _store(self, order: dict[str, Any], event: str, **details: Any) -> None:
        order["updated_at"] = self.now()
        self.state.put("order", order["entity_id"], order)
        self._record(event, order, **details)

    # Invoices -------------------------------------------------------------------------------------
    def invoice(self, order_id: int, body: dict[str, Any]) -> int:
        with self.state.transaction():
            order = self.get_order(order_id)
            messages = []
            if order.get("state") in (PAYMENT_REVIEW, HOLDED, CANCELED, COMPLETE, CLOSED):
                messages.append(f"An invoice cannot be created when an order has a status of {order.get('status')}")
            elif not can_invoice(order):
                messages.append("The order does not allow an invoice to be created.")
            qtys = _requested_qtys(order, body.get("items"), qty_to_invoice)
            messages += _check_quantities(
                order, qtys, qty_to_invoice,
                'The invoice contains one or more items that are not part of the original order (item %1).',
                'The quantity to invoice must not be greater than the uninvoiced quantity for product SKU "%1".',
                "You can't create an invoice without products.")
            if messages:
                raise _validation_error("Invoice", messages)
            is_last = all(abs(qty_to_invoice(i) - qtys.get(i["item_id"], 0)) < EPSILON for i in order["items"])
            shipping = _num(order.get("shipping_amount")) - _num(order.get("shipping_invoiced"))
            invoice_id = self.state.next_id("invoice")
            lines, subtotal, tax, discount = self._lines(order, qtys, invoice_id, "invoice")
            # The invoice that takes the shipping takes its tax too (Invoice\Total\Tax).
            shipping_tax = _num(order.get("shipping_tax_amount")) if shipping > EPSILON else 0.0
            tax = _money(tax + shipping_tax)
            grand_total = (_num(order.get("grand_total")) - _num(order.get("total_invoiced")) if is_last
                           else subtotal + tax + shipping - discount)
            for line in lines:
                item = next(i for i in order["items"] if i["item_id"] == line["order_item_id"])
                item["qty_invoiced"] = _num(item.get("qty_invoiced")) + line["qty"]
            invoice = self._document(order, invoice_id, "invoice", lines, body, state=PAID,
                                     subtotal=subtotal, tax=tax, discount=discount, shipping=shipping,
                                     shipping_tax=shipping_tax, grand_total=grand_total)
            invoice["total_qty"] = sum(line["qty"] for line in lines)
            invoice["can_void_flag"] = 0
            for key, amount in (("total_invoiced", grand_total), ("total_paid", grand_total),
                                ("subtotal_invoiced", subtotal), ("tax_invoiced", tax),
                                ("shipping_invoiced", shipping), ("discount_invoiced", -discount)):
                order[key] = _money(_num(order.get(key)) + amount)
                order[f"base_{key}"] = order[key]
            order["total_due"] = order["base_total_due"] = _money(
                _num(order.get("grand_total")) - _num(order.get("total_paid")))
            check_state(order)
            self.state.put("invoice", invoice_id, invoice)
            self._store(order, "order_invoiced", invoice_id=invoice_id,
                        items=[{"order_item_id": line["order_item_id"], "sku": line["sku"], "qty": line["qty"]}
                               for line in lines], grand_total=grand_total)
            return invoice_id

    def _lines(self, order: dict[str, Any], qtys: dict[int, float], parent_id: int, kind: str
               ) -> tuple[list[dict[str, Any]], float, float, float]:
        """The document's lines and their subtotal, tax and discount; each item records what it took."""
        lines, subtotal, tax, discount = [], 0.0, 0.0, 0.0
        for item in order["items"]:
            qty = qtys.get(item["item_id"], 0)
            if qty <= 0:
                continue
            row_total, row_tax, row_discount = _line_amounts(item, qty, kind)
            for name, amount in zip(_DOCUMENT_ROWS[kind][1], (row_total, row_tax, row_discount), strict=True):
                item[name] = _money(_num(item.get(name)) + amount)
            subtotal, tax, discount = subtotal + row_total, tax + row_tax, discount + row_discount
            line = {"entity_id": self.state.next_id("document_item"), "parent_id": parent_id,
                    "order_item_id": item["item_id"], "sku": item["sku"], "name": item.get("name"),
                    "product_id": item.get("product_id"), "qty": qty, "price": _num(item.get("price")),
                    "base_price": _num(item.get("base_price", item.get("price"))), "base_cost": 0.0,
                    "row_total": row_total, "base_row_total": row_total, "tax_amount": row_tax,
                    "base_tax_amount": row_tax, "discount_amount": row_discount,
                    "base_discount_amount": row_discount}
            lines.append({k: v for k, v in line.items() if v is not None})
        return lines, _money(subtotal), _money(tax), _money(discount)

    def _document(self, order: dict[str, Any], entity_id: int, kind: str, lines: list[dict[str, Any]],
                  body: dict[str, Any], state: int, subtotal: float, tax: float, discount: float,
                  shipping: float, shipping_tax: float, grand_total: float) -> dict[str, Any]:
        now = self.now()
        document = {
            "entity_id": entity_id, "increment_id": self._increment_id(kind, order["store_id"]),
            "order_id": order["entity_id"], "store_id": order["store_id"], "state": state,
            "billing_address_id": order.get("billing_address_id"),
            "order_currency_code": order.get("order_currency_code"),
            "base_currency_code": order.get("base_currency_code"),
            "store_currency_code": order.get("store_currency_code"),
            "global_currency_code": order.get("global_currency_code"),
            "subtotal": subtotal, "base_subtotal": subtotal, "tax_amount": tax, "base_tax_amount": tax,
            "discount_amount": -discount, "base_discount_amount": -discount,
            "shipping_amount": _money(shipping), "base_shipping_amount": _money(shipping),
            "shipping_tax_amount": _money(shipping_tax), "base_shipping_tax_amount": _money(shipping_tax),
            "grand_total": _money(grand_total), "base_grand_total": _money(grand_total),
            "email_sent": 1 if body.get("notify") else 0, "created_at": now, "updated_at": now,
            "items": lines,
            "comments": self._document_comments(body, entity_id, now),
        }
        return {k: v for k, v in document.items() if v is not None}

    def _document_comments(self, body: dict[str, Any], parent_id: int, now: str) -> list[dict[str, Any]]:
        comment = body.get("comment") or {}
        if not comment.get("comment"):
            return []
        return [{"entity_id": self.state.next_id("document_comment"), "parent_id": parent_id,
                 "comment": str(comment["comment"]), "is_visible_on_front": int(comment.get("is_visible_on_front") or 0),
                 "is_customer_notified": 1 if body.get("notify") else 0, "created_at": now}]

    # Shipments ------------------------------------------------------------------------------------
    def ship(self, order_id: int, body: dict[str, Any]) -> int:
        with self.state.transaction():
            order = self.get_order(order_id)
            messages = []
            if order.get("state") in (PAYMENT_REVIEW, HOLDED, CANCELED) or order.get("is_virtual"):
                messages.append(f"A shipment cannot be created when an order has a status of {order.get('status')}")
            elif not can_ship(order):
                messages.append("The order does not allow a shipment to be created.")
            qtys = _requested_qtys(order, body.get("items"), qty_to_ship)
            messages += _check_quantities(
                order, qtys, qty_to_ship,
                'The shipment contains product SKU "%1" that is not part of the original order.',
                'The quantity to ship must not be greater than the unshipped quantity for product SKU "%1".',
                "You can't create a shipment without products.")
            for index, track in enumerate(body.get("tracks") or []):
                if not isinstance(track, dict) or not track.get("track_number"):
                    messages.append(f"Please enter a tracking number (tracks[{index}]).")
            if messages:
                raise _validation_error("Shipment", messages)
            shipment_id = self.state.next_id("shipment")
            now = self.now()
            lines = []
            for item in order["items"]:
                qty = qtys.get(item["item_id"], 0)
                if qty > 0:
                    item["qty_shipped"] = _num(item.get("qty_shipped")) + qty
                    lines.append({"entity_id": self.state.next_id("document_item"), "parent_id": shipment_id,
                                  "order_item_id": item["item_id"], "sku": item["sku"], "name": item.get("name"),
                                  "product_id": item.get("product_id"), "qty": qty,
                                  "price": _num(item.get("price")), "weight": item.get("weight")})
            tracks = [self._track(order, shipment_id, track, now) for track in body.get("tracks") or []]
            shipment = {
                "entity_id": shipment_id, "increment_id": self._increment_id("shipment", order["store_id"]),
                "order_id": order["entity_id"], "store_id": order["store_id"],
                "billing_address_id": order.get("billing_address_id"),
                "total_qty": sum(line["qty"] for line in lines), "email_sent": 1 if body.get("notify") else 0,
                "created_at": now, "updated_at": now, "items": [{k: v for k, v in line.items() if v is not None}
                                                                 for line in lines],
                "tracks": tracks, "comments": self._document_comments(body, shipment_id, now), "packages": [],
            }
            check_state(order)
            self.state.put("shipment", shipment_id, {k: v for k, v in shipment.items() if v is not None})
            self._store(order, "order_shipped", shipment_id=shipment_id,
                        items=[{"order_item_id": line["order_item_id"], "sku": line["sku"], "qty": line["qty"]}
                               for line in lines],
                        tracks=[{"track_number": t["track_number"], "carrier_code": t.get("carrier_code")}
                                for t in tracks])
            return shipment_id

    def _track(self, order: dict[str, Any], shipment_id: int, track: dict[str, Any], now: str) -> dict[str, Any]:
        # weight, qty and description are required getters that Magento answers with null when unset.
        return {"entity_id": self.state.next_id("track"), "parent_id": shipment_id, "order_id": order["entity_id"],
                "track_number": str(track["track_number"]), "title": track.get("title"),
                "carrier_code": track.get("carrier_code"), "weight": track.get("weight"),
                "qty": track.get("qty"), "description": track.get("description"),
                "created_at": now, "updated_at": now}

    def add_track(self, entity: Any) -> dict[str, Any]:
        """POST /V1/shipment/track: a tracking number added to an existing shipment."""
        data = _track_validator.validate(entity)
        with self.state.transaction():
            shipment = self.state.get("shipment", int(data.get("parent_id") or 0))
            if shipment is None or not data.get("track_number"):
                raise bad_request("Could not save the shipment tracking.")
            order = self.get_order(shipment["order_id"])
            track = self._track(order, shipment["entity_id"], data, self.now())
            track.update({k: v for k, v in data.items() if k not in track or track[k] is None})
            track["order_id"] = order["entity_id"]
            # TrackRepository::save writes the track's own row: the shipment's and the order's
            # updated_at stay as they were (an incremental read by updated_at does not see a late track).
            shipment["tracks"].append(track)
            self.state.put("shipment", shipment["entity_id"], shipment)
            self._record("track_added", order, shipment_id=shipment["entity_id"],
                         track_number=track["track_number"], carrier_code=track.get("carrier_code"))
            return track

    # Credit memos ---------------------------------------------------------------------------------
    def refund(self, order_id: int, body: dict[str, Any]) -> int:
        with self.state.transaction():
            order = self.get_order(order_id)
            messages = []
            if order.get("state") in (PAYMENT_REVIEW, HOLDED, CANCELED, CLOSED):
                messages.append(f"A creditmemo can not be created when an order has a status of {order.get('status')}")
            elif not can_creditmemo(order):
                messages.append("The order does not allow a creditmemo to be created.")
            qtys = _requested_qtys(order, body.get("items"), qty_to_refund)
            messages += _check_quantities(
                order, qtys, qty_to_refund,
                'The creditmemo contains product item id "%1" that is not part of the original order.',
                'The quantity to creditmemo must not be greater than the unrefunded quantity for product SKU "%1".')
            arguments = body.get("arguments") or {}
            refundable_shipping = _num(order.get("shipping_invoiced")) - _num(order.get("shipping_refunded"))
            explicit = {k for k in ("shipping_amount", "adjustment_positive", "adjustment_negative")
                        if arguments.get(k) is not None}
            try:
                shipping = float(arguments["shipping_amount"]) if "shipping_amount" in explicit else refundable_shipping
                adjustment_positive = float(arguments.get("adjustment_positive") or 0)
                adjustment_negative = float(arguments.get("adjustment_negative") or 0)
            except (TypeError, ValueError):
                raise bad_request('Invalid value of "%value" provided for the %fieldName field.',
                                  {"value": str(arguments), "fieldName": "arguments"}) from None
            if shipping > refundable_shipping + EPSILON:
                messages.append(f"Maximum shipping amount allowed to refund is: {refundable_shipping:.2f}")
            creditmemo_id = self.state.next_id("creditmemo")  # rolled back with the transaction if refused
            lines, subtotal, tax, discount = self._lines(order, qtys, creditmemo_id, "creditmemo")
            # The shipping tax in the share of the shipping refunded (Creditmemo\Total\Tax); the invoice
            # that took the shipping took all of its tax.
            shipping_tax_left = (_num(order.get("shipping_tax_amount")) - _num(order.get("shipping_tax_refunded"))
                                 if _num(order.get("shipping_invoiced")) > EPSILON else 0.0)
            shipping_tax = (0.0 if shipping <= EPSILON or refundable_shipping <= EPSILON else
                            _money(shipping_tax_left) if abs(shipping - refundable_shipping) < EPSILON else
                            round(shipping_tax_left * shipping / refundable_shipping, 2))
            tax = _money(tax + shipping_tax)
            available = _num(order.get("total_paid")) - _num(order.get("total_refunded"))
            # The last credit memo (everything left, no explicit amounts) refunds exactly what is left.
            is_last = not explicit and all(abs(qty_to_refund(i) - qtys.get(i["item_id"], 0)) < EPSILON
                                           for i in order["items"])
            grand_total = _money(available if is_last else
                                 subtotal + tax - discount + shipping + adjustment_positive - adjustment_negative)
            # Creditmemo\Validation\QuantityValidator: a positive total, and products unless shipping is refunded.
            if grand_total <= 0:
                messages.append("The credit memo's total must be positive.")
            elif not lines and shipping <= 0:
                messages.append("You can't create a creditmemo without products.")
            if messages:
                raise _validation_error("Creditmemo", messages)
            if grand_total > available + EPSILON:
                raise bad_request("The most money available to refund is %1.", [f"{available:.2f}"])
            for line in lines:
                item = next(i for i in order["items"] if i["item_id"] == line["order_item_id"])
                item["qty_refunded"] = _num(item.get("qty_refunded")) + line["qty"]
            memo = self._document(order, creditmemo_id, "creditmemo", lines, body, state=REFUNDED,
                                  subtotal=subtotal, tax=tax, discount=discount, shipping=shipping,
                                  shipping_tax=shipping_tax, grand_total=grand_total)
            memo.update(adjustment_positive=adjustment_positive, adjustment_negative=adjustment_negative,
                        adjustment=_money(adjustment_positive - adjustment_negative))
            for key, amount in (("total_refunded", grand_total), ("total_offline_refunded", grand_total),
                                ("subtotal_refunded", subtotal), ("tax_refunded", tax),
                                ("shipping_refunded", shipping), ("shipping_tax_refunded", shipping_tax),
                                ("discount_refunded", -discount),
                                ("adjustment_positive", adjustment_positive),
                                ("adjustment_negative", adjustment_negative)):
                order[key] = _money(_num(order.get(key)) + amount)
                order[f"base_{key}"] = order[key]
            check_state(order)
            self.state.put("creditmemo", creditmemo_id, memo)
            self._store(order, "order_refunded", creditmemo_id=creditmemo_id, grand_total=memo["grand_total"],
                        items=[{"order_item_id": line["order_item_id"], "sku": line["sku"], "qty": line["qty"]}
                               for line in lines])
            return creditmemo_id

    # Cancel, hold, comments, emails ---------------------------------------------------------------
    def cancel(self, order_id: int) -> bool:
        """OrderManagementInterface::cancel: false (and no change) when the order cannot be canceled."""
        with self.state.transaction():
            order = self.get_order(order_id)
            if not can_cancel(order):
                return False
            self._register_cancellation(order)
            self._store(order, "order_canceled")
            return True

    @staticmethod
    def _register_cancellation(order: dict[str, Any]) -> None:
        """Order::registerCancellation: a partly invoiced order stays processing/complete."""
        state = CANCELED
        for item in order["items"]:
            if state != PROCESSING and qty_to_refund(item) > 0:
                state = PROCESSING if qty_to_ship(item) > 0 else COMPLETE
            item["qty_canceled"] = _num(item.get("qty_canceled")) + min(qty_to_invoice(item), qty_to_ship(item))
        order["total_canceled"] = order["base_total_canceled"] = _money(
            _num(order.get("grand_total")) - _num(order.get("total_invoiced")))
        _set_state(order, state)

    def hold(self, order_id: int) -> bool:
        with self.state.transaction():
            order = self.get_order(order_id)
            if not can_hold(order):
                raise bad_request("A hold action is not available.")
            order["hold_before_state"], order["hold_before_status"] = order.get("state"), order.get("status")
            _set_state(order, HOLDED)
            self._store(order, "order_held")
            return True

    def unhold(self, order_id: int) -> bool:
        with self.state.transaction():
            order = self.get_order(order_id)
            if order.get("state") != HOLDED:
                raise bad_request("You cannot remove the hold.")
            order["state"] = order.pop("hold_before_state", None) or NEW
            order["status"] = order.pop("hold_before_status", None) or DEFAULT_STATUS[order["state"]]
            self._store(order, "order_unheld")
            return True

    def add_comment(self, order_id: int, status_history: Any) -> bool:
        """Order::addStatusHistory: the order takes the history's status, even an empty one."""
        data = _history_validator.validate(status_history if status_history is not None else {}, "statusHistory")
        with self.state.transaction():
            order = self.get_order(order_id)
            history = {
                "entity_id": self.state.next_id("comment"), "parent_id": order_id, "entity_name": "order",
                "comment": data.get("comment"), "is_customer_notified": int(bool(data.get("is_customer_notified"))),
                "is_visible_on_front": int(bool(data.get("is_visible_on_front"))), "status": data.get("status"),
                "created_at": self.now(),
            }
            order.setdefault("status_histories", []).insert(0, {k: v for k, v in history.items() if v is not None})
            if data.get("status"):
                order["status"] = data["status"]
            else:
                order.pop("status", None)  # the real-world pitfall: the order's status is blanked
            self._store(order, "order_commented", comment_id=history["entity_id"], comment=data.get("comment"),
                        comment_status=data.get("status"))
            return True

    def comments(self, order_id: int) -> list[dict[str, Any]]:
        return self.get_order(order_id).get("status_histories", [])

    def notify(self, order_id: int) -> bool:
        with self.state.transaction():
            order = self.get_order(order_id)
            order["email_sent"] = 1
            self._store(order, "order_emailed")
            return True

    # Admin order edit -----------------------------------------------------------------------------
    def edit(self, order_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Admin "Edit order": the original is canceled and a copy ``<increment>-N`` replaces it."""
        with self.state.transaction():
            original = self.get_order(order_id)
            if not can_cancel(original) or any(_num(i.get("qty_invoiced")) > 0 for i in original["items"]):
                raise bad_request("This order cannot be edited.")
            base_increment = original.get("original_increment_id") or original["increment_id"]
            edit_number = int(original.get("edit_increment") or 0) + 1
            copy = {k: v for k, v in original.items() if k not in (
                "entity_id", "increment_id", "state", "status", "status_histories", "created_at", "updated_at",
                "total_canceled", "base_total_canceled", "email_sent", "relation_child_id", "relation_child_real_id",
                "hold_before_state", "hold_before_status")}
            copy["items"] = [{k: v for k, v in item.items() if k not in (
                "item_id", "order_id", "qty_invoiced", "qty_shipped", "qty_refunded", "qty_canceled",
                "created_at", "updated_at")} for item in original["items"]]
            copy.update(changes)
            copy.update(increment_id=f"{base_increment}-{edit_number}", original_increment_id=base_increment,
                        edit_increment=edit_number, relation_parent_id=str(original["entity_id"]),
                        relation_parent_real_id=original["increment_id"])
            store = self._stores_by_id.get(original["store_id"]) or next(iter(self.stores.values()))
            child = self.save_order(copy, store, source="admin_edit")
            self._register_cancellation(original)
            original.update(relation_child_id=str(child["entity_id"]), relation_child_real_id=child["increment_id"])
            self._store(original, "order_edited", child_entity_id=child["entity_id"],
                        child_increment_id=child["increment_id"])
            return child
