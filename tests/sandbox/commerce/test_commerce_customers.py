"""Customer accounts: created in the path's store view, unique email per website, searchable."""

from __future__ import annotations

from tests.sandbox.commerce.support import CommerceApi, assert_magento_error, assert_schema


def customer(email: str, **extra) -> dict:
    return {"customer": {"email": email, "firstname": "Åsa", "lastname": "Öberg", **extra}}


def test_create_get_and_search_customers(api: CommerceApi) -> None:
    created = api.post("customers", customer("buyer-1@marketplace.amazon.com")).json()
    assert_schema(created, "customer-data-customer-interface")
    assert (created["website_id"], created["store_id"], created["firstname"]) == (1, 1, "Åsa")
    assert api.get(f"customers/{created['id']}").json()["email"] == "buyer-1@marketplace.amazon.com"
    german = api.post("customers", customer("buyer-2@marketplace.amazon.de"), store="de").json()
    assert (german["website_id"], german["store_id"]) == (2, 2)
    found = api.get("customers/search", params={
        "searchCriteria[filter_groups][0][filters][0][field]": "email",
        "searchCriteria[filter_groups][0][filters][0][value]": "buyer-1@marketplace.amazon.com,nobody@example.com",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "in"}).json()
    assert_schema(found, "customer-data-customer-search-results-interface")
    assert [c["id"] for c in found["items"]] == [created["id"]] and found["total_count"] == 1


def test_one_account_per_email_and_website(api: CommerceApi) -> None:
    api.post("customers", customer("twice@example.com"))
    assert_magento_error(api.post("customers", customer("TWICE@example.com")), 400,
                         "A customer with the same email address already exists in an associated website.")
    assert api.post("customers", customer("twice@example.com"), store="de").status_code == 200


def test_customer_validation_and_missing_customer(api: CommerceApi) -> None:
    assert_magento_error(api.post("customers", {"customer": {"email": "a@b.co", "firstname": "A"}}), 400,
                         '"%fieldName" is required. Enter and try again.', {"fieldName": "customer.lastname"})
    assert_magento_error(api.post("customers", customer("not-an-email")), 400, '"%1" is not a valid email address.',
                         ["not-an-email"])
    assert_magento_error(api.get("customers/999"), 404, "No such entity with %fieldName = %fieldValue",
                         {"fieldName": "customerId", "fieldValue": 999})
