"""The Selling Partner API client: Orders v2026-01-01 reads, Orders v0 shipment confirmation, Feeds,
Reports.

One ``requests.Session`` per client (pooled connections; safe to share between threads). Every call
takes a token from the usage-plan bucket of (seller account, operation) first — the bucket store is
injected, so every process calling for one seller account queues in the same bucket — and every call
has a timeout. Failures raise typed errors that keep Amazon's code, message, details, HTTP status and
request id.

Retries (tenacity, exponential backoff with full jitter, bounded in attempts and total time):

* 429 QuotaExceeded is retried for every operation: Amazon rejected the call before doing anything.
  The wait is at least one token interval of the plan, so the retry finds a token at Amazon and the
  client is not throttled twice in a row.
* 5xx, timeouts and dropped connections are retried for reads and for the writes that are safe to
  repeat: createFeedDocument (an unused document is harmless), the upload PUT (it replaces the same
  object), createReport (a second report of the same window costs a token, nothing else) and
  cancelReport. confirmShipment and createFeed are retried on 429 and on connect timeouts only (the request
  never left): after any other failure the caller reads back first (getOrder's packages; the feed's
  processing report) — a blind re-send could make a second package or a second feed.
* 403 Unauthorized makes the client refresh the access token once and send the call once more.

Logs name the operation, status, request id, attempt and timing; never tokens, secrets, bodies or
pre-signed URLs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from sales_channel.amazon.auth import LwaCredentials, LwaTokenProvider
from sales_channel.amazon.endpoints import (
    LWA_TOKEN_PATH,
    LWA_TOKEN_URL,
    endpoint_for_marketplace,
    refuse_sandbox_credentials_off_machine,
)
from sales_channel.amazon.errors import (
    ApiErrorDetail,
    DocumentTransferError,
    FeedProcessingReportError,
    InvalidParameterError,
    LwaError,
    QuotaExceededError,
    ServerError,
    SpApiError,
)
from sales_channel.amazon.feeds_xml import (
    XML_CONTENT_TYPE,
    ProcessingReport,
    decode_document,
    parse_processing_report,
)
from sales_channel.amazon.models import (
    Feed,
    FeedDocument,
    FeedDocumentUpload,
    FulfilledBy,
    FulfillmentStatus,
    IncludedData,
    PackageDetail,
    ProcessingStatus,
    RawOrder,
)
from sales_channel.amazon.reports import Report, ReportDocument, ReportDocumentError, ReportPage
from sales_channel.amazon.windows import SearchWindow, enum_set
from sales_channel.domain.amazon_order import ORDER_ID_PATTERN
from sales_channel.net import install_log_redaction
from sales_channel.ratelimit import BucketStore, InMemoryBucketStore, RateLimiter

log = logging.getLogger(__name__)



# urllib3 logs every request line at DEBUG, query string included: the signature (and on S3 the
# temporary security token) of a pre-signed document URL must not reach the log with it.
install_log_redaction()
_TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass
class OperationStats:
    calls: int = 0  # HTTP requests sent (every attempt counts)
    throttled: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers
    transport_errors: int = 0  # timeouts, refused or dropped connections
    rate_wait_s: float = 0.0  # time spent waiting for the usage-plan bucket


@dataclass
class ClientStats:
    """What the client did, per operation (benchmarks and the activity report read it)."""

    operations: dict[str, OperationStats] = field(default_factory=dict)
    token_refreshes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, operation: str, **increments: float) -> None:
        with self._lock:
            stats = self.operations.setdefault(operation, OperationStats())
            for name, value in increments.items():
                setattr(stats, name, getattr(stats, name) + value)

    def count_token_refresh(self) -> None:
        with self._lock:
            self.token_refreshes += 1

    def total(self, name: str) -> float:
        with self._lock:
            return sum(getattr(stats, name) for stats in self.operations.values())

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """Per operation: (calls, throttled, errors), errors being 5xx answers and transport failures
        (what the channel database's ``api_calls`` keeps)."""
        with self._lock:
            return {op: (s.calls, s.throttled, s.server_errors + s.transport_errors)
                    for op, s in self.operations.items()}

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"token_refreshes": self.token_refreshes,
                    "operations": {op: vars(stats).copy() for op, stats in sorted(self.operations.items())}}


@dataclass(frozen=True)
class OrderPage:
    """One searchOrders response as Amazon sent it: each order raw, whatever its shape."""

    orders: list[RawOrder]
    next_token: str | None
    last_updated_before: datetime | None
    created_before: datetime | None


class OrderSearch:
    """The complete orders of one searchOrders window, across all pages, each order once.

    Iterating fetches every page first: an order updated while the window is paged can appear on two
    pages, and only the whole window tells which copy is the latest (the one kept, by
    ``lastUpdatedTime``). A window of a scheduled import holds a few hundred orders; backfills of many
    thousands belong in narrower windows or the Reports API. Iterating again replays the same result
    without new calls.

    After iteration, ``window_end`` is where Amazon says the window ended (the ``lastUpdatedBefore`` or
    ``createdBefore`` it returned): advance a watermark to it, never to the local clock.
    """

    def __init__(self, fetch_page: Callable[[SearchWindow, str | None], OrderPage], window: SearchWindow) -> None:
        self._fetch_page = fetch_page
        self.window = window
        self.window_end: datetime | None = None
        self.pages_fetched = 0
        self.duplicates = 0
        self._orders: list[RawOrder] | None = None

    def pages(self, start_token: str | None = None) -> Iterator[OrderPage]:
        """The raw pages, lazily, as Amazon sends them (an order may repeat across pages; nothing is
        de-duplicated). Each call pages the window again from its first page, or from the page of
        ``start_token`` (a page's ``next_token``, saved by a run that stopped there)."""
        token = start_token
        while True:
            page = self._fetch_page(self.window, token)
            self.pages_fetched += 1
            end = page.last_updated_before if self.window.last_updated_after else page.created_before
            if end is not None:
                self.window_end = end if self.window_end is None else min(self.window_end, end)
            yield page
            if not page.next_token:
                return
            token = page.next_token

    def __iter__(self) -> Iterator[RawOrder]:
        if self._orders is None:
            # An order without a usable id cannot be matched to another copy: each is kept on its own
            # key, and the import quarantines it.
            orders: dict[object, RawOrder] = {}
            for page in self.pages():
                for order in page.orders:
                    key: object = order.order_id or object()
                    seen = orders.get(key)
                    if seen is not None:
                        self.duplicates += 1
                        if not self._newer(order, seen):
                            continue
                    orders[key] = order
            if self.window_end is None:  # Amazon did not say: the window ended where it was asked to
                self.window_end = self.window.last_updated_before or self.window.created_before
            self._orders = list(orders.values())
        return iter(self._orders)

    @staticmethod
    def _newer(candidate: RawOrder, seen: RawOrder) -> bool:
        """Whether ``candidate`` replaces ``seen`` (same order id): a later lastUpdatedTime wins, and a
        readable time wins over an unreadable one; a tie keeps the copy seen first."""
        theirs, ours = candidate.last_updated_time, seen.last_updated_time
        return theirs is not None and (ours is None or theirs > ours)


class SpApiClient:
    """A client for one seller account.

    ``seller_id`` keys the usage-plan buckets (Amazon meters per selling partner) and is the
    MerchantIdentifier of feeds. The endpoint is the region of ``marketplace_id`` unless ``base_url``
    says otherwise (the sandbox); Login with Amazon is api.amazon.com, or ``<base_url>/auth/o2/token``
    when a base URL is given, unless ``lwa_url`` says otherwise. ``rate_scale`` multiplies every usage
    plan (the sandbox's time scale F). ``on_token`` sees every new access token (to mask it in logs);
    ``on_close`` runs on ``close()`` (resources handed over with the client, e.g. its bucket store's).
    ``bucket_store`` shares buckets between processes (SQL, Redis);
    the default is per process.
    """

    def __init__(self, credentials: LwaCredentials, *, seller_id: str, marketplace_id: str | None = None,
                 base_url: str | None = None, lwa_url: str | None = None,
                 bucket_store: BucketStore | None = None, rate_scale: float = 1.0,
                 timeout: tuple[float, float] = (5.0, 30.0), max_attempts: int = 6, max_retry_s: float = 600.0,
                 backoff_base_s: float = 1.0, backoff_max_s: float = 60.0,
                 session: requests.Session | None = None, on_token: Callable[[str], None] | None = None,
                 on_close: Callable[[], object] | None = None) -> None:
        if not seller_id or not seller_id.strip():
            raise ValueError("seller_id: the seller account id is required (it keys the usage-plan buckets)")
        if base_url is not None:  # a stand-in (the sandbox) serves Login with Amazon as well
            if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
                raise ValueError(f"base_url: an http(s) URL is required, got {base_url!r}")
            self.base_url = base_url.rstrip("/")
            lwa_url = lwa_url or f"{self.base_url}{LWA_TOKEN_PATH}"
        elif marketplace_id is not None:
            self.base_url = endpoint_for_marketplace(marketplace_id)
            lwa_url = lwa_url or LWA_TOKEN_URL
        else:
            raise ValueError("marketplace_id or base_url is required to choose the SP-API endpoint")
        # Before any I/O: a sandbox credential never leaves this machine.
        refuse_sandbox_credentials_off_machine(credentials.as_dict(), [self.base_url, lwa_url])
        if rate_scale <= 0:
            raise ValueError(f"rate_scale must be > 0, got {rate_scale}")
        self.seller_id = seller_id
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_retry_s = max_retry_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.session = session or _new_session()
        self.limiter = RateLimiter(bucket_store or InMemoryBucketStore(), account=seller_id, scale=rate_scale)
        self.stats = ClientStats()
        self._on_close = on_close
        self._tokens = LwaTokenProvider(credentials, lwa_url, self.session, timeout,
                                        on_refresh=self.stats.count_token_refresh, on_token=on_token)

    def __repr__(self) -> str:
        return f"SpApiClient(seller_id={self.seller_id!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()
        if self._on_close:
            self._on_close()

    def __enter__(self) -> SpApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def test_connection(self) -> tuple[bool, str]:
        """Exchange the refresh token with Login with Amazon: proves the credentials without spending a
        usage-plan token. ``(ok, message)``, as Airflow's connection test expects."""
        try:
            self._tokens.token()
        except LwaError as exc:
            return False, str(exc)
        except requests.RequestException as exc:
            return False, f"Login with Amazon at {self._tokens.token_url} is unreachable: {type(exc).__name__}"
        return True, "Login with Amazon accepted the credentials"

    # --- Orders v2026-01-01 -----------------------------------------------------------------------

    def search_orders(self, *, created_after: datetime | None = None, created_before: datetime | None = None,
                      last_updated_after: datetime | None = None, last_updated_before: datetime | None = None,
                      marketplace_ids: Sequence[str] = (),
                      fulfillment_statuses: Iterable[FulfillmentStatus | str] | None = None,
                      fulfilled_by: Iterable[FulfilledBy | str] | None = None,
                      included_data: Iterable[IncludedData | str] | None = None,
                      max_results_per_page: int = 100) -> OrderSearch:
        """Search one window of orders (validated here, before any call; see ``OrderSearch``)."""
        window = SearchWindow(
            created_after=created_after, created_before=created_before,
            last_updated_after=last_updated_after, last_updated_before=last_updated_before,
            marketplace_ids=_id_list(marketplace_ids, "marketplaceIds"),
            fulfillment_statuses=enum_set(FulfillmentStatus, fulfillment_statuses, "fulfillmentStatuses"),
            fulfilled_by=enum_set(FulfilledBy, fulfilled_by, "fulfilledBy"),
            included_data=enum_set(IncludedData, included_data, "includedData"),
            max_results_per_page=max_results_per_page,
        )
        window.validate(datetime.now(UTC))
        return OrderSearch(self._search_orders_page, window)

    def _search_orders_page(self, window: SearchWindow, pagination_token: str | None) -> OrderPage:
        params = window.query()
        if pagination_token:
            params["paginationToken"] = pagination_token
        body = self._call("searchOrders", "GET", "/orders/2026-01-01/orders", params=params).json()
        return OrderPage(
            orders=[RawOrder(order) for order in body.get("orders") or []],
            next_token=(body.get("pagination") or {}).get("nextToken"),
            last_updated_before=_parse_time(body.get("lastUpdatedBefore")),
            created_before=_parse_time(body.get("createdBefore")),
        )

    def get_order(self, order_id: str, included_data: Iterable[IncludedData | str] | None = None) -> RawOrder:
        """The order as Amazon sent it, whatever its shape (``.typed()`` validates it)."""
        _check_order_id(order_id)
        params = {}
        included = enum_set(IncludedData, included_data, "includedData")
        if included:
            params["includedData"] = ",".join(sorted(included))
        body = self._call("getOrder", "GET", f"/orders/2026-01-01/orders/{quote(order_id)}", params=params).json()
        return RawOrder(body.get("order"))

    # --- Orders v0 --------------------------------------------------------------------------------

    def confirm_shipment(self, order_id: str, marketplace_id: str,
                         package: PackageDetail | dict[str, Any]) -> None:
        """Confirm one package of a merchant-fulfilled order (several packages: several calls, each
        with its own packageReferenceId). Not retried once sent: after a 5xx or a lost answer, look for
        the packageReferenceId in getOrder's PACKAGES before sending again."""
        _check_order_id(order_id)
        if not marketplace_id:
            raise ValueError(f"order {order_id}: marketplace_id is required")
        if not isinstance(package, PackageDetail):
            package = PackageDetail.model_validate(package)
        self._call("confirmShipment", "POST", f"/orders/v0/orders/{quote(order_id)}/shipmentConfirmation",
                   json={"marketplaceId": marketplace_id, "packageDetail": package.to_api()}, idempotent=False)

    # --- Feeds 2021-06-30 -------------------------------------------------------------------------

    def create_feed_document(self, content_type: str = XML_CONTENT_TYPE) -> FeedDocumentUpload:
        body = self._call("createFeedDocument", "POST", "/feeds/2021-06-30/documents",
                          json={"contentType": content_type}).json()
        return FeedDocumentUpload.model_validate(body)

    def upload_feed_document(self, upload: FeedDocumentUpload, content: bytes,
                             content_type: str = XML_CONTENT_TYPE) -> None:
        """PUT the feed to the pre-signed URL, with the content type given to createFeedDocument."""
        self._transfer("uploadFeedDocument", "PUT", upload.url, data=content,
                       headers={"Content-Type": content_type})

    def create_feed(self, feed_type: str, marketplace_ids: Sequence[str], input_feed_document_id: str,
                    feed_options: dict[str, str] | None = None) -> str:
        marketplace_ids = _id_list(marketplace_ids, "marketplace_ids")
        if not 1 <= len(marketplace_ids) <= 25:
            raise ValueError(f"marketplace_ids: 1 to 25 marketplaces are required, got {len(marketplace_ids)}")
        spec: dict[str, Any] = {"feedType": feed_type, "marketplaceIds": list(marketplace_ids),
                                "inputFeedDocumentId": input_feed_document_id}
        if feed_options:
            spec["feedOptions"] = feed_options
        return self._call("createFeed", "POST", "/feeds/2021-06-30/feeds", json=spec, idempotent=False
                          ).json()["feedId"]

    def get_feed(self, feed_id: str) -> Feed:
        return Feed.model_validate(self._call("getFeed", "GET", f"/feeds/2021-06-30/feeds/{quote(feed_id)}").json())

    def get_feed_document(self, feed_document_id: str) -> FeedDocument:
        body = self._call("getFeedDocument", "GET", f"/feeds/2021-06-30/documents/{quote(feed_document_id)}").json()
        return FeedDocument.model_validate(body)

    def download_feed_document(self, document: FeedDocument) -> bytes:
        """The document's content, decompressed when Amazon says it is GZIP."""
        response = self._transfer("downloadFeedDocument", "GET", document.url)
        return decode_document(response.content, document.compression_algorithm)

    def get_processing_report(self, result_feed_document_id: str) -> ProcessingReport:
        """Fetch, download and parse the processing report of a finished feed."""
        return parse_processing_report(self.download_feed_document(self.get_feed_document(result_feed_document_id)))

    def submit_feed(self, feed_type: str, marketplace_ids: Sequence[str], xml_bytes: bytes) -> str:
        """createFeedDocument → upload → createFeed; returns the feed id."""
        upload = self.create_feed_document(XML_CONTENT_TYPE)
        self.upload_feed_document(upload, xml_bytes, XML_CONTENT_TYPE)
        feed_id = self.create_feed(feed_type, marketplace_ids, upload.feed_document_id)
        log.info("SP-API feed %s submitted as feed %s (%d bytes)", feed_type, feed_id, len(xml_bytes))
        return feed_id

    def wait_for_feed(self, feed_id: str, poll_interval_s: float = 30.0, timeout_s: float = 3600.0) -> Feed:
        """Poll getFeed until the feed is DONE, CANCELLED or FATAL (scripts and tests; pipelines poll
        from a deferred or rescheduled task instead of holding a worker)."""
        return _poll_until_final(f"feed {feed_id}", lambda: self.get_feed(feed_id), poll_interval_s, timeout_s)

    # --- Reports 2021-06-30 -----------------------------------------------------------------------

    def create_report(self, report_type: str, marketplace_ids: Sequence[str], data_start: datetime,
                      data_end: datetime, report_options: dict[str, str] | None = None) -> str:
        """Request a report of [data_start, data_end] (aware datetimes, start <= end); returns its id."""
        marketplace_ids = _id_list(marketplace_ids, "marketplace_ids")
        if not 1 <= len(marketplace_ids) <= 25:
            raise InvalidParameterError("marketplace_ids", f"1 to 25 marketplaces are required, got "
                                                           f"{len(marketplace_ids)}")
        if not report_type:
            raise InvalidParameterError("report_type", "a report type is required")
        for name, moment in (("data_start", data_start), ("data_end", data_end)):
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise InvalidParameterError(name, f"an aware datetime is required, got {moment!r}")
        if data_start > data_end:
            raise InvalidParameterError("data_start", f"{_iso(data_start)} is after data_end {_iso(data_end)}")
        spec: dict[str, Any] = {"reportType": report_type, "marketplaceIds": list(marketplace_ids),
                                "dataStartTime": _iso(data_start), "dataEndTime": _iso(data_end)}
        if report_options:
            spec["reportOptions"] = report_options
        return self._call("createReport", "POST", "/reports/2021-06-30/reports", json=spec).json()["reportId"]

    def get_report(self, report_id: str) -> Report:
        body = self._call("getReport", "GET", f"/reports/2021-06-30/reports/{quote(report_id, safe='')}").json()
        return Report.model_validate(body)

    def get_reports(self, report_types: Sequence[str] = (), *, processing_statuses: Sequence[str] = (),
                    marketplace_ids: Sequence[str] = (), created_since: datetime | None = None,
                    created_until: datetime | None = None, page_size: int = 10,
                    next_token: str | None = None) -> ReportPage:
        """One page of the seller's reports (retained 90 days); with ``next_token`` nothing else is sent."""
        if next_token:
            params = {"nextToken": next_token}
        else:
            if not report_types:
                raise InvalidParameterError("report_types", "report types or a next_token are required")
            if not 1 <= page_size <= 100:
                raise InvalidParameterError("page_size", f"1 to 100, got {page_size}")
            params = {"reportTypes": ",".join(_id_list(report_types, "report_types")), "pageSize": str(page_size)}
            if processing_statuses:
                params["processingStatuses"] = ",".join(ProcessingStatus(s).value for s in processing_statuses)
            if marketplace_ids:
                params["marketplaceIds"] = ",".join(_id_list(marketplace_ids, "marketplace_ids"))
            if created_since:
                params["createdSince"] = _iso(created_since)
            if created_until:
                params["createdUntil"] = _iso(created_until)
        return ReportPage.model_validate(self._call("getReports", "GET", "/reports/2021-06-30/reports",
                                                    params=params).json())

    def cancel_report(self, report_id: str) -> None:
        """Cancel a report that is still IN_QUEUE (any other is refused: InvalidInputError)."""
        self._call("cancelReport", "DELETE", f"/reports/2021-06-30/reports/{quote(report_id, safe='')}")

    def get_report_document(self, document_id: str) -> ReportDocument:
        body = self._call("getReportDocument", "GET",
                          f"/reports/2021-06-30/documents/{quote(document_id, safe='')}").json()
        return ReportDocument.model_validate(body)

    def download_report_document(self, document: ReportDocument) -> str:
        """The document's text: gunzipped when Amazon says GZIP, decoded by the charset the download
        declares (UTF-8 when it declares none). The URL is pre-signed: no access token, no usage plan."""
        response = self._transfer("downloadReportDocument", "GET", document.url)
        try:
            content = decode_document(response.content, document.compression_algorithm)
        except FeedProcessingReportError as exc:
            raise ReportDocumentError(f"report document {document.report_document_id}: {exc}") from None
        charset = response.encoding if "charset" in response.headers.get("Content-Type", "").lower() else "utf-8"
        try:
            return content.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ReportDocumentError(f"report document {document.report_document_id} is not {charset} "
                                      f"text: {exc}") from None

    def wait_for_report(self, report_id: str, poll_interval_s: float = 30.0, timeout_s: float = 3600.0) -> Report:
        """Poll getReport until the report is DONE, CANCELLED or FATAL, holding the caller meanwhile (for
        scripts and tests; the reconciliation's report task looks once per check and defers in between)."""
        return _poll_until_final(f"report {report_id}", lambda: self.get_report(report_id), poll_interval_s,
                                 timeout_s)

    # --- Transport --------------------------------------------------------------------------------

    def _call(self, operation: str, method: str, path: str, *, params: dict[str, str] | None = None,
              json: Any = None, idempotent: bool = True) -> requests.Response:
        """One SP-API operation: rate limit, token, send, typed errors, bounded retries."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_retry_s),
            retry=retry_if_exception(lambda exc: _is_retryable(exc, idempotent)),
            wait=lambda state: self._backoff(operation, state),
            before_sleep=lambda state: self._log_retry(operation, state),
            reraise=True,
        )
        return retrying(self._attempt, operation, method, f"{self.base_url}{path}", params, json)

    def _attempt(self, operation: str, method: str, url: str, params: dict[str, str] | None,
                 json: Any) -> requests.Response:
        # The token is taken after the (possibly long) wait for the bucket, so it cannot expire in between.
        self._acquire(operation)
        token = self._tokens.token()
        response = self._send(operation, method, url, params=params, json=json,
                              headers={"x-amz-access-token": token})
        if response.status_code == 403:  # expired or revoked token: refresh once, send once more
            self._tokens.invalidate(token)
            self._acquire(operation)
            token = self._tokens.token()
            response = self._send(operation, method, url, params=params, json=json,
                                  headers={"x-amz-access-token": token})
        if response.status_code >= 400:
            raise SpApiError.from_response(operation, response.status_code, _json_or_none(response),
                                           response.headers.get("x-amzn-RequestId"))
        reported = response.headers.get("x-amzn-RateLimit-Limit")
        if reported:
            try:
                self.limiter.adapt(operation, float(reported))
            except ValueError:
                log.warning("SP-API %s: ignoring unreadable x-amzn-RateLimit-Limit %r", operation, reported)
        return response

    def _acquire(self, operation: str) -> None:
        waited = self.limiter.acquire(operation)
        if waited > 0:
            # The reservation is exact; requests travel with jitter. A small margin keeps a queued call
            # from reaching Amazon a hair before its token exists there (no cumulative cost: the next
            # reservation is computed from the bucket, not from when this call left).
            margin = min(1.0, max(0.025, 0.01 / self.limiter.rate(operation)))
            time.sleep(margin)
            waited += margin
        if waited:
            self.stats.record(operation, rate_wait_s=waited)

    def _send(self, operation: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request, never redirected: a redirect would re-send the access token (requests keeps
        ``x-amz-access-token`` across hosts) or the upload to wherever the answer points."""
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT, **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                            allow_redirects=False, **kwargs)
        except _TRANSPORT_ERRORS as exc:
            self.stats.record(operation, calls=1, transport_errors=1)
            log.warning("SP-API %s: %s after %.0f ms", operation, type(exc).__name__,
                        (time.perf_counter() - started) * 1000)
            raise
        elapsed_ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        self.stats.record(operation, calls=1, throttled=int(status == 429), server_errors=int(status >= 500))
        log.log(logging.WARNING if status >= 300 else logging.INFO,
                "SP-API %s: HTTP %s in %.0f ms (x-amzn-RequestId %s)", operation, status, elapsed_ms,
                response.headers.get("x-amzn-RequestId", "n/a"))
        if 300 <= status < 400:
            raise SpApiError(operation, status, [ApiErrorDetail(
                "RedirectRefused", f"HTTP {status} redirect not followed: requests go to the configured "
                                   "endpoint only")], response.headers.get("x-amzn-RequestId"))
        return response

    def _transfer(self, operation: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A PUT/GET of a pre-signed document URL: no access token, no usage plan, idempotent."""
        def attempt() -> requests.Response:
            response = self._send(operation, method, url, **kwargs)
            if response.status_code >= 500:
                raise ServerError(operation, response.status_code, [_storage_error(response)],
                                  response.headers.get("x-amz-request-id"))
            if response.status_code >= 400:
                raise DocumentTransferError(operation, response.status_code, [_storage_error(response)],
                                            response.headers.get("x-amz-request-id"))
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_retry_s),
            retry=retry_if_exception(lambda exc: _is_retryable(exc, idempotent=True)),
            wait=lambda state: self._backoff(operation, state),
            before_sleep=lambda state: self._log_retry(operation, state),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _TRANSPORT_ERRORS as exc:
            # requests puts the URL (with its signature) into the message: keep only what failed.
            raise DocumentTransferError(operation, 0, [ApiErrorDetail(type(exc).__name__, "no response")],
                                        None) from None

    def _backoff(self, operation: str, state: RetryCallState) -> float:
        """Full-jitter exponential backoff; after a 429 at least one token interval of the plan."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (state.attempt_number - 1))
        wait = random.uniform(0, ceiling)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, QuotaExceededError):
            wait += 1.0 / self.limiter.rate(operation)
        return wait

    def _log_retry(self, operation: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = f"HTTP {exc.status} {exc.code}" if isinstance(exc, SpApiError) else type(exc).__name__
        log.warning("SP-API %s: %s, retry %d in %.2f s", operation, reason, state.attempt_number,
                    state.next_action.sleep if state.next_action else 0.0)


_USER_AGENT = "sales-channel/0.1 (Language=Python)"


_Processed = TypeVar("_Processed", Feed, Report)


def _poll_until_final(what: str, fetch: Callable[[], _Processed], poll_interval_s: float,
                      timeout_s: float) -> _Processed:
    """Fetch a feed or report until its processing status is final (DONE, CANCELLED or FATAL)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = fetch()
        if current.processing_status.is_final:
            return current
        if time.monotonic() + poll_interval_s > deadline:
            raise TimeoutError(f"{what} still {current.processing_status} after {timeout_s:.0f}s")
        time.sleep(poll_interval_s)


def _is_retryable(exc: BaseException, idempotent: bool) -> bool:
    if isinstance(exc, QuotaExceededError):
        return True
    if isinstance(exc, LwaError):
        return exc.status >= 500 or exc.status == 429
    if isinstance(exc, requests.ConnectTimeout):
        return True  # the connection never opened: nothing was sent
    if isinstance(exc, (ServerError, *_TRANSPORT_ERRORS)):
        return idempotent
    return False


def _id_list(ids: Sequence[str], parameter: str) -> tuple[str, ...]:
    if isinstance(ids, str):  # a lone id, not a sequence of one-letter ids
        raise InvalidParameterError(parameter, f"a list of marketplace ids is required, got the string {ids!r}")
    return tuple(ids)


def _check_order_id(order_id: str) -> None:
    if not isinstance(order_id, str) or not ORDER_ID_PATTERN.fullmatch(order_id):
        raise ValueError(f"order_id: an Amazon order id like 113-1234567-1234567 is required, got {order_id!r}")


def _storage_error(response: requests.Response) -> ApiErrorDetail:
    """The ``<Error><Code/><Message/></Error>`` of a refused pre-signed URL request, as far as readable."""
    try:
        root = ET.fromstring(response.content)
        return ApiErrorDetail(root.findtext("Code") or f"HTTP{response.status_code}", root.findtext("Message") or "")
    except ET.ParseError:
        return ApiErrorDetail(f"HTTP{response.status_code}", response.reason or "")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _new_session() -> requests.Session:
    session = requests.Session()
    # No proxy, CA bundle or .netrc from the environment: an HTTP(S)_PROXY would receive the LWA client
    # secret and refresh token (and, for the sandbox's plain-HTTP loopback URL, every access token).
    session.trust_env = False
    # Retries are ours (typed, rate-limited, logged): urllib3's own are off.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
