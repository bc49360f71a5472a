"""The faithful Feeds API 2021-06-30 and the pre-signed document URLs it hands out.

The upload and download URLs stand in for Amazon's pre-signed S3 URLs: they are built from
``config.public_base_url`` (never from the request's ``Host``), signed, valid for five minutes, need
no access token and are not SP-API operations (no usage plan). Like S3, a refused request answers
with an XML ``<Error>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from sales_channel.sandbox.amazon import feeds
from sales_channel.sandbox.amazon.errors import invalid_input, not_found

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_PATH = "/documents"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


def _normalized_media_type(value: str) -> str:
    return ";".join(part.strip().lower() for part in value.split(";") if part.strip())


class DocumentUrls:
    """Pre-signed URLs: ``<public base>/documents/<id>?expires=<epoch>&signature=<hmac>``."""

    def __init__(self, sandbox: AmazonSandbox) -> None:
        self.sandbox = sandbox
        self.base = sandbox.config.public_base_url.rstrip("/")
        self._key = sandbox.url_secret.encode()

    def _sign(self, method: str, document_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{method} {document_id} {expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, method: str, document_id: str) -> str:
        expires = int(time.time()) + self.sandbox.settings["document_url_ttl_seconds"]
        query = urlencode({"expires": expires, "signature": self._sign(method, document_id, expires)})
        return f"{self.base}{DOCUMENT_PATH}/{document_id}?{query}"

    def refusal(self, method: str, document_id: str, request: Request) -> Response | None:
        """None when the URL is genuine and still valid, else S3's answer."""
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            return _s3_error(403, "AccessDenied", "Query-string authentication requires expires and signature.")
        signature = request.query_params.get("signature", "")
        if not hmac.compare_digest(signature, self._sign(method, document_id, expires)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if expires < time.time():
            return _s3_error(403, "AccessDenied", "Request has expired.")
        return None


def feeds_router(sandbox: AmazonSandbox, guard: Callable[..., str]) -> APIRouter:
    router = APIRouter(tags=["Feeds"], dependencies=[Depends(guard)])
    urls = DocumentUrls(sandbox)

    @router.post("/feeds/2021-06-30/documents", name="createFeedDocument", status_code=201)
    def create_feed_document(body: Annotated[Any, Body()] = None) -> JSONResponse:
        content_type = body.get("contentType") if isinstance(body, dict) else None
        if not isinstance(content_type, str) or not content_type.strip():
            raise invalid_input("Missing required field contentType.", "contentType is required")
        document_id = feeds.new_document_id(sandbox)
        sandbox.store.put_document(document_id, "feed", content_type, None, None, time.time())
        return JSONResponse({"feedDocumentId": document_id, "url": urls.url("PUT", document_id)}, status_code=201)

    @router.post("/feeds/2021-06-30/feeds", name="createFeed", status_code=202)
    def create_feed(body: Annotated[Any, Body()] = None) -> JSONResponse:
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        feed_type = body.get("feedType")
        if not isinstance(feed_type, str) or not feed_type:
            raise invalid_input("Missing required field feedType.")
        if feed_type not in feeds.MESSAGE_TYPES:
            raise invalid_input(f"Invalid feedType {feed_type}.",
                                f"the sandbox processes {', '.join(feeds.MESSAGE_TYPES)}")
        marketplace_ids = body.get("marketplaceIds")
        if (not isinstance(marketplace_ids, list) or not 1 <= len(marketplace_ids) <= 25
                or not all(isinstance(m, str) and m for m in marketplace_ids)):
            raise invalid_input("marketplaceIds must list 1 to 25 marketplace ids.")
        document_id = body.get("inputFeedDocumentId")
        if not isinstance(document_id, str) or not document_id:
            raise invalid_input("Missing required field inputFeedDocumentId.")
        document = sandbox.store.get_document(document_id)
        if document is None or document["kind"] != "feed":
            raise invalid_input(f"inputFeedDocumentId {document_id} does not exist.")
        if document["content"] is None:
            raise invalid_input(f"inputFeedDocumentId {document_id} has no content: upload it before createFeed.")
        feed_id = sandbox.new_id(11)
        feed = {"feedId": feed_id, "feedType": feed_type, "marketplaceIds": marketplace_ids,
                "createdTime": sandbox.now_iso(), "processingStatus": "IN_QUEUE",
                "inputFeedDocumentId": document_id}
        with sandbox.store.transaction():
            sandbox.store.put_feed(feed)
            queued = feeds.QUEUE_TIME.total_seconds()
            sandbox.schedule(queued, "feed_start", feed_id, {})
            sandbox.schedule(queued + feeds.PROCESSING_TIME.total_seconds(), "feed_done", feed_id, {})
        return JSONResponse({"feedId": feed_id}, status_code=202)

    @router.get("/feeds/2021-06-30/feeds/{feedId}", name="getFeed")
    def get_feed(feedId: str) -> dict[str, Any]:
        feed = sandbox.store.get_feed(feedId)
        if feed is None:
            raise not_found(f"Feed {feedId} was not found.")
        return {key: value for key, value in feed.items() if key != "inputFeedDocumentId"}

    @router.get("/feeds/2021-06-30/documents/{feedDocumentId}", name="getFeedDocument")
    def get_feed_document(feedDocumentId: str) -> dict[str, Any]:
        document = sandbox.store.get_document(feedDocumentId)
        if document is None or document["content"] is None:
            raise not_found(f"Feed document {feedDocumentId} was not found.")
        answer = {"feedDocumentId": feedDocumentId, "url": urls.url("GET", feedDocumentId)}
        if document["compression"]:
            answer["compressionAlgorithm"] = document["compression"]
        return answer

    return router


def documents_router(sandbox: AmazonSandbox) -> APIRouter:
    """The pre-signed upload/download URLs (S3's part of the flow, not SP-API operations)."""
    router = APIRouter(tags=["Documents (pre-signed URLs)"])
    urls = DocumentUrls(sandbox)

    @router.put(DOCUMENT_PATH + "/{document_id}", name="uploadFeedDocument")
    async def upload(document_id: str, request: Request) -> Response:
        refusal = urls.refusal("PUT", document_id, request)
        if refusal:
            return refusal
        document = await run_in_threadpool(sandbox.store.get_document, document_id)
        if document is None or document["kind"] != "feed":
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if _normalized_media_type(request.headers.get("content-type", "")) != _normalized_media_type(
                document["content_type"]):
            return _s3_error(403, "SignatureDoesNotMatch", "The Content-Type of the upload differs from the "
                             "contentType given to createFeedDocument.")
        content = await request.body()
        if len(content) > MAX_DOCUMENT_BYTES:
            return _s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        await run_in_threadpool(sandbox.store.put_document, document_id, "feed", document["content_type"], content,
                                None, document["created"])
        return Response(status_code=200, headers={"ETag": f'"{hashlib.md5(content).hexdigest()}"'})

    @router.get(DOCUMENT_PATH + "/{document_id}", name="downloadDocument")
    def download(document_id: str, request: Request) -> Response:
        refusal = urls.refusal("GET", document_id, request)
        if refusal:
            return refusal
        document = sandbox.store.get_document(document_id)
        if document is None or document["content"] is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(document["content"], media_type=document["content_type"])

    return router
