"""The "Amazon Orders" view: a read-only FastAPI app the api-server mounts under ``/amazon-orders``.

Airflow mounts a plugin's app without authentication, so the app itself depends on the api-server's
own security dependency (``requires_access_dag``: the caller may read the runs of
``amazon_order_import``), which takes the UI's token from the ``_token`` cookie — the embedded iframe is
same-origin and sends it — or an ``Authorization: Bearer`` header (scripts). Every route, the report
files and the stylesheet included, is behind it; an unauthenticated request gets 401.

Pages (HTML) and the JSON API under ``/api`` read through the same queries (``queries.py``).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from sales_channel.airflow.plugin import URL_PREFIX, queries
from sales_channel.airflow.plugin.actions import order_actions
from sales_channel.airflow.plugin.source import (
    ChannelSource,
    ChannelUnavailable,
    Settings,
    commerce_admin_urls,
    load_settings,
)

HERE = Path(__file__).parent
ACCESS_DAG = "amazon_order_import"  # who may read this DAG's runs may read what the channel recorded
REPORT_FILES = (".html", ".png", ".csv", ".json")


def _results_folder() -> Path:
    from sales_channel.airflow.tasks.common import results_folder

    return results_folder()


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.channel.session() as read:
        yield read


def _settings() -> Settings:
    return load_settings()


def _order_filter(q: str | None = None, store: str | None = None, seller_account: str | None = None,
                  status: str | None = None, fulfillment: str | None = None, before: int | None = None,
                  limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50) -> queries.OrderFilter:
    return queries.OrderFilter(q=(q or "").strip() or None, store=store or None, seller_account=seller_account or None,
                               status=status or None, fulfillment=fulfillment or None, before=before, limit=limit)


SessionDep = Annotated[Session, Depends(_session)]
SettingsDep = Annotated[Settings, Depends(_settings)]
FilterDep = Annotated[queries.OrderFilter, Depends(_order_filter)]


def create_app(source: ChannelSource | None = None, results: Callable[[], Path] = _results_folder) -> FastAPI:
    """The view's app; ``source`` and ``results`` are where it reads (the ``sales_channel_db`` connection
    and ``[sales_channel] results_folder`` unless given)."""
    channel = source or ChannelSource()
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(when=_when, tojson_pretty=lambda v: json.dumps(v, indent=2))
    app = FastAPI(title="Amazon Orders", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[
        Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=ACCESS_DAG))])

    app.state.channel, app.state.results = channel, results

    @app.exception_handler(ChannelUnavailable)
    async def unavailable(request: Request, exc: ChannelUnavailable) -> Response:
        message = f"The channel database cannot be read: {exc}"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=503)
        return templates.TemplateResponse(request, "error.html", {**_base(request, None), "message": message},
                                          status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> Response:
        """Pages say why on a page of the view (the API, and a refused login, answer JSON as Airflow's do)."""
        if _is_api(request) or exc.status_code in (401, 403):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return templates.TemplateResponse(request, "error.html", {**_base(request, None), "message": exc.detail},
                                          status_code=exc.status_code)

    def page(request: Request, name: str, setup: Settings | None, status_code: int = 200, **values: Any) -> Response:
        return templates.TemplateResponse(request, name, {**_base(request, setup), **values}, status_code=status_code)

    # -- orders -------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, name="orders_page")
    def orders_page(request: Request, read: SessionDep, setup: SettingsDep, wanted: FilterDep) -> Response:
        rows, next_before = queries.orders(read, setup.stores, wanted)
        filters = {k: v for k, v in vars(wanted).items() if v is not None and k not in ("before", "limit")}
        next_url = None if next_before is None else "?" + urlencode({**filters, "before": next_before,
                                                                     "limit": wanted.limit})
        return page(request, "orders.html", setup, rows=rows, wanted=wanted, next_url=next_url,
                    admin=commerce_admin_urls(setup.stores), statuses=STATUSES)

    @app.get("/api/orders", name="orders_api")
    def orders_api(read: SessionDep, setup: SettingsDep, wanted: FilterDep) -> JSONResponse:
        rows, next_before = queries.orders(read, setup.stores, wanted)
        return _json({"orders": rows, "next_before": next_before, "settings_problem": setup.problem})

    def detail(read: Session, setup: Settings, amazon_order_id: str, account: str | None) -> dict[str, Any]:
        account = account or queries.account_of(read, amazon_order_id)
        found = None if account is None else queries.order_detail(read, setup.stores, account, amazon_order_id)
        if found is None:
            raise HTTPException(404, f"the channel database knows no Amazon order {amazon_order_id}")
        return found

    @app.get("/orders/{amazon_order_id}", response_class=HTMLResponse, name="order_page")
    def order_page(request: Request, amazon_order_id: str, read: SessionDep, setup: SettingsDep,
                   account: str | None = None) -> Response:
        found = detail(read, setup, amazon_order_id, account)
        admin = commerce_admin_urls(setup.stores).get(found["store"] or "")
        return page(request, "order.html", setup, order=found, actions=order_actions(found, setup.stores),
                    admin=admin)

    @app.get("/api/orders/{amazon_order_id}", name="order_api")
    def order_api(amazon_order_id: str, read: SessionDep, setup: SettingsDep, account: str | None = None) -> JSONResponse:
        found = detail(read, setup, amazon_order_id, account)
        return _json({**found, "actions": [vars(a) for a in order_actions(found, setup.stores)]})

    # -- quarantine, failed outbox, reconciliation, alerts -------------------------------------------

    @app.get("/quarantine", response_class=HTMLResponse, name="quarantine_page")
    def quarantine_page(request: Request, read: SessionDep, setup: SettingsDep, store: str | None = None,
                        offset: Annotated[int, Query(ge=0)] = 0) -> Response:
        rows = queries.open_quarantine(read, setup.stores, store=store or None, offset=offset)
        return page(request, "quarantine.html", setup, rows=rows, store=store, offset=offset)

    @app.get("/api/quarantine", name="quarantine_api")
    def quarantine_api(read: SessionDep, setup: SettingsDep, store: str | None = None,
                       offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50) -> JSONResponse:
        return _json({"quarantine": queries.open_quarantine(read, setup.stores, store=store or None,
                                                            offset=offset, limit=limit)})

    @app.get("/outbox/failed", response_class=HTMLResponse, name="failed_page")
    def failed_page(request: Request, read: SessionDep, setup: SettingsDep,
                    offset: Annotated[int, Query(ge=0)] = 0) -> Response:
        return page(request, "failed.html", setup, rows=queries.failed_outbox(read, setup.stores, offset=offset),
                    offset=offset)

    @app.get("/api/outbox/failed", name="failed_api")
    def failed_api(read: SessionDep, setup: SettingsDep, offset: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50) -> JSONResponse:
        return _json({"failed": queries.failed_outbox(read, setup.stores, offset=offset, limit=limit)})

    @app.get("/reconciliation", response_class=HTMLResponse, name="runs_page")
    def runs_page(request: Request, read: SessionDep, setup: SettingsDep, store: str | None = None) -> Response:
        return page(request, "runs.html", setup, runs=queries.reconciliation_runs(read, store=store or None),
                    store=store)

    @app.get("/api/reconciliation", name="runs_api")
    def runs_api(read: SessionDep, store: str | None = None) -> JSONResponse:
        return _json({"runs": queries.reconciliation_runs(read, store=store or None)})

    def run(read: Session, run_id: int, offset: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = queries.reconciliation_run(read, run_id, offset=offset)
        if found is None:
            raise HTTPException(404, f"no reconciliation run {run_id}")
        return found

    @app.get("/reconciliation/{run_id}", response_class=HTMLResponse, name="run_page")
    def run_page(request: Request, run_id: int, read: SessionDep, setup: SettingsDep,
                 offset: Annotated[int, Query(ge=0)] = 0) -> Response:
        found, findings = run(read, run_id, offset)
        return page(request, "run.html", setup, run=found, findings=findings, offset=offset,
                    results=_relative(found["results_path"], results()))

    @app.get("/api/reconciliation/{run_id}", name="run_api")
    def run_api(run_id: int, read: SessionDep, offset: Annotated[int, Query(ge=0)] = 0) -> JSONResponse:
        found, findings = run(read, run_id, offset)
        return _json({"run": found, "findings": findings})

    @app.get("/alerts", response_class=HTMLResponse, name="alerts_page")
    def alerts_page(request: Request, read: SessionDep, setup: SettingsDep) -> Response:
        return page(request, "alerts.html", setup, alerts=queries.open_alerts(read))

    @app.get("/api/alerts", name="alerts_api")
    def alerts_api(read: SessionDep) -> JSONResponse:
        return _json({"alerts": queries.open_alerts(read)})

    # -- reports and their files (only under the results folder) --------------------------------------

    @app.get("/reports", response_class=HTMLResponse, name="reports_page")
    def reports_page(request: Request, setup: SettingsDep) -> Response:
        return page(request, "reports.html", setup, reports=report_folders(results()),
                    root_folder=str(results()))

    @app.get("/api/reports", name="reports_api")
    def reports_api() -> JSONResponse:
        return _json({"reports": report_folders(results())})

    @app.get("/files/{path:path}", name="report_file")
    def report_file(path: str) -> FileResponse:
        return FileResponse(guarded(results(), path), media_type=mimetypes.guess_type(path)[0])

    @app.get("/static/{name}", name="static")
    def static(name: str) -> FileResponse:
        return FileResponse(guarded(HERE / "static", name))

    return app


STATUSES = ("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED")


def guarded(root: Path, relative: str) -> Path:
    """The file ``relative`` names under ``root``, never one outside it (``..``, absolute paths, symlinks
    out of it are refused with 404: the view serves the results folder only)."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise HTTPException(404, "not a file of the results folder")
    if not target.is_file():
        raise HTTPException(404, f"no file {relative!r} in the results folder")
    return target


def report_folders(root: Path) -> list[dict[str, Any]]:
    """The order-activity reports (``report/<period>/index.html``), ``latest`` first then the newest,
    each with its charts and tables; paths are relative to the results folder."""
    folder = root / "report"
    if not folder.is_dir():
        return []
    found = [d for d in folder.iterdir() if d.is_dir() and (d / "index.html").is_file()]
    found.sort(key=lambda d: (d.name != "latest", -(d / "index.html").stat().st_mtime))
    return [{"name": d.name, "index": f"report/{d.name}/index.html",
             "modified_at": datetime.fromtimestamp((d / "index.html").stat().st_mtime, UTC),
             "files": sorted(f"report/{d.name}/{f.name}" for f in d.iterdir()
                             if f.is_file() and f.suffix in REPORT_FILES and f.name != "index.html")}
            for d in found]


def _relative(path: str | None, root: Path) -> list[str]:
    """The files of a reconciliation's results folder, relative to the results root (none outside it)."""
    if not path:
        return []
    folder, base = Path(path).resolve(), root.resolve()
    if not folder.is_relative_to(base) or not folder.is_dir():
        return []
    return sorted(str(f.relative_to(base)) for f in folder.iterdir() if f.is_file() and f.suffix in REPORT_FILES)


def _is_api(request: Request) -> bool:
    return request.scope.get("path", "").removeprefix(request.scope.get("root_path", "")).startswith("/api/")


def _base(request: Request, setup: Settings | None) -> dict[str, Any]:
    """What every page's frame needs: where the view and the Airflow UI are, and the settings banner."""
    root = request.scope.get("root_path", "").rstrip("/")
    return {"root": root, "ui": root.removesuffix(URL_PREFIX), "now": datetime.now(UTC),
            "settings_problem": setup.problem if setup else None,
            "stores": sorted(setup.stores.by_key) if setup else [], "age": queries.age}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body))
