"""searchCriteria over GET /V1/orders: every condition type in both spellings, OR within a filter group,
AND across groups, sorting, paging (past the last page returns the last page again), the echo."""

from __future__ import annotations

from typing import Any

import pytest

from .support import CommerceApi, assert_magento_error, assert_schema, order_entity

# (grand_total, ext_order_id, applied_rule_ids, customer_email) of orders 1..5
ROWS = [
    (10, "113-1", "1,2", "ann@example.com"),
    (20, "113-2", "2,3", "bob@example.com"),
    (30, "114-3", "3", "cyd@example.org"),
    (40, None, None, "dan@example.org"),
    (50, "113-5", "10,1", "eve@example.com"),
]
SPELLINGS = {
    "snake": ("filter_groups", "condition_type", "sort_orders", "page_size", "current_page"),
    "camel": ("filterGroups", "conditionType", "sortOrders", "pageSize", "currentPage"),
}


@pytest.fixture
def orders(api: CommerceApi) -> list[dict[str, Any]]:
    created = []
    for total, ext_id, rules, email in ROWS:
        entity = order_entity(grand_total=total, base_grand_total=total, customer_email=email,
                              ext_order_id=ext_id, applied_rule_ids=rules)
        created.append(api.create_order({k: v for k, v in entity.items() if v is not None}))
    return created


def criteria(spelling: str, groups: list[list[tuple]], sorts: list[tuple[str, str]] = (),
             page_size: int | None = None, current_page: int | None = None) -> dict[str, Any]:
    """Query parameters of a searchCriteria; a filter is (field, value) or (field, value, condition)."""
    groups_key, condition_key, sorts_key, size_key, page_key = SPELLINGS[spelling]
    params: dict[str, Any] = {}
    for g, group in enumerate(groups):
        for f, flt in enumerate(group):
            prefix = f"searchCriteria[{groups_key}][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = flt[0]
            params[f"{prefix}[value]"] = flt[1]
            if len(flt) > 2:
                params[f"{prefix}[{condition_key}]"] = flt[2]
    for s, (field, direction) in enumerate(sorts):
        params[f"searchCriteria[{sorts_key}][{s}][field]"] = field
        params[f"searchCriteria[{sorts_key}][{s}][direction]"] = direction
    if page_size is not None:
        params[f"searchCriteria[{size_key}]"] = page_size
    if current_page is not None:
        params[f"searchCriteria[{page_key}]"] = current_page
    return params or {"searchCriteria": ""}


def search(api: CommerceApi, params: dict[str, Any], path: str = "orders") -> dict[str, Any]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_schema(body, "sales-data-order-search-result-interface" if path == "orders" else
                  f"sales-data-{path[:-1]}-search-result-interface")
    return body


def numbers(body: dict[str, Any], orders: list[dict[str, Any]]) -> list[int]:
    """Positions (1-based) in ROWS of the orders found."""
    position = {o["entity_id"]: i + 1 for i, o in enumerate(orders)}
    return [position[item["entity_id"]] for item in body["items"]]


CASES = [
    (("grand_total", "30", "eq"), [3]),
    (("ext_order_id", "113-2"), [2]),  # no condition: eq
    (("grand_total", "30", "neq"), [1, 2, 4, 5]),
    (("grand_total", "30", "gt"), [4, 5]),
    (("grand_total", "30", "gteq"), [3, 4, 5]),
    (("grand_total", "30", "lt"), [1, 2]),
    (("grand_total", "30", "lteq"), [1, 2, 3]),
    (("grand_total", "40", "moreq"), [4, 5]),
    (("grand_total", "20", "from"), [2, 3, 4, 5]),
    (("grand_total", "20", "to"), [1, 2]),
    (("ext_order_id", "113-%", "like"), [1, 2, 5]),
    (("customer_email", "%@EXAMPLE.ORG", "like"), [3, 4]),  # case-insensitive, like MySQL
    (("ext_order_id", "113-%", "nlike"), [3]),  # NULL never matches
    (("ext_order_id", "113-1,114-3", "in"), [1, 3]),
    (("ext_order_id", "113-1,114-3", "nin"), [2, 5]),
    (("ext_order_id", "", "null"), [4]),
    (("ext_order_id", "", "notnull"), [1, 2, 3, 5]),
    (("applied_rule_ids", "1", "finset"), [1, 5]),
    (("applied_rule_ids", "1", "nfinset"), [2, 3]),
    (("increment_id", "000000003", "eq"), [3]),  # text column: compared as text
    (("grand_total", "7", "eq"), []),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize(("flt", "expected"), CASES, ids=[f"{c[0][0]}-{c[0][-1]}" for c in CASES])
def test_condition_types(api: CommerceApi, orders: list[dict[str, Any]], spelling: str, flt: tuple,
                         expected: list[int]) -> None:
    body = search(api, criteria(spelling, [[flt]]))
    assert numbers(body, orders) == expected
    assert body["total_count"] == len(expected)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_filters_in_one_group_are_ored(api: CommerceApi, orders: list[dict[str, Any]], spelling: str) -> None:
    body = search(api, criteria(spelling, [[("ext_order_id", "113-1", "eq"), ("grand_total", "40", "gt")]]))
    assert numbers(body, orders) == [1, 5]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_filter_groups_are_anded(api: CommerceApi, orders: list[dict[str, Any]], spelling: str) -> None:
    body = search(api, criteria(spelling, [[("ext_order_id", "113-%", "like")], [("grand_total", "15", "gt")]]))
    assert numbers(body, orders) == [2, 5]
    ranged = search(api, criteria(spelling, [[("grand_total", "20", "from")], [("grand_total", "40", "to")]]))
    assert numbers(ranged, orders) == [2, 3, 4]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_paging_and_past_the_last_page(api: CommerceApi, orders: list[dict[str, Any]], spelling: str) -> None:
    pages = [search(api, criteria(spelling, [], [("entity_id", "ASC")], 2, page)) for page in (1, 2, 3, 4, 9)]
    assert [numbers(p, orders) for p in pages] == [[1, 2], [3, 4], [5], [5], [5]]
    assert {p["total_count"] for p in pages} == {5}
    assert pages[3]["search_criteria"]["current_page"] == 4


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sort_orders(api: CommerceApi, orders: list[dict[str, Any]], spelling: str) -> None:
    assert numbers(search(api, criteria(spelling, [], [("grand_total", "DESC")], 2, 1)), orders) == [5, 4]
    # NULL sorts first ascending; ties broken by the second sort order.
    body = search(api, criteria(spelling, [], [("ext_order_id", "ASC"), ("grand_total", "DESC")]))
    assert numbers(body, orders) == [4, 1, 2, 5, 3]


def test_mixed_spellings_and_echo_in_snake_case(api: CommerceApi, orders: list[dict[str, Any]]) -> None:
    params = {"searchCriteria[filterGroups][0][filters][0][field]": "grand_total",
              "searchCriteria[filterGroups][0][filters][0][value]": "30",
              "searchCriteria[filterGroups][0][filters][0][condition_type]": "gteq",
              "searchCriteria[sort_orders][0][field]": "grand_total",
              "searchCriteria[sort_orders][0][direction]": "DESC",
              "searchCriteria[pageSize]": "10", "searchCriteria[current_page]": "1"}
    body = search(api, params)
    assert numbers(body, orders) == [5, 4, 3]
    assert body["search_criteria"] == {
        "filter_groups": [{"filters": [{"field": "grand_total", "value": "30", "condition_type": "gteq"}]}],
        "sort_orders": [{"field": "grand_total", "direction": "DESC"}], "page_size": 10, "current_page": 1}


def test_empty_criteria_returns_everything(api: CommerceApi, orders: list[dict[str, Any]]) -> None:
    body = search(api, {"searchCriteria": ""})
    assert numbers(body, orders) == [1, 2, 3, 4, 5] and body["search_criteria"] == {"filter_groups": []}


def test_search_criteria_is_required_and_checked(api: CommerceApi) -> None:
    assert_magento_error(api.get("orders"), 400, '"%fieldName" is required. Enter and try again.',
                         {"fieldName": "searchCriteria"})
    bad = criteria("snake", [[("grand_total", "1", "about")]])
    assert_magento_error(api.get("orders", params=bad), 400,
                         'Invalid value of "%value" provided for the %fieldName field.',
                         {"value": "about", "fieldName": "condition_type"})
    response = api.get("orders", params={"searchCriteria[pageSize]": "many"})
    assert response.status_code == 400 and response.json()["parameters"]["field_name"] == "pageSize"


def test_fields_parameter_keeps_only_the_named_properties(api: CommerceApi, orders: list[dict[str, Any]]) -> None:
    params = {**criteria("camel", [[("grand_total", "40", "gteq")]]),
              "fields": "items[entity_id,increment_id,items[sku,qty_ordered]],total_count"}
    body = api.get("orders", params=params).json()
    assert body == {"items": [{"entity_id": o["entity_id"], "increment_id": o["increment_id"],
                               "items": [{"sku": "MUG-CERAMIC-WHT", "qty_ordered": 2.0},
                                         {"sku": "TEA-GREEN-100", "qty_ordered": 1.0}]} for o in orders[3:]],
                    "total_count": 2}
    single = api.get(f"orders/{orders[0]['entity_id']}", params={"fields": "increment_id,status"}).json()
    assert single == {"increment_id": orders[0]["increment_id"], "status": "pending"}
    missing = api.get("orders/999", params={"fields": "increment_id"})
    assert missing.status_code == 404 and "message" in missing.json()  # errors are never filtered
