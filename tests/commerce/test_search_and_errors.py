"""searchCriteria rendering, chunking, error rendering and the refusal to send sandbox credentials off
this machine (checked before any I/O); and, over real HTTP, what never leaves the client: no buyer value
in logs or error texts, no token to a proxy of the environment or to where a redirect points."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote

import pytest
from sales_channel.commerce import (
    Chunking,
    CommerceClient,
    CommerceError,
    Condition,
    Filter,
    SandboxCredentialError,
    SearchCriteria,
    render_message,
)
from sales_channel.commerce.errors import NotFoundError, ServerError, ValidationError, error_for_status
from sales_channel.commerce.search import parse_datetime
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

from tests.amazon.test_no_secrets_in_logs import RecordingServer, env_proxy  # noqa: F401 - a fixture
from tests.commerce.conftest import FAST_RETRY

TOKEN = DEFAULT_CREDENTIALS["commerce_token"]
DUPLICATE = ("SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'jane.doe@example.com-1' "
             "for key 'CUSTOMER_ENTITY_EMAIL_WEBSITE_ID'")

SC = "searchCriteria"


def test_groups_are_anded_filters_ored_in_the_schema_spelling() -> None:
    criteria = (SearchCriteria()
                .where("status", ["pending", "processing"], Condition.IN)
                .any_of(Filter("ext_order_id", "113-%", "like"), Filter("ext_order_id", None, "null"))
                .sort_by("created_at", "desc")
                .page(20, 3))
    assert criteria.to_params() == {
        f"{SC}[filterGroups][0][filters][0][field]": "status",
        f"{SC}[filterGroups][0][filters][0][value]": "pending,processing",
        f"{SC}[filterGroups][0][filters][0][conditionType]": "in",
        f"{SC}[filterGroups][1][filters][0][field]": "ext_order_id",
        f"{SC}[filterGroups][1][filters][0][value]": "113-%",
        f"{SC}[filterGroups][1][filters][0][conditionType]": "like",
        f"{SC}[filterGroups][1][filters][1][field]": "ext_order_id",
        f"{SC}[filterGroups][1][filters][1][conditionType]": "null",
        f"{SC}[sortOrders][0][field]": "created_at",
        f"{SC}[sortOrders][0][direction]": "DESC",
        f"{SC}[pageSize]": "20",
        f"{SC}[currentPage]": "3",
    }


@pytest.mark.parametrize("condition", list(Condition))
def test_every_condition_type_renders(condition: Condition) -> None:
    value = ["a", "b"] if condition in (Condition.IN, Condition.NIN) else "7"
    params = SearchCriteria().where("field_x", value, condition).to_params()
    assert params[f"{SC}[filterGroups][0][filters][0][conditionType]"] == condition.value


def test_between_puts_from_and_to_in_separate_groups_and_formats_utc_times() -> None:
    low = datetime(2026, 3, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    params = SearchCriteria().between("created_at", low, datetime(2026, 3, 2, tzinfo=UTC)).to_params()
    assert params[f"{SC}[filterGroups][0][filters][0][value]"] == "2026-03-01 10:00:05"
    assert params[f"{SC}[filterGroups][0][filters][0][conditionType]"] == "from"
    assert params[f"{SC}[filterGroups][1][filters][0][conditionType]"] == "to"
    assert parse_datetime("2026-03-01 10:00:05") == low


def test_builder_is_immutable_and_bad_filters_name_the_field() -> None:
    base = SearchCriteria().where("state", "new")
    base.where("status", "pending").page(5)
    assert base.filter_groups == (((Filter("state", "new")),),)
    with pytest.raises(ValueError, match="'ext_order_id'.*comma"):
        Filter("ext_order_id", ["a,b"], Condition.IN)
    with pytest.raises(ValueError, match="'created_at'.*time zone"):
        Filter("created_at", datetime(2026, 1, 1), Condition.GT)
    with pytest.raises(ValueError, match="'sku'.*list"):
        Filter("sku", "ABC", Condition.IN)


def test_chunking_bounds_items_and_url_length_and_drops_repeats() -> None:
    chunks = list(Chunking(max_items=3, max_chars=23).split("sku", ["A" * 10, "B" * 10, "A" * 10, "C", "D", "E"]))
    assert chunks == [["A" * 10, "B" * 10], ["C", "D", "E"]]


def test_error_rendering_with_list_and_object_parameters() -> None:
    assert render_message("No such entity with %1 = %2", ["orderId", 42]) == "No such entity with orderId = 42"
    assert render_message("%1 and %10 %3", list(range(1, 11))) == "1 and 10 3"
    assert render_message('Invalid value of "%value" provided for the %fieldName field.',
                          {"value": "x", "fieldName": "qty"}) == 'Invalid value of "x" provided for the qty field.'
    assert render_message("left %missing alone", {"other": 1}) == "left %missing alone"
    assert render_message("The consumer isn't authorized to access %resources.",
                          [{"resources": "Magento_Sales::ship"}]) == \
        "The consumer isn't authorized to access Magento_Sales::ship."

    error = error_for_status(400, {"message": "%fieldName is required", "parameters": {"fieldName": "sku"}},
                             "POST /V1/orders")
    assert isinstance(error, ValidationError)
    assert (error.status, error.message, error.template) == (400, "sku is required", "%fieldName is required")
    assert error.parameters == {"fieldName": "sku"}
    assert str(error) == "POST /V1/orders 400: sku is required"
    assert isinstance(error_for_status(404, {"message": "nope"}, "GET /V1/orders/{id}"), NotFoundError)
    assert isinstance(error_for_status(502, "<html>bad gateway</html>", "GET /V1/orders"), ServerError)


@pytest.mark.parametrize("url", ["https://shop.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]",
                                 "http://127.0.0.1.example.com"])
def test_sandbox_token_is_refused_for_a_non_loopback_host(url: str) -> None:
    token = DEFAULT_CREDENTIALS["commerce_token"]
    with pytest.raises(SandboxCredentialError, match="loopback") as refused:
        CommerceClient(url, token)
    assert token not in str(refused.value)
    password = DEFAULT_CREDENTIALS["commerce_admin_password"]
    with pytest.raises(SandboxCredentialError) as refused:
        CommerceClient.with_admin_login(url, DEFAULT_CREDENTIALS["commerce_admin_username"], password)
    assert password not in str(refused.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://127.8.9.10", "http://localhost:8080",
                                 "http://[::1]:80", "http://[::ffff:127.0.0.1]"])
def test_sandbox_token_is_accepted_for_loopback_hosts(url: str) -> None:
    client = CommerceClient(url, DEFAULT_CREDENTIALS["commerce_token"])
    assert DEFAULT_CREDENTIALS["commerce_token"] not in repr(client)
    assert client.stats.total == 0


def test_real_tokens_may_go_anywhere_and_bad_settings_are_named() -> None:
    assert CommerceClient("https://shop.example.com/", "live-token", store_code="en_us").api_root == \
        "https://shop.example.com/rest/en_us"
    with pytest.raises(ValueError, match="store_code"):
        CommerceClient("https://shop.example.com", "live-token", store_code="en-us/../x")
    with pytest.raises(ValueError, match="without /rest"):
        CommerceClient("https://shop.example.com/rest/default", "live-token")
    with pytest.raises(ValueError, match="order 113-1: items\\[0\\].sku"):
        CommerceClient("https://shop.example.com", "live-token").orders.create(
            {"ext_order_id": "113-1", "grand_total": Decimal("1"), "base_grand_total": Decimal("1"),
             "customer_email": "a@example.com", "items": [{"name": "x"}]})


def test_untemplated_messages_and_values_stay_out_of_error_texts() -> None:
    duplicate = error_for_status(400, {"message": DUPLICATE}, "POST /V1/customers")
    marker = f"<untemplated Magento message redacted, {len(DUPLICATE)} chars>"
    assert str(duplicate) == f"POST /V1/customers 400: {marker}"
    assert "jane" not in repr(duplicate) and duplicate.template == duplicate.summary == marker
    assert duplicate.message == DUPLICATE  # for code that must look, never shown
    invalid = error_for_status(400, {"message": 'Invalid value of "%value" provided for the %fieldName field.',
                                     "parameters": {"value": "jane.doe@example.com", "fieldName": "email"}},
                               "POST /V1/customers")
    assert str(invalid) == 'POST /V1/customers 400: Invalid value of "%value" provided for the email field.'
    wrapped = error_for_status(400, {"message": "Could not save the customer: %1", "parameters": [DUPLICATE]},
                               "POST /V1/customers")
    assert str(wrapped) == "POST /V1/customers 400: Could not save the customer: %1"
    # Magento joins a document validation's messages under a heading: the heading stays.
    ship = error_for_status(400, {"message": 'Shipment Document Validation Error(s):\nThe shipment contains '
                                             'product SKU "X-1" that is not part of the original order.'}, "POST")
    assert str(ship) == ("POST 400: Shipment Document Validation Error(s):\n"
                         "<untemplated Magento message redacted, 79 chars>")


def test_buyer_emails_reach_no_log_line_and_no_error_text(sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3's request lines as well
    email = "Jane.Doe+amazon@Example.com"
    with CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY) as client:
        client.customers.create({"email": email, "firstname": "Jane", "lastname": "Doe"})
        assert set(client.customers.find_by_emails([email], website_id=1)) == {email.casefold()}
        with pytest.raises(ValidationError) as duplicate:
            client.customers.create({"email": email, "firstname": "Jane", "lastname": "Doe"})
    with RecordingServer(status=400, body={"message": DUPLICATE}) as raw_magento, \
            CommerceClient(raw_magento.url, TOKEN, retry=FAST_RETRY) as client, pytest.raises(CommerceError) as raw:
        client.customers.create({"email": "jane.doe@example.com", "firstname": "Jane", "lastname": "Doe"})
    logged = caplog.text
    assert "/V1/customers/search?searchCriteria" in logged and "=***" in logged  # names kept, values not
    everything = "\n".join([logged, str(duplicate.value), repr(duplicate.value), str(raw.value), repr(raw.value)])
    for value in (email, quote(email), quote(email, safe=""), email.casefold(), "jane.doe@example.com"):
        assert value not in everything


def test_a_proxy_of_the_environment_never_sees_a_sandbox_token(sandbox, env_proxy) -> None:  # noqa: F811
    with CommerceClient(sandbox.url, TOKEN, retry=FAST_RETRY) as client:
        assert client.directory.currency_info().base_currency_code
    assert env_proxy.requests == []


def test_a_redirect_is_an_error_and_the_token_does_not_follow_it() -> None:
    with RecordingServer() as elsewhere, \
            RecordingServer(status=307, headers={"Location": f"{elsewhere.url}/stolen"}) as redirector, \
            CommerceClient(redirector.url, TOKEN, retry=FAST_RETRY) as client, \
            pytest.raises(CommerceError, match=r"^GET /V1/directory/currency 307: ") as redirected:
        client.directory.currency_info()
    assert redirected.value.status == 307
    assert redirector.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert elsewhere.requests == []
