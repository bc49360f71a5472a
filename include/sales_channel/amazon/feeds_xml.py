"""XML order feeds (cancellations, refunds) and their processing reports.

Each feed is one ``AmazonEnvelope`` with a ``Header`` (DocumentVersion, MerchantIdentifier), the
``MessageType`` and one ``Message`` per order. MessageIDs are 1..N in the order the caller passed the
orders, so the same batch built again gets the same ids and the processing report's per-message
results map back to orders through ``FeedBatch.order_by_message_id``.

Documents are UTF-8 with the encoding declared: non-Latin text survives the upload intact.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sales_channel.amazon.errors import FeedProcessingReportError
from sales_channel.domain.money import minor_units

ORDER_ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
PAYMENT_ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
_DOCUMENT_VERSION = "1.01"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


class CancelReason(StrEnum):
    """``CancelReason`` of OrderAcknowledgement.xsd."""

    NO_INVENTORY = "NoInventory"
    SHIPPING_ADDRESS_UNDELIVERABLE = "ShippingAddressUndeliverable"
    CUSTOMER_EXCHANGE = "CustomerExchange"
    BUYER_CANCELED = "BuyerCanceled"
    GENERAL_ADJUSTMENT = "GeneralAdjustment"
    CARRIER_CREDIT_DECISION = "CarrierCreditDecision"
    RISK_ASSESSMENT_INFORMATION_NOT_VALID = "RiskAssessmentInformationNotValid"
    CARRIER_COVERAGE_FAILURE = "CarrierCoverageFailure"
    CUSTOMER_RETURN = "CustomerReturn"
    MERCHANDISE_NOT_RECEIVED = "MerchandiseNotReceived"


class AdjustmentReason(StrEnum):
    """``AdjustmentReason`` of OrderAdjustment.xsd."""

    NO_INVENTORY = "NoInventory"
    CUSTOMER_RETURN = "CustomerReturn"
    GENERAL_ADJUSTMENT = "GeneralAdjustment"
    COULD_NOT_SHIP = "CouldNotShip"
    DIFFERENT_ITEM = "DifferentItem"
    ABANDONED = "Abandoned"
    CUSTOMER_CANCEL = "CustomerCancel"
    BUYER_CANCELED = "BuyerCanceled"
    PRICE_ERROR = "PriceError"
    PRODUCT_OUT_OF_STOCK = "ProductOutofStock"
    CUSTOMER_ADDRESS_INCORRECT = "CustomerAddressIncorrect"
    EXCHANGE = "Exchange"
    OTHER = "Other"
    CARRIER_CREDIT_DECISION = "CarrierCreditDecision"
    RISK_ASSESSMENT_INFORMATION_NOT_VALID = "RiskAssessmentInformationNotValid"
    CARRIER_COVERAGE_FAILURE = "CarrierCoverageFailure"
    TRANSACTION_RECORD = "TransactionRecord"
    UNDELIVERABLE = "Undeliverable"
    REFUSED_DELIVERY = "RefusedDelivery"


class PriceComponent(StrEnum):
    """``Component/Type`` of a BuyerPrice (ItemPriceAdjustments)."""

    PRINCIPAL = "Principal"
    SHIPPING = "Shipping"
    TAX = "Tax"
    SHIPPING_TAX = "ShippingTax"
    RESTOCKING_FEE = "RestockingFee"
    RESTOCKING_FEE_TAX = "RestockingFeeTax"
    GIFT_WRAP = "GiftWrap"
    GIFT_WRAP_TAX = "GiftWrapTax"
    SURCHARGE = "Surcharge"
    RETURN_SHIPPING = "ReturnShipping"
    GOODWILL = "Goodwill"
    EXPORT_CHARGE = "ExportCharge"
    COD = "COD"
    COD_TAX = "CODTax"
    OTHER = "Other"


@dataclass(frozen=True)
class CancelItem:
    order_item_id: str
    reason: CancelReason | str


@dataclass(frozen=True)
class OrderCancellation:
    """Cancel these items of an unshipped order (an acknowledgement with StatusCode Failure)."""

    amazon_order_id: str
    items: Sequence[CancelItem]


@dataclass(frozen=True)
class AdjustedItem:
    """The refund of one order item: amounts per price component, all in the adjustment's currency."""

    order_item_id: str
    reason: AdjustmentReason | str
    components: Mapping[PriceComponent | str, Decimal]
    quantity_cancelled: int | None = None


@dataclass(frozen=True)
class OrderRefund:
    """A payment adjustment of one order. ``adjustment_id`` is the merchant's id of this refund (e.g. the
    credit memo): every item's MerchantAdjustmentItemID derives from it, so Amazon reports a re-sent
    refund as a duplicate instead of paying it twice."""

    amazon_order_id: str
    adjustment_id: str
    currency: str
    items: Sequence[AdjustedItem]


@dataclass(frozen=True)
class FeedBatch:
    """A built feed: its type, the XML bytes, and which order each MessageID carries."""

    feed_type: str
    xml: bytes = field(repr=False)
    order_by_message_id: Mapping[int, str]


def merchant_adjustment_item_id(adjustment_id: str, position: int) -> str:
    """The MerchantAdjustmentItemID of the ``position``-th (1-based) item of a refund."""
    return f"{adjustment_id}-{position}"


def build_order_acknowledgement_feed(merchant_id: str, cancellations: Sequence[OrderCancellation]) -> FeedBatch:
    """POST_ORDER_ACKNOWLEDGEMENT_DATA cancelling the given orders (items with a CancelReason each)."""
    root, messages = _envelope(merchant_id, "OrderAcknowledgement", cancellations, "cancellations")
    for message_id, cancellation in enumerate(cancellations, start=1):
        order_id = _required(cancellation.amazon_order_id, "amazon_order_id", message_id)
        if not cancellation.items:
            raise ValueError(f"order {order_id}: items: a cancellation needs at least one item")
        body = _message(root, message_id, "OrderAcknowledgement")
        ET.SubElement(body, "AmazonOrderID").text = order_id
        ET.SubElement(body, "StatusCode").text = "Failure"
        for item in cancellation.items:
            reason = _member(CancelReason, item.reason, f"order {order_id}: item {item.order_item_id}: CancelReason")
            element = ET.SubElement(body, "Item")
            ET.SubElement(element, "AmazonOrderItemCode").text = _required(
                item.order_item_id, f"order {order_id}: order_item_id", message_id)
            ET.SubElement(element, "CancelReason").text = reason.value
        messages[message_id] = order_id
    return FeedBatch(ORDER_ACKNOWLEDGEMENT_FEED, _serialize(root), messages)


def build_payment_adjustment_feed(merchant_id: str, refunds: Sequence[OrderRefund]) -> FeedBatch:
    """POST_PAYMENT_ADJUSTMENT_DATA refunding the given amounts (positive, at most 2 decimals)."""
    root, messages = _envelope(merchant_id, "OrderAdjustment", refunds, "refunds")
    for message_id, refund in enumerate(refunds, start=1):
        order_id = _required(refund.amazon_order_id, "amazon_order_id", message_id)
        where = f"order {order_id}"
        adjustment_id = _required(refund.adjustment_id, f"{where}: adjustment_id", message_id)
        currency = refund.currency
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
            raise ValueError(f"{where}: currency: an ISO 4217 code like 'EUR' is required, got {currency!r}")
        if not refund.items:
            raise ValueError(f"{where}: items: a refund needs at least one item")
        body = _message(root, message_id, "OrderAdjustment")
        ET.SubElement(body, "AmazonOrderID").text = order_id
        for position, item in enumerate(refund.items, start=1):
            item_where = f"{where}: item {item.order_item_id}"
            reason = _member(AdjustmentReason, item.reason, f"{item_where}: AdjustmentReason")
            if not item.components:
                raise ValueError(f"{item_where}: components: at least one price component is required")
            element = ET.SubElement(body, "AdjustedItem")
            ET.SubElement(element, "AmazonOrderItemCode").text = _required(
                item.order_item_id, f"{where}: order_item_id", message_id)
            ET.SubElement(element, "MerchantAdjustmentItemID").text = merchant_adjustment_item_id(
                adjustment_id, position)
            ET.SubElement(element, "AdjustmentReason").text = reason.value
            prices = ET.SubElement(element, "ItemPriceAdjustments")
            for component, amount in item.components.items():
                kind = _member(PriceComponent, component, f"{item_where}: component type")
                price = ET.SubElement(prices, "Component")
                ET.SubElement(price, "Type").text = kind.value
                ET.SubElement(price, "Amount", currency=currency).text = _amount(
                    amount, currency, f"{item_where}: {kind.value} amount")
            if item.quantity_cancelled is not None:
                if item.quantity_cancelled < 1:
                    raise ValueError(f"{item_where}: quantity_cancelled must be >= 1")
                ET.SubElement(element, "QuantityCancelled").text = str(item.quantity_cancelled)
        messages[message_id] = order_id
    return FeedBatch(PAYMENT_ADJUSTMENT_FEED, _serialize(root), messages)


def _envelope(merchant_id: str, message_type: str, entries: Sequence[object], name: str
              ) -> tuple[ET.Element, dict[int, str]]:
    if not merchant_id or not merchant_id.strip():
        raise ValueError("merchant_id: the seller's MerchantIdentifier is required")
    if not entries:
        raise ValueError(f"{name}: a feed needs at least one order")
    root = ET.Element("AmazonEnvelope", {"xmlns:xsi": _XSI, "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = _DOCUMENT_VERSION
    ET.SubElement(header, "MerchantIdentifier").text = merchant_id
    ET.SubElement(root, "MessageType").text = message_type
    return root, {}


def _message(root: ET.Element, message_id: int, body_name: str) -> ET.Element:
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = str(message_id)
    return ET.SubElement(message, body_name)


def _serialize(root: ET.Element) -> bytes:
    ET.indent(root)
    # Serialized as text, then encoded: every character stays itself (no &#...; references).
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def _required(value: str, name: str, message_id: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required (message {message_id})")
    return value


def _member(enum: type[StrEnum], value: object, where: str) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{where}: {value!r} is not one of Amazon's values ({allowed})") from None


def _amount(value: Decimal, currency: str, where: str) -> str:
    if not isinstance(value, Decimal):
        raise ValueError(f"{where}: must be a Decimal, got {type(value).__name__} (floats lose cents)")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{where}: must be a positive amount, got {value}")
    places = minor_units(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{where}: {currency} amounts have at most {places} decimal places, got {value}")
    return f"{value:.{places}f}"


# --- Processing reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageResult:
    """One ``Result`` of a processing report: an error or warning about one message."""

    message_id: int
    result_code: str  # "Error" or "Warning"
    result_message_code: str | None
    description: str | None
    additional_info: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.result_code == "Error"


@dataclass(frozen=True)
class ProcessingReport:
    status_code: str | None
    messages_processed: int
    messages_successful: int
    messages_with_error: int
    messages_with_warning: int
    results: tuple[MessageResult, ...]
    document_transaction_id: str | None = None

    def results_by_order(self, batch: FeedBatch) -> dict[str, list[MessageResult]]:
        """Every order of ``batch`` with the results reported for its message (empty: it succeeded)."""
        by_order: dict[str, list[MessageResult]] = {order: [] for order in batch.order_by_message_id.values()}
        for result in self.results:
            order_id = batch.order_by_message_id.get(result.message_id)
            if order_id is not None:
                by_order[order_id].append(result)
        return by_order

    def failed_message_ids(self) -> set[int]:
        return {result.message_id for result in self.results if result.is_error}


def decode_document(content: bytes, compression_algorithm: str | None) -> bytes:
    """The document's bytes, gunzipped when getFeedDocument said ``GZIP``."""
    if compression_algorithm is None:
        return content
    if compression_algorithm.upper() != "GZIP":
        raise FeedProcessingReportError(f"compressionAlgorithm: unsupported value {compression_algorithm!r}")
    try:
        return gzip.decompress(content)
    except (OSError, EOFError) as exc:
        raise FeedProcessingReportError(f"document declared GZIP but could not be decompressed: {exc}") from None


def parse_processing_report(content: bytes) -> ProcessingReport:
    """Parse an XML processing report (AmazonEnvelope / Message / ProcessingReport)."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise FeedProcessingReportError(f"processing report is not well-formed XML: {exc}") from None
    report = root if root.tag == "ProcessingReport" else root.find("./Message/ProcessingReport")
    if report is None:
        raise FeedProcessingReportError(f"no ProcessingReport element in the document (root {root.tag!r})")
    summary = report.find("ProcessingSummary")

    def count(name: str) -> int:
        text = summary.findtext(name) if summary is not None else None
        return int(text) if text and text.strip().isdigit() else 0

    results = []
    for result in report.findall("Result"):
        message_id = (result.findtext("MessageID") or "").strip()
        if not message_id.isdigit():
            raise FeedProcessingReportError(f"Result without a numeric MessageID: {message_id!r}")
        info = result.find("AdditionalInfo")
        results.append(MessageResult(
            message_id=int(message_id),
            result_code=(result.findtext("ResultCode") or "").strip(),
            result_message_code=(result.findtext("ResultMessageCode") or "").strip() or None,
            description=(result.findtext("ResultDescription") or "").strip() or None,
            additional_info={child.tag: (child.text or "").strip() for child in info} if info is not None else {},
        ))
    return ProcessingReport(
        status_code=(report.findtext("StatusCode") or "").strip() or None,
        messages_processed=count("MessagesProcessed"),
        messages_successful=count("MessagesSuccessful"),
        messages_with_error=count("MessagesWithError"),
        messages_with_warning=count("MessagesWithWarning"),
        results=tuple(results),
        document_transaction_id=(report.findtext("DocumentTransactionID") or "").strip() or None,
    )
