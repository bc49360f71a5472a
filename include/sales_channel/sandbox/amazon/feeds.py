"""Feed processing: ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` (acknowledge, or cancel with StatusCode Failure)
and ``POST_PAYMENT_ADJUSTMENT_DATA`` (refunds), answered by the standard XML ProcessingReport.

A feed moves IN_QUEUE → IN_PROGRESS → DONE on the lifecycle clock (``QUEUE_TIME`` and
``PROCESSING_TIME`` of lifecycle time, divided by F). Its document is processed when it reaches DONE
(or FATAL when the document cannot be parsed): every message is applied or refused on its own, the
effects land in the orders (and their ``lastUpdatedTime``) and the ledger, and the report lists a
Result per message that has an error or a warning.

XML is parsed with the standard library from UTF-8 bytes; a document with a DTD or entity declaration
is refused outright (FATAL), so nothing is ever expanded or fetched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sales_channel.sandbox.amazon import orders, processing

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

QUEUE_TIME = timedelta(seconds=30)
PROCESSING_TIME = timedelta(seconds=90)
MESSAGE_TYPES = {"POST_ORDER_ACKNOWLEDGEMENT_DATA": "OrderAcknowledgement",
                 "POST_PAYMENT_ADJUSTMENT_DATA": "OrderAdjustment"}
CANCEL_REASONS = ("NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled",
                  "GeneralAdjustment", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                  "CarrierCoverageFailure", "CustomerReturn", "MerchandiseNotReceived")
ADJUSTMENT_REASONS = ("NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip",
                      "DifferentItem", "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock",
                      "CustomerAddressIncorrect", "Exchange", "Other", "CarrierCreditDecision",
                      "RiskAssessmentInformationNotValid", "CarrierCoverageFailure", "TransactionRecord",
                      "Undeliverable", "RefusedDelivery", "BuyerCanceled")

# ResultMessageCodes of the sandbox's processing reports (see docs/amazon-sandbox.md).
CODES = {
    "xml": 5001,  # the document cannot be parsed: the feed is FATAL
    "message": 5002,  # a message lacks a required element or has an invalid value
    "unknown_order": 18028,
    "unknown_item": 18029,
    "shipped": 18030,  # cannot cancel: something has shipped
    "state": 18031,  # the order's state does not allow it (pending, cancelled)
    "already_cancelled": 18032,  # warning: nothing to do
    "too_much": 18033,  # refund beyond what is left of a component
    "currency": 18034,
    "duplicate": 18035,  # warning: this MerchantAdjustmentItemID was applied already
    "ignored": 18036,  # warning: part of a message the sandbox does not apply
}


class FeedDocumentError(Exception):
    """The whole document is unusable (the feed ends FATAL)."""


@dataclass
class Report:
    feed_id: str
    processed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, message_id: str, level: str, code: str, description: str, order_id: str | None = None) -> None:
        self.results.append({"MessageID": message_id, "ResultCode": level, "ResultMessageCode": str(CODES[code]),
                             "ResultDescription": description, "AmazonOrderID": order_id})

    def to_xml(self) -> bytes:
        errors = {r["MessageID"] for r in self.results if r["ResultCode"] == "Error"}
        warnings = {r["MessageID"] for r in self.results if r["ResultCode"] == "Warning"} - errors
        envelope = ET.Element("AmazonEnvelope", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                                 "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
        header = ET.SubElement(envelope, "Header")
        ET.SubElement(header, "DocumentVersion").text = "1.02"
        ET.SubElement(header, "MerchantIdentifier").text = "SANDBOX_MERCHANT"
        ET.SubElement(envelope, "MessageType").text = "ProcessingReport"
        message = ET.SubElement(envelope, "Message")
        ET.SubElement(message, "MessageID").text = "1"
        report = ET.SubElement(message, "ProcessingReport")
        ET.SubElement(report, "DocumentTransactionID").text = self.feed_id
        ET.SubElement(report, "StatusCode").text = "Complete"
        summary = ET.SubElement(report, "ProcessingSummary")
        ET.SubElement(summary, "MessagesProcessed").text = str(self.processed)
        ET.SubElement(summary, "MessagesSuccessful").text = str(self.processed - len(errors))
        ET.SubElement(summary, "MessagesWithError").text = str(len(errors))
        ET.SubElement(summary, "MessagesWithWarning").text = str(len(warnings))
        for result in self.results:
            node = ET.SubElement(report, "Result")
            for name in ("MessageID", "ResultCode", "ResultMessageCode", "ResultDescription"):
                ET.SubElement(node, name).text = result[name]
            if result["AmazonOrderID"]:
                info = ET.SubElement(node, "AdditionalInfo")
                ET.SubElement(info, "AmazonOrderID").text = result["AmazonOrderID"]
        return ET.tostring(envelope, encoding="UTF-8", xml_declaration=True)


class MessageError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _text(node: ET.Element, name: str, required: bool = True) -> str | None:
    child = node.find(name)
    value = child.text.strip() if child is not None and child.text else None
    if required and not value:
        raise MessageError("message", f"Missing required element {name} in {node.tag}.")
    return value


_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")


def parse_envelope(content: bytes, feed_type: str) -> list[ET.Element]:
    """The Messages of a feed document, or FeedDocumentError when the document is unusable."""
    if re.search(rb"<!(DOCTYPE|ENTITY)", content, re.IGNORECASE):
        raise FeedDocumentError("Document type and entity declarations are not allowed.")
    declared = _DECLARED_ENCODING.match(content)
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise FeedDocumentError(f"The document must be UTF-8, not {declared.group(1).decode()}.")
    try:
        content.decode("utf-8")
        root = ET.fromstring(content)
    except (UnicodeDecodeError, ET.ParseError) as error:
        raise FeedDocumentError(f"The document is not well-formed UTF-8 XML: {error}.") from None
    if root.tag != "AmazonEnvelope":
        raise FeedDocumentError(f"The root element must be AmazonEnvelope, not {root.tag}.")
    message_type = root.findtext("MessageType", "").strip()
    if message_type != MESSAGE_TYPES[feed_type]:
        raise FeedDocumentError(f"MessageType {message_type or '(missing)'} does not match feed type {feed_type} "
                                f"(expected {MESSAGE_TYPES[feed_type]}).")
    return root.findall("Message")


def process_document(sandbox: AmazonSandbox, feed: dict[str, Any], content: bytes) -> Report:
    """Apply every message of the feed's document; the caller holds the store's transaction."""
    messages = parse_envelope(content, feed["feedType"])
    report = Report(feed["feedId"])
    handler = _acknowledge if feed["feedType"] == "POST_ORDER_ACKNOWLEDGEMENT_DATA" else _adjust
    for position, message in enumerate(messages, start=1):
        message_id = (message.findtext("MessageID") or "").strip()
        report.processed += 1
        if not message_id.isdigit() or int(message_id) < 1:
            report.add(message_id or str(position), "Error", "message",
                       f"Message {position} has no valid MessageID (a positive integer).")
            continue
        body = message.find(MESSAGE_TYPES[feed["feedType"]])
        order_id = body.findtext("AmazonOrderID", "").strip() if body is not None else ""
        try:
            if body is None:
                raise MessageError("message", f"Message {message_id} has no {MESSAGE_TYPES[feed['feedType']]}.")
            handler(sandbox, feed, message_id, body, report)
        except MessageError as error:
            report.add(message_id, "Error", error.code, error.description, order_id or None)
    return report


def _order_of(sandbox: AmazonSandbox, body: ET.Element) -> dict[str, Any]:
    order_id = _text(body, "AmazonOrderID")
    doc = sandbox.store.get_order(order_id)
    if doc is None:
        raise MessageError("unknown_order", f"Order {order_id} was not found.")
    if orders.is_raw(doc):
        raise MessageError("state", f"Order {order_id} is held as a raw order; the sandbox applies no feed to it.")
    return doc


def _acknowledge(sandbox: AmazonSandbox, feed: dict[str, Any], message_id: str, body: ET.Element,
                 report: Report) -> None:
    doc = _order_of(sandbox, body)
    order_id = doc["orderId"]
    status_code = _text(body, "StatusCode")
    if status_code not in ("Success", "Failure"):
        raise MessageError("message", f"StatusCode must be Success or Failure, not {status_code}.")
    items = {item["orderItemId"] for item in doc["orderItems"]}
    reasons: dict[str, str] = {}
    for node in body.findall("Item"):
        item_id = _text(node, "AmazonOrderItemCode")
        if item_id not in items:
            raise MessageError("unknown_item", f"Order item {item_id} does not belong to order {order_id}.")
        reason = _text(node, "CancelReason", required=False)
        if reason is not None and reason not in CANCEL_REASONS:
            raise MessageError("message", f"Invalid CancelReason {reason} for order item {item_id}.")
        if reason:
            reasons[item_id] = reason
    status = orders.order_status(doc)
    now = sandbox.now_iso()
    merchant_order_id = _text(body, "MerchantOrderID", required=False)
    if status_code == "Success":
        if status == "CANCELLED":
            raise MessageError("state", f"Order {order_id} is canceled and cannot be acknowledged.")
        if merchant_order_id:
            doc["orderAliases"] = [{"aliasId": merchant_order_id, "aliasType": "SELLER_ORDER_ID"}]
            orders.touch(doc, now)
            sandbox.save_order(doc)
        return
    if status == "CANCELLED":
        report.add(message_id, "Warning", "already_cancelled", f"Order {order_id} is already canceled.", order_id)
        return
    if orders.anything_shipped(doc):
        raise MessageError("shipped", f"Order {order_id} has shipped items and cannot be canceled.")
    if status != "UNSHIPPED":
        raise MessageError("state", f"Order {order_id} is {status} and cannot be canceled.")
    default_reason = next(iter(reasons.values()), "GeneralAdjustment")
    orders.cancel(doc, "MERCHANT", reasons, default_reason)
    orders.touch(doc, now)
    sandbox.save_order(doc)
    sandbox.record("cancellation", order_id, {"cancelledBy": "MERCHANT", "reason": default_reason,
                                              "source": "feed", "feedId": feed["feedId"], "messageId": message_id})


def _adjust(sandbox: AmazonSandbox, feed: dict[str, Any], message_id: str, body: ET.Element,
            report: Report) -> None:
    """Refunds: every AdjustedItem of the message is checked first, then all are applied together."""
    doc = _order_of(sandbox, body)
    order_id = doc["orderId"]
    currency = doc["_sandbox"]["currency"]
    if orders.order_status(doc) in ("PENDING", "CANCELLED"):
        raise MessageError("state", f"Order {order_id} is {orders.order_status(doc)}: nothing was charged.")
    items = {item["orderItemId"]: item for item in doc["orderItems"]}
    applied_ids = set(doc["_sandbox"].setdefault("adjustments", []))
    adjusted = body.findall("AdjustedItem")
    if not adjusted:
        raise MessageError("message", f"Message {message_id} has no AdjustedItem.")
    planned: list[tuple[dict[str, Any], str | None, list[tuple[str, Decimal]], str]] = []
    pending: dict[tuple[str, str], Decimal] = {}
    for node in adjusted:
        item_id = _text(node, "AmazonOrderItemCode")
        if item_id not in items:
            raise MessageError("unknown_item", f"Order item {item_id} does not belong to order {order_id}.")
        adjustment_id = _text(node, "MerchantAdjustmentItemID", required=False)
        reason = _text(node, "AdjustmentReason")
        if reason not in ADJUSTMENT_REASONS:
            raise MessageError("message", f"Invalid AdjustmentReason {reason} for order item {item_id}.")
        if adjustment_id and adjustment_id in applied_ids:
            report.add(message_id, "Warning", "duplicate", f"MerchantAdjustmentItemID {adjustment_id} of order "
                       f"{order_id} was already applied; it is not refunded again.", order_id)
            continue
        if node.find("PromotionAdjustments") is not None:
            report.add(message_id, "Warning", "ignored", "PromotionAdjustments are not applied by the sandbox: "
                       "refund net amounts in ItemPriceAdjustments.", order_id)
        components = []
        for component in node.findall("ItemPriceAdjustments/Component"):
            kind = _text(component, "Type")
            amount_node = component.find("Amount")
            if kind not in orders.REFUND_COMPONENTS:
                raise MessageError("message", f"Unsupported adjustment component {kind} for order item {item_id}.")
            if amount_node is None or not (amount_node.text or "").strip():
                raise MessageError("message", f"Component {kind} of order item {item_id} has no Amount.")
            if amount_node.get("currency") != currency:
                raise MessageError("currency", f"Amount of {kind} for order item {item_id} is in "
                                   f"{amount_node.get('currency')}; order {order_id} is in {currency}.")
            try:
                amount = Decimal(amount_node.text.strip())
            except InvalidOperation:
                raise MessageError("message", f"Invalid Amount {amount_node.text!r} of {kind} for order item "
                                   f"{item_id}.") from None
            if amount <= 0 or orders.quantize(amount, currency) != amount:
                raise MessageError("message", f"Amount {amount} of {kind} for order item {item_id} must be "
                                   f"positive with at most {orders.places(currency)} decimals.")
            key = (item_id, kind)
            pending[key] = pending.get(key, Decimal(0)) + amount
            left = orders.refundable(items[item_id], kind)
            if pending[key] > left:
                raise MessageError("too_much", f"Refund of {pending[key]} {currency} {kind} for order item "
                                   f"{item_id} exceeds the {left} {currency} left to refund.")
            components.append((kind, amount))
        if not components:
            raise MessageError("message", f"AdjustedItem {item_id} has no ItemPriceAdjustments/Component.")
        planned.append((items[item_id], adjustment_id, components, reason))
    if not planned:
        return
    for item, adjustment_id, components, reason in planned:
        for kind, amount in components:
            orders.apply_refund(item, kind, amount, currency)
        if adjustment_id:
            doc["_sandbox"]["adjustments"].append(adjustment_id)
        sandbox.record("refund", order_id, {
            "orderItemId": item["orderItemId"], "merchantAdjustmentItemId": adjustment_id, "reason": reason,
            "currency": currency, "components": {kind: orders.amount_text(amount, currency)
                                                 for kind, amount in components},
            "source": "feed", "feedId": feed["feedId"], "messageId": message_id})
    orders.touch(doc, sandbox.now_iso())
    sandbox.save_order(doc)


def advance_feed(sandbox: AmazonSandbox, feed_id: str, kind: str) -> str:
    """The lifecycle events of a feed: start processing, then finish it (DONE or FATAL)."""
    return processing.advance(sandbox, "feed", sandbox.store.get_feed(feed_id), kind == "feed_start",
                              sandbox.store.put_feed, lambda feed: _finish(sandbox, feed))


def _finish(sandbox: AmazonSandbox, feed: dict[str, Any]) -> None:
    document = sandbox.store.get_document(feed["inputFeedDocumentId"])
    try:
        report = process_document(sandbox, feed, document["content"] or b"")
        status = "DONE"
    except FeedDocumentError as error:
        report = Report(feed["feedId"])
        report.add("0", "Error", "xml", str(error))
        status = "FATAL"
    result_id = processing.store_document(sandbox, new_document_id(sandbox), "result", "text/xml; charset=UTF-8",
                                          report.to_xml())
    feed.update(processingStatus=status, resultFeedDocumentId=result_id)


def new_document_id(sandbox: AmazonSandbox) -> str:
    return f"amzn1.tortuga.4.na.{sandbox.new_id(20)}"
