"""The Adobe Commerce (Magento 2.4) REST client the pipelines use.

One client per store (base URL + store code), safe to share across the threads of a pool. Reads page
by ``entity_id`` (never by page number) and look many entities up in one call per chunk; writes that
create something are never repeated blindly (see ``transport`` for the retry policy).

    client = CommerceClient("https://shop.example.com", token, store_code="default")
    by_ext_id = client.find_orders_by_ext_order_ids(["113-1234567-1234567", ...])
    order = client.create_order({...})          # AmbiguousWriteError -> look up by ext_order_id first
    client.add_order_comment(order.entity_id, "Imported from Amazon", status=order.status)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, Self, TypeVar

from sales_channel.commerce.errors import NotFoundError
from sales_channel.commerce.models import (
    CreditMemo,
    CurrencyInfo,
    Customer,
    Invoice,
    Order,
    Product,
    SearchResult,
    Shipment,
    StatusHistory,
    StockItem,
    Track,
    to_decimal,
)
from sales_channel.commerce.search import Chunking, Condition, SearchCriteria
from sales_channel.commerce.transport import (
    CallStats,
    RetryPolicy,
    Transport,
    refuse_sandbox_credentials_off_loopback,
)

_STORE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_STOCK_ID = 1  # MSI's default stock
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds

Quantities = Mapping[int, Decimal | int]
"""order_item_id -> quantity, for partial invoices, shipments and refunds."""


class _FromApi(Protocol):
    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Any: ...


M = TypeVar("M", bound=_FromApi)


def _item_quantities(items: Quantities | None, what: str) -> list[dict[str, Any]]:
    if not items:
        return []
    body = []
    for order_item_id, qty in items.items():
        qty = to_decimal(qty)
        if qty <= 0:
            raise ValueError(f"{what}: quantity for order item {order_item_id} must be > 0, got {qty}")
        body.append({"order_item_id": int(order_item_id), "qty": qty})
    return body


def _strings(values: Iterable[Any], what: str) -> list[str]:
    if isinstance(values, str):
        raise ValueError(f"{what}: expected a list of values, got the string {values!r}")
    return [str(v) for v in values]


class CommerceClient:
    """Commerce REST API for one store view, authenticated by a bearer integration (or admin) token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        store_code: str = "default",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pool_maxsize: int = 16,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
        chunking: Chunking | None = None,
    ) -> None:
        """``base_url`` is the store's root (``https://shop.example.com``, or with the install's path
        prefix); ``timeout`` is (connect, read) seconds for every call; ``pool_maxsize`` should be at least
        the number of threads sharing the client."""
        if not token:
            raise ValueError("token: a Commerce integration or admin token is required")
        self._transport = self._open(base_url, store_code, timeout, pool_maxsize, retry, token)
        self._transport.set_bearer(token)
        self.page_size = page_size
        self.chunking = chunking or Chunking()
        if page_size < self.chunking.max_items:
            raise ValueError(f"page_size ({page_size}) must be >= chunking.max_items "
                             f"({self.chunking.max_items}) so a batch lookup takes one call per chunk")

    @classmethod
    def with_admin_login(cls, base_url: str, username: str, password: str, *, store_code: str = "default",
                         **kwargs: Any) -> Self:
        """Log in as an admin (``POST /V1/integration/admin/token``) and return a client using that token.

        For local use: the token lasts 4 hours and is not renewed, and real installs may require 2FA.
        Unattended pipelines use an integration token."""
        if not username or not password:
            raise ValueError("username and password are required for the admin login")
        login = cls._open(base_url, store_code, kwargs.get("timeout", DEFAULT_TIMEOUT), 1, kwargs.get("retry"),
                          password)
        try:
            token = login.call("POST", "/V1/integration/admin/token",
                               body={"username": username, "password": password}, idempotent=True)
        finally:
            login.close()
        if not isinstance(token, str) or not token:
            raise ValueError("admin login answered without a token")
        return cls(base_url, token, store_code=store_code, **kwargs)

    @staticmethod
    def _open(base_url: str, store_code: str, timeout: tuple[float, float], pool_maxsize: int,
              retry: RetryPolicy | None, secret: str) -> Transport:
        scheme = base_url.split("://", 1)[0].lower() if "://" in base_url else ""
        if scheme not in ("http", "https"):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        root = base_url.rstrip("/")
        if root.endswith(("/rest", "/V1")) or "/rest/" in root:
            raise ValueError(f"base_url is the store's root, without /rest/<store>/V1; got {base_url!r}")
        if not _STORE_CODE.match(store_code):
            raise ValueError(f"store_code {store_code!r} is not a Magento store code (letters, digits, _)")
        refuse_sandbox_credentials_off_loopback(root, secret)
        return Transport(f"{root}/rest/{store_code}", timeout=timeout, pool_maxsize=pool_maxsize,
                         retry=retry or RetryPolicy())

    @property
    def stats(self) -> CallStats:
        """HTTP requests made, per operation (``"GET /V1/orders"``), retries included."""
        return self._transport.stats

    def get_store_config(self) -> Mapping[str, Any]:
        """This store view's configuration (ids, website, currencies, locale): ``GET /V1/store/storeConfigs``."""
        code = self.api_root.rsplit("/", 1)[-1]
        configs = self._transport.call("GET", "/V1/store/storeConfigs", params={"storeCodes[]": code},
                                       idempotent=True)
        for config in configs or []:
            if config.get("code") == code:
                return config
        raise NotFoundError(f"store view {code!r} has no configuration", status=404,
                            operation="GET /V1/store/storeConfigs")

    def get_currency_info(self) -> CurrencyInfo:
        """The store view's base currency and the order currencies it accepts, with their rates."""
        return CurrencyInfo.from_api(self._transport.call("GET", "/V1/directory/currency", idempotent=True))

    @property
    def api_root(self) -> str:
        return self._transport.api_root

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_root={self.api_root!r}, token='****')"

    # -- searching ---------------------------------------------------------------------------------

    def _search_page(self, template: str, criteria: SearchCriteria, model: type[M]) -> SearchResult[M]:
        body = self._transport.call("GET", template, params=criteria.to_params(), idempotent=True)
        return SearchResult([model.from_api(item) for item in body.get("items") or ()],
                            int(body.get("total_count") or 0))

    def _iterate(self, template: str, criteria: SearchCriteria, model: type[M], *,
                 page_size: int | None = None) -> Iterator[M]:
        """Every match, paged by ``id_field > last seen`` sorted ascending, always page 1.

        Immune to Magento's page-number quirks: a page past the end never gets requested (it would
        repeat the last page), and rows inserted or removed meanwhile cannot shift others between pages.
        Stops on a short page or when a page holds all that ``total_count`` says is left; a page with no
        row beyond the last one seen (a server ignoring the filter) also stops, instead of looping.
        """
        size = page_size or criteria.page_size or self.page_size
        base = criteria.without_sort().sort_by("entity_id", "ASC")
        last_id: int | None = None
        while True:
            page_criteria = base if last_id is None else base.where("entity_id", last_id, Condition.GT)
            body = self._transport.call("GET", template, params=page_criteria.page(size, 1).to_params(),
                                        idempotent=True)
            rows = body.get("items") or []
            fresh = sorted((row for row in rows if last_id is None or int(row["entity_id"]) > last_id),
                           key=lambda row: int(row["entity_id"]))
            for row in fresh:
                yield model.from_api(row)
            if not fresh:
                return
            last_id = int(fresh[-1]["entity_id"])
            if len(rows) < size or len(rows) >= int(body.get("total_count") or 0):
                return

    def _lookup(self, template: str, field_name: str, values: Sequence[str], model: type[M]) -> Iterator[M]:
        """``field in (values)``, one call per chunk of values (more only if a chunk overflows a page)."""
        for chunk in self.chunking.split(field_name, values):
            yield from self._iterate(template, SearchCriteria().where(field_name, chunk, Condition.IN), model)

    # -- orders ------------------------------------------------------------------------------------

    def create_order(self, entity: Mapping[str, Any]) -> Order:
        """Save a new order (``POST /V1/orders``). Never retried once sent: on ``AmbiguousWriteError``
        look it up by ``ext_order_id`` before creating again."""
        ext_order_id = entity.get("ext_order_id")
        where = f"order {ext_order_id}" if ext_order_id else "order"
        if "entity_id" in entity:
            raise ValueError(f"{where}: entity_id given; that would update an existing order, not create one")
        for name in ("base_grand_total", "grand_total", "customer_email"):
            if entity.get(name) in (None, ""):
                raise ValueError(f"{where}: {name} is required")
        items = entity.get("items")
        if not items:
            raise ValueError(f"{where}: items must hold at least one item")
        for index, item in enumerate(items):
            if not item.get("sku"):
                raise ValueError(f"{where}: items[{index}].sku is required")
        body = self._transport.call("POST", "/V1/orders", body={"entity": dict(entity)}, idempotent=False,
                                    lookup={"ext_order_id": ext_order_id} if ext_order_id else None)
        return Order.from_api(body)

    def get_order(self, order_id: int) -> Order:
        return Order.from_api(self._transport.call("GET", "/V1/orders/{id}", path={"id": int(order_id)},
                                                   idempotent=True))

    def search_orders(self, criteria: SearchCriteria) -> SearchResult[Order]:
        """One page, exactly as asked (for paging through everything use ``iter_orders``)."""
        return self._search_page("/V1/orders", criteria, Order)

    def iter_orders(self, criteria: SearchCriteria | None = None, *, page_size: int | None = None) -> Iterator[Order]:
        """Every order matching ``criteria``, ascending by entity_id (the criteria's sort is replaced)."""
        return self._iterate("/V1/orders", criteria or SearchCriteria(), Order, page_size=page_size)

    def find_orders_by_ext_order_ids(self, ext_order_ids: Iterable[str]) -> dict[str, list[Order]]:
        """Every requested ext_order_id -> its orders (usually one; none if absent; more is a duplicate)."""
        wanted = _strings(ext_order_ids, "ext_order_ids")
        found: dict[str, list[Order]] = {ext_id: [] for ext_id in wanted}
        for order in self._lookup("/V1/orders", "ext_order_id", wanted, Order):
            if order.ext_order_id in found:
                found[order.ext_order_id].append(order)
        return found

    def add_order_comment(self, order_id: int, comment: str, *, status: str | None = None,
                          notify_customer: bool = False, visible_on_front: bool = False) -> None:
        """Add a comment, always re-sending the order's current status (an empty status blanks the
        order's status on real installs). Without ``status`` the current one is read first."""
        if not comment:
            raise ValueError(f"order {order_id}: comment text is required")
        status = status or self._current_status(order_id)
        if not status:
            raise ValueError(f"order {order_id}: has no status to keep; refusing to blank it with a comment")
        history = {"comment": comment, "is_customer_notified": int(notify_customer),
                   "is_visible_on_front": int(visible_on_front), "parent_id": int(order_id), "status": status}
        self._transport.call("POST", "/V1/orders/{id}/comments", path={"id": int(order_id)},
                             body={"statusHistory": history}, idempotent=False, lookup={"order_id": order_id})

    def _current_status(self, order_id: int) -> str:
        # ``fields`` trims the answer to the status: no buyer data crosses the wire for it.
        body = self._transport.call("GET", "/V1/orders/{id}", path={"id": int(order_id)},
                                    params={"fields": "status"}, idempotent=True)
        return str((body or {}).get("status") or "")

    def list_order_comments(self, order_id: int) -> list[StatusHistory]:
        body = self._transport.call("GET", "/V1/orders/{id}/comments", path={"id": int(order_id)},
                                    idempotent=True)
        return [StatusHistory.from_api(item) for item in body.get("items") or ()]

    def _order_action(self, order_id: int, action: str) -> bool:
        return bool(self._transport.call("POST", f"/V1/orders/{{id}}/{action}", path={"id": int(order_id)},
                                         idempotent=False, lookup={"order_id": order_id}))

    def cancel_order(self, order_id: int) -> bool:
        """Cancel; False when Commerce refuses (fully invoiced, complete, on hold, closed, canceled).
        On an ambiguous failure re-read the order's state rather than cancelling again."""
        return self._order_action(order_id, "cancel")

    def hold_order(self, order_id: int) -> bool:
        return self._order_action(order_id, "hold")

    def unhold_order(self, order_id: int) -> bool:
        return self._order_action(order_id, "unhold")

    def send_order_email(self, order_id: int) -> bool:
        """Send the order confirmation email (not retried: a retry could email the buyer twice)."""
        return self._order_action(order_id, "emails")

    # -- invoices ----------------------------------------------------------------------------------

    def invoice_order(self, order_id: int, items: Quantities | None = None, *, capture: bool = False,
                      notify: bool = False, comment: str | None = None) -> int:
        """Invoice ``items`` (order_item_id -> qty; None invoices everything left); returns the invoice id."""
        body: dict[str, Any] = {"capture": capture, "notify": notify,
                                "items": _item_quantities(items, f"order {order_id} invoice")}
        if comment:
            body |= {"appendComment": True, "comment": {"comment": comment, "is_visible_on_front": 0}}
        return int(self._transport.call("POST", "/V1/order/{orderId}/invoice", path={"orderId": int(order_id)},
                                        body=body, idempotent=False, lookup={"order_id": order_id}))

    def get_invoice(self, invoice_id: int) -> Invoice:
        return Invoice.from_api(self._transport.call("GET", "/V1/invoices/{id}", path={"id": int(invoice_id)},
                                                     idempotent=True))

    def list_invoices(self, order_ids: Iterable[int]) -> list[Invoice]:
        """All invoices of these orders, in one call per chunk of order ids."""
        return list(self._lookup("/V1/invoices", "order_id", _strings(order_ids, "order_ids"), Invoice))

    # -- shipments ---------------------------------------------------------------------------------

    def ship_order(self, order_id: int, items: Quantities | None = None, tracks: Sequence[Track] = (), *,
                   notify: bool = False, comment: str | None = None) -> int:
        """Ship ``items`` (order_item_id -> qty; None ships everything left) with tracking numbers;
        returns the shipment id. On ``AmbiguousWriteError`` list the order's shipments first."""
        body: dict[str, Any] = {"items": _item_quantities(items, f"order {order_id} shipment"), "notify": notify,
                                "tracks": [track.creation_body() for track in tracks]}
        if comment:
            body |= {"appendComment": True, "comment": {"comment": comment, "is_visible_on_front": 0}}
        return int(self._transport.call("POST", "/V1/order/{orderId}/ship", path={"orderId": int(order_id)},
                                        body=body, idempotent=False, lookup={"order_id": order_id}))

    def get_shipment(self, shipment_id: int) -> Shipment:
        return Shipment.from_api(self._transport.call("GET", "/V1/shipment/{id}", path={"id": int(shipment_id)},
                                                      idempotent=True))

    def list_shipments(self, order_ids: Iterable[int]) -> list[Shipment]:
        """All shipments of these orders, in one call per chunk of order ids."""
        return list(self._lookup("/V1/shipments", "order_id", _strings(order_ids, "order_ids"), Shipment))

    def iter_shipments_created_after(self, since: datetime, *, page_size: int | None = None) -> Iterator[Shipment]:
        """Shipments with ``created_at > since`` (aware datetime), ascending by entity_id."""
        return self._iterate("/V1/shipments", SearchCriteria().where("created_at", since, Condition.GT),
                             Shipment, page_size=page_size)

    def add_track(self, shipment_id: int, order_id: int, track: Track) -> Track:
        """Add a tracking number to an existing shipment (``POST /V1/shipment/track``)."""
        entity = {**track.creation_body(), "parent_id": int(shipment_id), "order_id": int(order_id),
                  # required by the schema, informational only
                  "weight": 0, "qty": 0, "description": ""}
        body = self._transport.call("POST", "/V1/shipment/track", body={"entity": entity}, idempotent=False,
                                    lookup={"shipment_id": shipment_id})
        return Track.from_api(body)

    # -- credit memos ------------------------------------------------------------------------------

    def refund_order(self, order_id: int, items: Quantities | None = None, *,
                     shipping_amount: Decimal | None = None, adjustment_positive: Decimal | None = None,
                     adjustment_negative: Decimal | None = None, notify: bool = False,
                     comment: str | None = None) -> int:
        """Offline refund of invoiced ``items`` (order_item_id -> qty); returns the credit memo id.
        On ``AmbiguousWriteError`` list the order's credit memos first."""
        body: dict[str, Any] = {"items": _item_quantities(items, f"order {order_id} refund"), "notify": notify}
        arguments = {name: to_decimal(value) for name, value in (
            ("shipping_amount", shipping_amount), ("adjustment_positive", adjustment_positive),
            ("adjustment_negative", adjustment_negative)) if value is not None}
        if arguments:
            body["arguments"] = arguments
        if comment:
            body |= {"appendComment": True, "comment": {"comment": comment, "is_visible_on_front": 0}}
        return int(self._transport.call("POST", "/V1/order/{orderId}/refund", path={"orderId": int(order_id)},
                                        body=body, idempotent=False, lookup={"order_id": order_id}))

    def get_credit_memo(self, credit_memo_id: int) -> CreditMemo:
        return CreditMemo.from_api(self._transport.call("GET", "/V1/creditmemo/{id}",
                                                        path={"id": int(credit_memo_id)}, idempotent=True))

    def list_credit_memos(self, order_ids: Iterable[int]) -> list[CreditMemo]:
        """All credit memos of these orders, in one call per chunk of order ids."""
        return list(self._lookup("/V1/creditmemos", "order_id", _strings(order_ids, "order_ids"), CreditMemo))

    def iter_credit_memos_created_after(self, since: datetime, *,
                                        page_size: int | None = None) -> Iterator[CreditMemo]:
        return self._iterate("/V1/creditmemos", SearchCriteria().where("created_at", since, Condition.GT),
                             CreditMemo, page_size=page_size)

    # -- products and stock ------------------------------------------------------------------------

    def get_product(self, sku: str) -> Product:
        return Product.from_api(self._transport.call("GET", "/V1/products/{sku}", path={"sku": sku},
                                                     idempotent=True))

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        """SKU -> product for the SKUs that exist (unknown ones are absent), one call per chunk.

        SKUs are unique, so a chunk's matches always fit one page: no paging (a product's id is ``id``,
        not the ``entity_id`` the other entities page by).
        """
        found: dict[str, Product] = {}
        skus = _strings(skus, "skus")
        # Magento splits an ``in`` condition's value on commas: a SKU holding one is looked up alone.
        for sku in [s for s in skus if "," in s]:
            try:
                found[sku] = self.get_product(sku)
            except NotFoundError:
                pass
        for chunk in self.chunking.split("skus", [s for s in skus if "," not in s]):
            criteria = SearchCriteria().where("sku", chunk, Condition.IN).page(len(chunk))
            found.update((product.sku, product) for product in self._search_page("/V1/products", criteria,
                                                                                 Product).items)
        return found

    # -- customers ---------------------------------------------------------------------------------

    def create_customer(self, customer: Mapping[str, Any]) -> Customer:
        """Create a customer account in this store view (``POST /V1/customers``). Never retried once sent:
        on ``AmbiguousWriteError`` (or a duplicate-email 400) look the email up first."""
        for name in ("email", "firstname", "lastname"):
            if not customer.get(name):
                raise ValueError(f"customer: {name} is required")
        return Customer.from_api(self._transport.call("POST", "/V1/customers", body={"customer": dict(customer)},
                                                      idempotent=False, lookup={"customer": "by email in this website"}))

    def find_customers_by_emails(self, emails: Iterable[str], website_id: int) -> dict[str, Customer]:
        """Lower-cased email -> the website's account with it (absent when none), one call per chunk."""
        found: dict[str, Customer] = {}
        for chunk in self.chunking.split("emails", _strings(emails, "emails")):
            criteria = (SearchCriteria().where("email", chunk, Condition.IN).where("website_id", website_id)
                        .page(len(chunk)))
            found.update((c.email.casefold(), c) for c in self._search_page("/V1/customers/search", criteria,
                                                                             Customer).items)
        return found

    def get_stock_item(self, sku: str) -> StockItem:
        return StockItem.from_api(self._transport.call("GET", "/V1/stockItems/{sku}", path={"sku": sku},
                                                       idempotent=True))

    def get_salable_quantity(self, sku: str, stock_id: int = DEFAULT_STOCK_ID) -> Decimal:
        """MSI salable quantity (stock minus reservations) of ``sku`` in ``stock_id``."""
        return to_decimal(self._transport.call("GET", "/V1/inventory/get-product-salable-quantity/{sku}/{stockId}",
                                               path={"sku": sku, "stockId": int(stock_id)}, idempotent=True))

    def update_stock_qty(self, sku: str, qty: Decimal | int, *, item_id: int | None = None,
                         is_in_stock: bool | None = None) -> int:
        """Set the (legacy) stock quantity of ``sku`` (of stock item ``item_id`` when the caller has just
        read it). Returns the stock item id.

        The value is absolute, but the write is not retried blindly: a repeat after a sale that Commerce
        made in between would erase that sale. A failure after sending raises ``AmbiguousWriteError``;
        the caller re-reads and decides.
        """
        qty = to_decimal(qty)
        if qty < 0:
            raise ValueError(f"sku {sku}: stock quantity must be >= 0, got {qty}")
        if item_id is None:
            item_id = self.get_stock_item(sku).item_id
        stock_item = {"qty": qty, "is_in_stock": qty > 0 if is_in_stock is None else is_in_stock}
        return int(self._transport.call("PUT", "/V1/products/{sku}/stockItems/{itemId}",
                                        path={"sku": sku, "itemId": item_id},
                                        body={"stockItem": stock_item}, idempotent=False,
                                        lookup={"sku": sku}))
