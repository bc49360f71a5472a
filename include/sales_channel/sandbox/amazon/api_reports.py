"""The faithful Reports API 2021-06-30: createReport, getReports, getReport, cancelReport and
getReportDocument (the report schedules are not served).

Report documents are downloaded from the same pre-signed URLs as feed documents (``api_feeds``): built
from ``config.public_base_url``, signed, expiring, no access token, no usage plan.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from sales_channel.sandbox.amazon import reports
from sales_channel.sandbox.amazon.api_feeds import DocumentUrls
from sales_channel.sandbox.amazon.api_orders import enum_list, list_param, time_param
from sales_channel.sandbox.amazon.errors import invalid_input, not_found
from sales_channel.sandbox.common.clock import to_iso

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
RETENTION = timedelta(days=90)


def _page_size(request: Request) -> int:
    raw = request.query_params.get("pageSize", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid_input(f"Invalid value '{raw}' for parameter pageSize.", "pageSize must be 1 to 100")
    return int(raw)


def _filters(sandbox: AmazonSandbox, request: Request) -> dict[str, Any]:
    report_types = list_param(request, "reportTypes")
    if not report_types:
        raise invalid_input("Either reportTypes or nextToken is required.")
    if len(report_types) > 10:
        raise invalid_input("reportTypes accepts at most 10 values.")
    marketplaces = list_param(request, "marketplaceIds")
    if len(marketplaces) > 10:
        raise invalid_input("marketplaceIds accepts at most 10 values.")
    now = sandbox.now()
    since = time_param(request, "createdSince") or now - RETENTION
    until = time_param(request, "createdUntil") or now
    return {"reportTypes": report_types, "processingStatuses": enum_list(request, "processingStatuses",
                                                                          PROCESSING_STATUSES),
            "marketplaceIds": marketplaces, "createdSince": to_iso(since), "createdUntil": to_iso(until),
            "pageSize": _page_size(request)}


def _matches(report: dict[str, Any], filters: dict[str, Any]) -> bool:
    return (report["reportType"] in filters["reportTypes"]
            and (not filters["processingStatuses"] or report["processingStatus"] in filters["processingStatuses"])
            and (not filters["marketplaceIds"] or bool(set(report["marketplaceIds"]) & set(filters["marketplaceIds"])))
            and filters["createdSince"] <= report["createdTime"] <= filters["createdUntil"])


def _token(filters: dict[str, Any], offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"f": filters, "o": offset}).encode()).decode()


def _untoken(token: str) -> tuple[dict[str, Any], int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return data["f"], int(data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid_input("Invalid nextToken.", "nextToken must be one returned by getReports") from None


def reports_router(sandbox: AmazonSandbox, guard: Callable[..., str]) -> APIRouter:
    router = APIRouter(tags=["Reports"], dependencies=[Depends(guard)])
    urls = DocumentUrls(sandbox)

    @router.post("/reports/2021-06-30/reports", name="createReport", status_code=202)
    def create_report(body: Annotated[Any, Body()] = None) -> JSONResponse:
        with sandbox.store.transaction():
            report = reports.create(sandbox, body)
        return JSONResponse({"reportId": report["reportId"]}, status_code=202)

    @router.get("/reports/2021-06-30/reports", name="getReports")
    def get_reports(request: Request) -> dict[str, Any]:
        token = request.query_params.get("nextToken")
        filters, offset = _untoken(token) if token else (_filters(sandbox, request), 0)
        matching = [r for r in sandbox.store.all_reports() if _matches(r, filters)]
        page = matching[offset:offset + filters["pageSize"]]
        answer: dict[str, Any] = {"reports": [reports.public(r) for r in page]}
        if offset + len(page) < len(matching):
            answer["nextToken"] = _token(filters, offset + len(page))
        return answer

    @router.get("/reports/2021-06-30/reports/{reportId}", name="getReport")
    def get_report(reportId: str) -> dict[str, Any]:
        report = sandbox.store.get_report(reportId)
        if report is None:
            raise not_found(f"Report {reportId} was not found.")
        return reports.public(report)

    @router.delete("/reports/2021-06-30/reports/{reportId}", name="cancelReport")
    def cancel_report(reportId: str) -> Response:
        with sandbox.store.transaction():
            report = sandbox.store.get_report(reportId)
            if report is None:
                raise not_found(f"Report {reportId} was not found.")
            reports.cancel(sandbox, report)
        return Response(status_code=200)

    @router.get("/reports/2021-06-30/documents/{reportDocumentId}", name="getReportDocument")
    def get_report_document(reportDocumentId: str) -> dict[str, Any]:
        document = sandbox.store.get_document(reportDocumentId)
        if document is None or document["kind"] != "report":
            raise not_found(f"Report document {reportDocumentId} was not found.")
        answer = {"reportDocumentId": reportDocumentId, "url": urls.url("GET", reportDocumentId)}
        if document["compression"]:
            answer["compressionAlgorithm"] = document["compression"]
        return answer

    return router
