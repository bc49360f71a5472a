"""What feeds and reports share in the sandbox: the processing step of the lifecycle clock and the
documents that processing stores.

Both move IN_QUEUE → IN_PROGRESS on their start event and from IN_PROGRESS to a final status on their
done event; an event that finds the feed or report elsewhere (a report cancelled while IN_QUEUE) is
skipped.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox


def advance(sandbox: AmazonSandbox, what: str, doc: dict[str, Any] | None, starting: bool,
            put: Callable[[dict[str, Any]], None], finish: Callable[[dict[str, Any]], None]) -> str:
    """Apply the start (``starting``) or done event to ``doc``, the feed or report ``what`` names.
    ``finish`` sets the final ``processingStatus`` (and the document it produced); the result is what
    the lifecycle log shows: ``applied`` for a start, the final status for a done, or why it skipped."""
    if doc is None:
        return f"skipped: {what} no longer exists"
    if doc["processingStatus"] != ("IN_QUEUE" if starting else "IN_PROGRESS"):
        return f"skipped: {what} is {doc['processingStatus']}"
    now = sandbox.now_iso()
    if starting:
        doc.update(processingStatus="IN_PROGRESS", processingStartTime=now)
    else:
        finish(doc)
        doc["processingEndTime"] = now
    put(doc)
    return "applied" if starting else doc["processingStatus"]


def store_document(sandbox: AmazonSandbox, document_id: str, kind: str, content_type: str, content: bytes) -> str:
    """Store a processing result (``kind`` result or report), GZIP-compressed when the ``gzip_reports``
    setting asks for it; returns ``document_id``."""
    compress = bool(sandbox.settings["gzip_reports"])
    sandbox.store.put_document(document_id, kind, content_type, gzip.compress(content) if compress else content,
                               "GZIP" if compress else None, sandbox.clock.now().timestamp())
    return document_id
