"""Authentication (admin and integration tokens) and store views, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from .support import CREDENTIALS_BODY, CommerceApi, assert_magento_error, assert_schema, order_entity

UNAUTHORIZED = "The consumer isn't authorized to access %resources."
CREDENTIALS = CREDENTIALS_BODY


@pytest.mark.parametrize("path", ["/rest/V1/integration/admin/token", "/rest/default/V1/integration/admin/token",
                                  "/rest/de/V1/integration/admin/token"])
def test_admin_token_is_a_json_string_that_authorizes_calls(api: CommerceApi, path: str) -> None:
    response = requests.post(api.url + path, json=CREDENTIALS, timeout=10)
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str) and token.startswith("sandbox-")
    client = CommerceApi(api.url, token=token)
    assert client.get("products/MUG-CERAMIC-WHT").status_code == 200


def test_admin_token_expires_after_four_hours_of_scaled_time(sandbox_factory) -> None:  # noqa: ANN001
    # With a time scale of 14400 the four hours of an admin token last one real second.
    server = sandbox_factory("commerce", time_scale=14400)
    token = requests.post(f"{server.url}/rest/V1/integration/admin/token", json=CREDENTIALS, timeout=10).json()
    client = CommerceApi(server.url, token=token)
    assert client.get("products/MUG-CERAMIC-WHT").status_code == 200
    time.sleep(1.2)
    assert_magento_error(client.get("products/MUG-CERAMIC-WHT"), 401, UNAUTHORIZED,
                         {"resources": "Magento_Catalog::products"})
    assert CommerceApi(server.url).get("products/MUG-CERAMIC-WHT").status_code == 200  # integration: no expiry


def test_admin_token_refused_for_wrong_password(api: CommerceApi) -> None:
    response = requests.post(api.v1("integration/admin/token"),
                             json={**CREDENTIALS, "password": "wrong"}, timeout=10)
    assert_magento_error(response, 401, "The account sign-in was incorrect or your account is disabled "
                                        "temporarily. Please wait and try again later.")


def test_admin_token_names_a_missing_field(api: CommerceApi) -> None:
    response = requests.post(api.v1("integration/admin/token"), json={"username": "admin"}, timeout=10)
    assert_magento_error(response, 400, '"%fieldName" is required. Enter and try again.', {"fieldName": "password"})


def test_integration_token_authorizes_calls(api: CommerceApi) -> None:
    assert api.get("orders", params={"searchCriteria[pageSize]": 1}).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer sandbox-not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer",
                                    "Bearer sandbox-caf\u00e9".encode().decode("latin-1")])
def test_calls_without_a_valid_token_answer_401_naming_the_resource(api: CommerceApi, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(api.v1("orders/1"), headers=headers, timeout=10)
    assert_magento_error(response, 401, UNAUTHORIZED, {"resources": "Magento_Sales::actions_view"})
    response = requests.post(api.v1("orders"), json={"entity": order_entity()}, headers=headers, timeout=10)
    assert_magento_error(response, 401, UNAUTHORIZED, {"resources": "Magento_Sales::create"})
    assert api.ledger() == []


def test_store_views_and_configs_list_both_currencies(api: CommerceApi) -> None:
    views = api.get("store/storeViews").json()
    for view in views:
        assert_schema(view, "store-data-store-interface")
    assert {(v["code"], v["id"]) for v in views} >= {("default", 1), ("de", 2)}
    configs = api.get("store/storeConfigs").json()
    for config in configs:
        assert_schema(config, "store-data-store-config-interface")
        assert config["base_url"].startswith(api.url)
    assert {c["code"]: c["default_display_currency_code"] for c in configs} == {"default": "USD", "de": "EUR"}
    only_de = api.get("store/storeConfigs", params={"storeCodes[]": "de"}).json()
    assert [c["code"] for c in only_de] == ["de"]


def test_currency_information_per_store_view(api: CommerceApi) -> None:
    default = api.get("directory/currency").json()
    assert_schema(default, "directory-data-currency-information-interface")
    assert default["base_currency_code"] == "USD"
    assert {r["currency_to"]: r["rate"] for r in default["exchange_rates"]}["JPY"] == 151.2
    german = api.get("directory/currency", store="de").json()
    assert_schema(german, "directory-data-currency-information-interface")
    assert german["base_currency_code"] == "EUR" and "SEK" in german["available_currency_codes"]
    assert "USD" not in german["available_currency_codes"]


def test_unknown_store_code_matches_no_route(api: CommerceApi) -> None:
    response = api.get("orders/1", store="nosuchstore")
    assert_magento_error(response, 404, "Request does not match any route.")


def test_unknown_route_answers_magento_404(api: CommerceApi) -> None:
    assert_magento_error(api.get("no/such/route"), 404, "Request does not match any route.")


def test_orders_take_the_currency_and_numbering_of_their_store(api: CommerceApi) -> None:
    entity = order_entity()
    for key in ("order_currency_code",):
        entity.pop(key)
    us = api.create_order(entity, store="default")
    de = api.create_order(entity, store="de")
    assert (us["store_id"], us["order_currency_code"], us["increment_id"]) == (1, "USD", "000000001")
    assert (de["store_id"], de["order_currency_code"], de["increment_id"]) == (2, "EUR", "2000000001")
    via_all = api.create_order(order_entity(store_id=2, increment_id="X-1"), store="all")
    assert via_all["store_id"] == 2
