"""Customer accounts (``POST /V1/customers``, ``GET /V1/customers/{id}``, ``GET /V1/customers/search``).

As in Magento, an email address is unique per website (customer accounts are shared per website by
default), a second account for it is refused, and the account is created in the path's store view.
"""

from __future__ import annotations

import re
from typing import Any

from sales_channel.sandbox.commerce.columns import cut_customer
from sales_channel.sandbox.commerce.errors import MagentoError, bad_request
from sales_channel.sandbox.commerce.storage import StateStore, magento_time
from sales_channel.sandbox.commerce.stores import Store
from sales_channel.sandbox.commerce.validation import BodyValidator
from sales_channel.sandbox.common.clock import SandboxClock

DUPLICATE_EMAIL = "A customer with the same email address already exists in an associated website."
NO_SUCH_CUSTOMER = 'No such entity with %fieldName = %fieldValue'
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_validator = BodyValidator("customer-data-customer-interface")
GENERAL_GROUP = 1


class CustomerService:
    def __init__(self, state: StateStore, clock: SandboxClock) -> None:
        self.state, self.clock = state, clock

    def create(self, body: dict[str, Any] | None, store: Store) -> dict[str, Any]:
        if not isinstance(body, dict) or "customer" not in body:
            raise bad_request('"%fieldName" is required. Enter and try again.', {"fieldName": "customer"})
        customer = _validator.validate(body["customer"], "customer")
        if not _EMAIL.match(customer["email"]):
            raise bad_request('"%1" is not a valid email address.', [customer["email"]])
        cut_customer(customer)
        website_id = customer.get("website_id", store.website_id)
        with self.state.transaction():
            if any(c["email"].casefold() == customer["email"].casefold() and c["website_id"] == website_id
                   for c in self.state.all("customer")):
                raise bad_request(DUPLICATE_EMAIL)
            customer_id = self.state.next_id("customer")
            now = magento_time(self.clock.now())
            addresses = [{**address, "id": self.state.next_id("customer_address"), "customer_id": customer_id}
                         for address in customer.get("addresses", [])]
            stored = {**customer, "id": customer_id, "website_id": website_id,
                      "store_id": customer.get("store_id", store.store_id),
                      "group_id": customer.get("group_id", GENERAL_GROUP), "created_at": now, "updated_at": now,
                      "created_in": store.name, "disable_auto_group_change": 0, "addresses": addresses}
            self.state.put("customer", customer_id, stored)
            # The ledger names the account, never the person.
            self.state.record(self.clock.now(), "customer_created", customer_id=customer_id, website_id=website_id)
            return stored

    def get(self, customer_id: int) -> dict[str, Any]:
        customer = self.state.get("customer", customer_id)
        if customer is None:
            raise MagentoError(404, NO_SUCH_CUSTOMER, {"fieldName": "customerId", "fieldValue": customer_id})
        return customer

    def all(self) -> list[dict[str, Any]]:
        return self.state.all("customer")
