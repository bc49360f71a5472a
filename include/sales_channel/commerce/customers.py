"""Customer accounts (``/V1/customers``): create, and find a website's accounts by email.

Every field of a customer is buyer data: nothing here logs one (see ``models.Customer``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sales_channel.commerce.models import Customer
from sales_channel.commerce.resource import Resource
from sales_channel.commerce.search import Condition, SearchCriteria


class Customers(Resource):
    """The customer accounts of the store's websites."""

    def create(self, customer: Mapping[str, Any]) -> Customer:
        """Create a customer account in this store view (``POST /V1/customers``). Never retried once sent:
        on ``AmbiguousWriteError`` (or a duplicate-email 400) look the email up first."""
        for name in ("email", "firstname", "lastname"):
            if not customer.get(name):
                raise ValueError(f"customer: {name} is required")
        return Customer.from_api(self._transport.call("POST", "/V1/customers", body={"customer": dict(customer)},
                                                      idempotent=False, lookup={"customer": "by email in this website"}))

    def find_by_emails(self, emails: Iterable[str], website_id: int) -> dict[str, Customer]:
        """Lower-cased email -> the website's account with it (absent when none), one call per chunk."""
        found: dict[str, Customer] = {}
        for chunk in self.chunking.split("emails", self._strings(emails, "emails")):
            criteria = (SearchCriteria().where("email", chunk, Condition.IN).where("website_id", website_id)
                        .page(len(chunk)))
            found.update((c.email.casefold(), c) for c in self._search_page("/V1/customers/search", criteria,
                                                                             Customer).items)
        return found
