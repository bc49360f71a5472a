"""Login with Amazon and the access-token check of every SP-API call."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.amazon.support import CREDS, access_token

SEARCH = "/orders/2026-01-01/orders"
PARAMS = {"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 1}


def _token_request(url: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": CREDS["refresh_token"],
            "client_id": CREDS["lwa_client_id"], "client_secret": CREDS["lwa_client_secret"], **overrides}
    return requests.post(f"{url}/auth/o2/token", data=form, timeout=10)


def test_refresh_token_grant_issues_a_bearer_token_that_opens_the_api(amazon, contract):
    response = _token_request(amazon.url)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] == CREDS["refresh_token"] and body["access_token"]
    api = requests.get(amazon.url + SEARCH, params=PARAMS, headers={"x-amz-access-token": body["access_token"]},
                       timeout=10)
    contract.check("orders", "searchOrders", api)
    assert api.status_code == 200


@pytest.mark.parametrize(("field", "status", "error"), [
    ("client_id", 401, "invalid_client"),
    ("client_secret", 401, "invalid_client"),
    ("refresh_token", 400, "invalid_grant"),
])
def test_wrong_credentials_get_oauth_errors(amazon, field, status, error):
    response = _token_request(amazon.url, **{field: "sandbox-wrong"})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert "access_token" not in body


def test_a_json_body_works_like_the_form(amazon):
    response = requests.post(f"{amazon.url}/auth/o2/token", timeout=10, json={
        "grant_type": "refresh_token", "refresh_token": CREDS["refresh_token"],
        "client_id": CREDS["lwa_client_id"], "client_secret": CREDS["lwa_client_secret"]})
    assert response.status_code == 200 and response.json()["access_token"]
    wrong = requests.post(f"{amazon.url}/auth/o2/token", timeout=10, json={
        "grant_type": "refresh_token", "refresh_token": "sandbox-wrong",
        "client_id": CREDS["lwa_client_id"], "client_secret": CREDS["lwa_client_secret"]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    plain = requests.post(f"{amazon.url}/auth/o2/token", timeout=10, data="grant_type=refresh_token",
                          headers={"Content-Type": "text/plain"})
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"


def test_other_grants_and_missing_fields_are_refused(amazon):
    assert _token_request(amazon.url, grant_type="client_credentials").json()["error"] == "unsupported_grant_type"
    missing = _token_request(amazon.url, refresh_token="")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert "refresh_token" in missing.json()["error_description"]


@pytest.mark.parametrize("headers", [{}, {"x-amz-access-token": "Atza|not-issued-here"},
                                     {"Authorization": "Bearer whatever"}])
def test_api_calls_without_a_valid_access_token_are_unauthorized(amazon, contract, headers):
    response = requests.get(amazon.url + SEARCH, params=PARAMS, headers=headers, timeout=10)
    assert response.status_code == 403
    body = contract.check("orders", "searchOrders", response)
    assert body["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in response.headers and response.headers["x-amzn-RequestId"]


def test_token_lifetime_is_controllable_and_expired_tokens_are_refused(amazon, contract):
    amazon.control("PUT", "/settings", json={"token_ttl_seconds": 2})
    short = _token_request(amazon.url).json()
    assert short["expires_in"] == 2
    headers = {"x-amz-access-token": short["access_token"]}
    assert requests.get(amazon.url + SEARCH, params=PARAMS, headers=headers, timeout=10).status_code == 200
    time.sleep(2.2)
    expired = requests.get(amazon.url + SEARCH, params=PARAMS, headers=headers, timeout=10)
    assert expired.status_code == 403
    assert "expired" in contract.check("orders", "searchOrders", expired)["errors"][0]["message"]
    amazon.control("PUT", "/settings", json={"token_ttl_seconds": 3600})
    fresh = {"x-amz-access-token": access_token(amazon.url)}
    assert requests.get(amazon.url + SEARCH, params=PARAMS, headers=fresh, timeout=10).status_code == 200


def test_expiring_all_tokens_forces_a_refresh(amazon):
    assert amazon.get(SEARCH, params=PARAMS).status_code == 200
    assert amazon.control("GET", "/auth")["active_tokens"] >= 1
    assert amazon.control("POST", "/auth/expire")["expired"] >= 1
    assert amazon.get(SEARCH, params=PARAMS).status_code == 403
    amazon.session.headers["x-amz-access-token"] = access_token(amazon.url)
    assert amazon.get(SEARCH, params=PARAMS).status_code == 200
