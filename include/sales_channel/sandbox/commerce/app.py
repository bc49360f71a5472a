"""The Adobe Commerce (Magento 2.4) REST sandbox: ``create_app(SandboxConfig)`` builds the FastAPI app.

Faithful API under ``/rest/<store_code>/V1/...`` (and ``/rest/V1/...`` for the default store view):
admin and integration tokens, store views, products and stock, orders with searchCriteria, and the
order actions with Magento's state rules. The control API for tests and demos lives under
``/_sandbox`` (see ``control.py``). Endpoints are plain functions run in the thread pool; the common
fault middleware sleeps the configured latency with ``asyncio.sleep`` before them, so concurrent
calls overlap their latency instead of queueing behind it.
"""

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sales_channel.sandbox.commerce import errors
from sales_channel.sandbox.commerce.control import control_router
from sales_channel.sandbox.commerce.customers import CustomerService
from sales_channel.sandbox.commerce.errors import MagentoError, bad_request, magento_error_handler
from sales_channel.sandbox.commerce.fields import FieldsFilterMiddleware
from sales_channel.sandbox.commerce.products import CatalogService
from sales_channel.sandbox.commerce.sales import SalesService
from sales_channel.sandbox.commerce.search import SearchCriteria, parse_search_criteria, search_result
from sales_channel.sandbox.commerce.storage import StateStore
from sales_channel.sandbox.commerce.stores import PATH_STORES, STORE_VIEWS, Store, currency_information
from sales_channel.sandbox.common.clock import SandboxClock
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
from sales_channel.sandbox.common.control import common_control_router
from sales_channel.sandbox.common.faults import FaultInjector, FaultMiddleware

ADMIN_TOKEN_LIFETIME = timedelta(hours=4)
JsonBody = Annotated[dict[str, Any] | None, Body()]


class CommerceSandbox:
    """Everything one running sandbox holds: configuration, state and the services over it."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.credentials = {**DEFAULT_CREDENTIALS, **config.credentials}
        self.clock = SandboxClock(config.time_scale)
        self.state = StateStore(config.state_dir, fresh=config.fresh)
        self.catalog = CatalogService(self.state, self.clock)
        self.customers = CustomerService(self.state, self.clock)
        self.sales = SalesService(self.state, self.clock, PATH_STORES)
        self.injector = FaultInjector(base_latency_ms=config.latency_ms)
        if self.state.is_empty:
            self.catalog.seed()

    def reset(self) -> None:
        """Back to the seeded state: the catalog of ``catalog.py``, no orders, an empty ledger."""
        with self.state.transaction():
            self.state.wipe()
            self.catalog.seed()

    def issue_admin_token(self, username: Any, password: Any) -> str:
        for field, value in (("username", username), ("password", password)):
            if not value:
                raise errors.required_field(field)
        if (username, password) != (self.credentials["commerce_admin_username"],
                                    self.credentials["commerce_admin_password"]):
            raise MagentoError(401, errors.BAD_LOGIN)
        token = f"sandbox-admin-{secrets.token_hex(16)}"
        # 4 hours of lifecycle time: F times shorter in real time with a time scale F.
        self.state.add_token(token, self.clock.now() + self.clock.scaled_delay(ADMIN_TOKEN_LIFETIME))
        return token

    def is_valid_token(self, token: str) -> bool:
        if secrets.compare_digest(token.encode(), self.credentials["commerce_token"].encode()):
            return True
        expires_at = self.state.token_expiry(token)
        return expires_at is not None and expires_at > self.clock.now()


def _store(request: Request) -> Store:
    """The store view of the path; an unknown code leaves the path unroutable, as in Magento."""
    code = request.path_params.get("store_code", "default")
    store = PATH_STORES.get(code)
    if store is None:
        raise errors.not_found(errors.NO_ROUTE)
    return store


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status)


def api_router(sandbox: CommerceSandbox) -> APIRouter:
    """The faithful REST API, mounted under ``/rest`` and ``/rest/{store_code}``."""

    def authorized(resource: str) -> Callable[..., Store]:
        def check(request: Request, store: Annotated[Store, Depends(_store)]) -> Store:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token or not sandbox.is_valid_token(token.strip()):
                raise errors.unauthorized(resource)
            return store
        return check

    def criteria(request: Request) -> SearchCriteria:
        return parse_search_criteria(request.query_params.multi_items())

    sales, catalog = sandbox.sales, sandbox.catalog
    router = APIRouter()
    view_orders = Depends(authorized("Magento_Sales::actions_view"))

    # Authentication -------------------------------------------------------------------------------
    @router.post("/V1/integration/admin/token", name="createAdminAccessToken", dependencies=[Depends(_store)])
    def admin_token(body: JsonBody = None) -> JSONResponse:
        body = body or {}
        return _json(sandbox.issue_admin_token(body.get("username"), body.get("password")))

    # Stores ---------------------------------------------------------------------------------------
    @router.get("/V1/store/storeViews", name="getStoreViews",
                dependencies=[Depends(authorized("Magento_Backend::store"))])
    def store_views() -> JSONResponse:
        return _json([s.view() for s in (PATH_STORES["all"], *STORE_VIEWS)])

    @router.get("/V1/store/storeConfigs", name="getStoreConfigs",
                dependencies=[Depends(authorized("Magento_Backend::store"))])
    def store_configs(request: Request) -> JSONResponse:
        codes = [v for k, v in request.query_params.multi_items() if k.startswith("storeCodes")]
        return _json([s.config(sandbox.config.public_base_url) for s in STORE_VIEWS
                      if not codes or s.code in codes])

    @router.get("/V1/directory/currency", name="getCurrencyInfo",
                dependencies=[Depends(authorized("Magento_Backend::store"))])
    def currency_info(store: Annotated[Store, Depends(_store)]) -> JSONResponse:
        return _json(currency_information(STORE_VIEWS[0] if store is PATH_STORES["all"] else store))

    # Customers ------------------------------------------------------------------------------------
    customers = Depends(authorized("Magento_Customer::manage"))

    @router.post("/V1/customers", name="createCustomer", dependencies=[customers])
    def create_customer(store: Annotated[Store, Depends(_store)], body: JsonBody = None) -> JSONResponse:
        return _json(sandbox.customers.create(body, STORE_VIEWS[0] if store is PATH_STORES["all"] else store))

    @router.get("/V1/customers/search", name="searchCustomers", dependencies=[customers])
    def search_customers(search: Annotated[SearchCriteria, Depends(criteria)]) -> JSONResponse:
        return _json(search_result(sandbox.customers.all(), search))

    @router.get("/V1/customers/{customer_id}", name="getCustomer", dependencies=[customers])
    def get_customer(customer_id: int) -> JSONResponse:
        return _json(sandbox.customers.get(customer_id))

    # Catalog --------------------------------------------------------------------------------------
    products = Depends(authorized("Magento_Catalog::products"))
    inventory = Depends(authorized("Magento_CatalogInventory::cataloginventory"))

    @router.get("/V1/products/{sku}", name="getProduct", dependencies=[products])
    def get_product(sku: str) -> JSONResponse:
        return _json(catalog.get(sku))

    @router.get("/V1/products", name="getProductList", dependencies=[products])
    def list_products(search: Annotated[SearchCriteria, Depends(criteria)]) -> JSONResponse:
        return _json(search_result(catalog.all(), search))

    @router.get("/V1/stockItems/{sku}", name="getStockItemBySku", dependencies=[inventory])
    def get_stock_item(sku: str) -> JSONResponse:
        item = catalog.stock_item(sku)
        catalog.after_read(sku)
        return _json(item)

    @router.put("/V1/products/{sku}/stockItems/{item_id}", name="updateStockItemBySku", dependencies=[inventory])
    def update_stock_item(sku: str, item_id: int, body: JsonBody = None) -> JSONResponse:
        return _json(catalog.update_stock_item(sku, (body or {}).get("stockItem")))

    @router.get("/V1/inventory/get-product-salable-quantity/{sku}/{stock_id}", name="getProductSalableQty",
                dependencies=[Depends(authorized("Magento_InventoryApi::inventory"))])
    def salable_quantity(sku: str, stock_id: int) -> JSONResponse:
        qty = catalog.salable_qty(sku, stock_id)
        catalog.after_read(sku)
        return _json(qty)

    @router.post("/V1/inventory/source-items", name="saveSourceItems",
                 dependencies=[Depends(authorized("Magento_InventoryApi::source_item"))])
    def source_items(body: JsonBody = None) -> JSONResponse:
        catalog.save_source_items((body or {}).get("sourceItems"))
        return _json([])

    # Orders ---------------------------------------------------------------------------------------
    def save_order(store: Store, body: dict[str, Any] | None) -> JSONResponse:
        if not body or body.get("entity") is None:
            raise errors.required_field("entity")
        return _json(sales.save_order(body["entity"], store))

    creating = Depends(authorized("Magento_Sales::create"))

    @router.post("/V1/orders", name="saveOrder")
    def post_order(store: Annotated[Store, creating], body: JsonBody = None) -> JSONResponse:
        return save_order(store, body)

    @router.put("/V1/orders/create", name="createOrder")
    def put_order(store: Annotated[Store, creating], body: JsonBody = None) -> JSONResponse:
        return save_order(store, body)

    @router.get("/V1/orders/{order_id}", name="getOrder", dependencies=[view_orders])
    def get_order(order_id: int) -> JSONResponse:
        return _json(sales.get_order(order_id))

    @router.get("/V1/orders", name="getOrderList", dependencies=[view_orders])
    def list_orders(search: Annotated[SearchCriteria, Depends(criteria)]) -> JSONResponse:
        return _json(search_result(sandbox.state.all("order"), search))

    @router.post("/V1/order/{order_id}/invoice", name="invoiceOrder",
                 dependencies=[Depends(authorized("Magento_Sales::invoice"))])
    def invoice(order_id: int, body: JsonBody = None) -> JSONResponse:
        return _json(sales.invoice(order_id, body or {}))

    @router.post("/V1/order/{order_id}/ship", name="shipOrder",
                 dependencies=[Depends(authorized("Magento_Sales::ship"))])
    def ship(order_id: int, body: JsonBody = None) -> JSONResponse:
        return _json(sales.ship(order_id, body or {}))

    @router.post("/V1/order/{order_id}/refund", name="refundOrder",
                 dependencies=[Depends(authorized("Magento_Sales::creditmemo"))])
    def refund(order_id: int, body: JsonBody = None) -> JSONResponse:
        return _json(sales.refund(order_id, body or {}))

    @router.post("/V1/orders/{order_id}/cancel", name="cancelOrder",
                 dependencies=[Depends(authorized("Magento_Sales::cancel"))])
    def cancel(order_id: int) -> JSONResponse:
        return _json(sales.cancel(order_id))

    @router.post("/V1/orders/{order_id}/hold", name="holdOrder",
                 dependencies=[Depends(authorized("Magento_Sales::hold"))])
    def hold(order_id: int) -> JSONResponse:
        return _json(sales.hold(order_id))

    @router.post("/V1/orders/{order_id}/unhold", name="unholdOrder",
                 dependencies=[Depends(authorized("Magento_Sales::unhold"))])
    def unhold(order_id: int) -> JSONResponse:
        return _json(sales.unhold(order_id))

    @router.post("/V1/orders/{order_id}/comments", name="addOrderComment",
                 dependencies=[Depends(authorized("Magento_Sales::comment"))])
    def add_comment(order_id: int, body: JsonBody = None) -> JSONResponse:
        if not body or body.get("statusHistory") is None:
            raise errors.required_field("statusHistory")
        return _json(sales.add_comment(order_id, body["statusHistory"]))

    @router.get("/V1/orders/{order_id}/comments", name="getOrderComments", dependencies=[view_orders])
    def get_comments(order_id: int) -> JSONResponse:
        search = parse_search_criteria((), required=False)
        return _json(search_result(sales.comments(order_id), search))

    @router.post("/V1/orders/{order_id}/emails", name="notifyOrder",
                 dependencies=[Depends(authorized("Magento_Sales::emails"))])
    def emails(order_id: int) -> JSONResponse:
        return _json(sales.notify(order_id))

    # Documents ------------------------------------------------------------------------------------
    def document_routes(kind: str, plural: str, single: str, resource: str, list_name: str, get_name: str) -> None:
        allowed = [Depends(authorized(resource))]

        @router.get(f"/V1/{plural}", name=list_name, dependencies=allowed)
        def list_documents(search: Annotated[SearchCriteria, Depends(criteria)]) -> JSONResponse:
            return _json(search_result(sandbox.state.all(kind), search))

        @router.get(f"/V1/{single}/{{entity_id}}", name=get_name, dependencies=allowed)
        def get_document(entity_id: int) -> JSONResponse:
            document = sandbox.state.get(kind, entity_id)
            if document is None:
                raise errors.not_found()
            return _json(document)

    document_routes("invoice", "invoices", "invoices", "Magento_Sales::sales_invoice", "getInvoiceList", "getInvoice")
    document_routes("shipment", "shipments", "shipment", "Magento_Sales::shipment", "getShipmentList", "getShipment")
    document_routes("creditmemo", "creditmemos", "creditmemo", "Magento_Sales::sales_creditmemo",
                    "getCreditmemoList", "getCreditmemo")

    @router.post("/V1/shipment/track", name="saveShipmentTrack",
                 dependencies=[Depends(authorized("Magento_Sales::ship"))])
    def add_track(body: JsonBody = None) -> JSONResponse:
        if not body or body.get("entity") is None:
            raise errors.required_field("entity")
        return _json(sales.add_track(body["entity"]))

    return router


async def _route_not_found(_: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 404)
    if status in (404, 405):
        return _json({"message": errors.NO_ROUTE}, 404)
    return _json({"message": str(getattr(exc, "detail", "Internal Error"))}, status)


_PYDANTIC_TYPES = {"int": "int", "float": "float", "bool": "bool", "dict": "object", "list": "array",
                   "string": "string", "model": "object"}


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation (path ids, malformed JSON, control bodies) in Magento's shapes."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return _json(bad_request("Decoding error: \n%1", [first.get("msg", "")]).body(), 400)
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query", "body")) or "body"
    value = first.get("input")
    prefix = kind.split("_")[0]
    if kind.endswith(("_parsing", "_type")) and prefix in _PYDANTIC_TYPES:
        details = errors.INVALID_TYPE.format(value=value, type=_PYDANTIC_TYPES[prefix])
        return _json(bad_request(errors.FIELD_PROCESSING, {"field_name": field, "details": details}).body(), 400)
    if kind == "missing":
        return _json(errors.required_field(field).body(), 400)
    return _json(errors.invalid_value(field, value).body(), 400)


def create_app(config: SandboxConfig) -> FastAPI:
    sandbox = CommerceSandbox(config)
    app = FastAPI(title="Adobe Commerce REST sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json",
                  redoc_url=None)
    app.state.sandbox = sandbox
    api = api_router(sandbox)
    app.include_router(api, prefix="/rest")
    app.include_router(api, prefix="/rest/{store_code}")
    app.include_router(common_control_router("commerce", sandbox.injector))
    app.include_router(control_router(sandbox))
    app.add_exception_handler(MagentoError, magento_error_handler)
    app.add_exception_handler(StarletteHTTPException, _route_not_found)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(FieldsFilterMiddleware)
    app.add_middleware(FaultMiddleware, injector=sandbox.injector, error_body=errors.fault_body, router_app=app)
    return app
