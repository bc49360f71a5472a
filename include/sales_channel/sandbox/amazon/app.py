"""``create_app(config)``: the Amazon SP-API sandbox as one FastAPI app.

Layers, outermost first: response headers (``x-amzn-RequestId`` on every response,
``x-amzn-RateLimit-Limit`` on 2xx/400/404 of rate-limited operations, never on 429), the common fault
injector (latency, injected 500/503 in SP-API shape, dropped connections, call counts by operation
name), then the routes: LWA, the faithful APIs (access token and usage plan checked by a dependency),
and the control API under ``/_sandbox``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales_channel.sandbox.amazon.api_feeds import documents_router, feeds_router
from sales_channel.sandbox.amazon.api_orders import orders_router
from sales_channel.sandbox.amazon.api_reports import reports_router
from sales_channel.sandbox.amazon.control import control_router
from sales_channel.sandbox.amazon.errors import SpApiError, error_body, status_error_body
from sales_channel.sandbox.amazon.lwa import guard_dependency, lwa_router
from sales_channel.sandbox.amazon.service import AmazonSandbox
from sales_channel.sandbox.amazon.throttle import rate_header
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.control import common_control_router
from sales_channel.sandbox.common.faults import CONTROL_PREFIX, FaultMiddleware, operation_name

RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})


class SpApiHeadersMiddleware:
    """Adds SP-API's response headers, including to injected faults (it wraps the fault injector)."""

    def __init__(self, app: ASGIApp, sandbox: AmazonSandbox, router_app: Any) -> None:
        self.app, self.sandbox, self.router_app = app, sandbox, router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        rate = None if scope["path"].startswith(CONTROL_PREFIX) else self.sandbox.buckets.rate(
            operation_name(self.router_app, scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-amzn-requestid", request_id.encode()))
                if rate is not None and message["status"] in RATE_HEADER_STATUSES:
                    headers.append((b"x-amzn-ratelimit-limit", rate_header(rate).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_control(request: Request) -> bool:
    return request.url.path.startswith(CONTROL_PREFIX)


def create_app(config: SandboxConfig) -> FastAPI:
    sandbox = AmazonSandbox(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sandbox.start()
        try:
            yield
        finally:
            sandbox.stop()

    app = FastAPI(title="Amazon SP-API sandbox", lifespan=lifespan, docs_url=f"{CONTROL_PREFIX}/docs",
                  redoc_url=None, openapi_url=f"{CONTROL_PREFIX}/openapi.json")
    app.state.sandbox = sandbox
    guard = guard_dependency(sandbox)
    app.include_router(lwa_router(sandbox))
    app.include_router(orders_router(sandbox, guard))
    app.include_router(feeds_router(sandbox, guard))
    app.include_router(reports_router(sandbox, guard))
    app.include_router(documents_router(sandbox))
    app.include_router(common_control_router("amazon", sandbox.injector))
    app.include_router(control_router(sandbox))

    @app.exception_handler(SpApiError)
    async def sp_api_error(_: Request, error: SpApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        if _is_control(request):
            return await request_validation_exception_handler(request, error)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
        return JSONResponse(error_body("InvalidInput", f"Invalid input for {where}: {first.get('msg', 'invalid')}"),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if _is_control(request):
            return await http_exception_handler(request, error)
        return JSONResponse(status_error_body(error.status_code), status_code=error.status_code)

    app.add_middleware(FaultMiddleware, injector=sandbox.injector, error_body=status_error_body, router_app=app)
    app.add_middleware(SpApiHeadersMiddleware, sandbox=sandbox, router_app=app)
    return app
