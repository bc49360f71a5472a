"""A realistic Orders API v2026-01-01 order with every kind of buyer data (shared by the store tests)."""

from __future__ import annotations

import copy
from typing import Any

BUYER_VALUES = [
    "山田 太郎", "taro.yamada@marketplace.amazon.co.jp", "Yamada Trading KK", "PO-4471",
    "Hauptstraße 5", "Hinterhaus", "Wohnung 3", "München", "80331", "+49 89 1234567",
    "Leave with the neighbour Frau Müller", "DE123456789", "Yamada Taro GmbH", "Happy birthday, Hanako!",
    "https://custom.example/taro-engraving",
]


def amazon_order(order_id: str = "302-1234567-7654321", last_updated: str = "2026-11-29T11:00:00Z",
                 status: str = "UNSHIPPED", amount: str = "1234.5600") -> dict[str, Any]:
    """An FBM business order with buyer, recipient, tax registration, gift message and customization."""
    address = {"name": "山田 太郎", "companyName": "Yamada Trading KK", "addressLine1": "Hauptstraße 5",
               "addressLine2": "Hinterhaus", "addressLine3": "Wohnung 3", "city": "München",
               "stateOrRegion": "BY", "postalCode": "80331", "countryCode": "DE", "phone": "+49 89 1234567",
               "addressType": "RESIDENTIAL"}
    return copy.deepcopy({
        "orderId": order_id,
        "createdTime": "2026-11-29T10:00:00+01:00",
        "lastUpdatedTime": last_updated,
        "programs": ["AMAZON_BUSINESS"],
        "salesChannel": {"channelName": "Amazon", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
        "buyer": {"buyerName": "山田 太郎", "buyerEmail": "taro.yamada@marketplace.amazon.co.jp",
                  "buyerCompanyName": "Yamada Trading KK", "buyerPurchaseOrderNumber": "PO-4471"},
        "recipient": {"deliveryAddress": address,
                      "deliveryPreference": {"addressInstruction": "Leave with the neighbour Frau Müller"}},
        "proceeds": {"grandTotal": {"amount": amount, "currencyCode": "EUR"}},
        "tax": {"taxRegistrations": [{"legalName": "Yamada Taro GmbH", "taxRegistrationNumber": "DE123456789",
                                      "taxRegistrationAddress": address}]},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT"},
        "orderItems": [{
            "orderItemId": "11111111111111",
            "quantityOrdered": 2,
            "product": {"asin": "B000000001", "title": "Teekanne", "sellerSku": "TEA-POT-1",
                        "price": {"unitPrice": {"amount": "617.2800", "currencyCode": "EUR"}},
                        "customization": {"customizedUrl": "https://custom.example/taro-engraving"}},
            "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 2,
                            "packing": {"giftOption": {"giftMessage": "Happy birthday, Hanako!",
                                                       "giftWrapLevel": "Classic"}}},
        }],
        "packages": [{"packageReferenceId": "1", "carrier": "DHL", "trackingNumber": "JJD000390007",
                      "shipFromAddress": {"name": "Warehouse 7", "city": "Leipzig", "countryCode": "DE"}}],
    })
