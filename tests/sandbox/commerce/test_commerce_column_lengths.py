"""Texts longer than Magento's columns are saved cut to the column's length, without an error
(MySQL under Magento's SQL_MODE=''), as a real store does."""

from __future__ import annotations

import copy

from sales_channel.commerce.limits import ADDRESS_COLUMNS, CUSTOMER_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS

from .support import ADDRESS, CommerceApi, order_entity


def test_an_order_s_long_texts_are_cut_silently(api: CommerceApi) -> None:
    entity = order_entity(ext_order_id="113-" + "9" * 40, increment_id="AMZ-" + "1" * 60,
                          customer_lastname="Ω" * 200, shipping_description="s" * 300)
    entity["items"][0]["name"] = "名" * 300
    street = ["1" * 200, "2" * 100, "3" * 10]
    entity["billing_address"].update(street=street, company="C" * 256, prefix="Dr" * 100)
    shipping = entity["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    shipping.update(city="München" * 50)
    sent = copy.deepcopy(entity)
    response = api.post("orders", {"entity": entity})
    assert response.status_code == 200, response.text
    for stored in (response.json(), api.order(response.json()["entity_id"])):
        assert stored["ext_order_id"] == sent["ext_order_id"][:ORDER_COLUMNS["ext_order_id"]]
        assert stored["increment_id"] == sent["increment_id"][:50] and len(stored["increment_id"]) == 50
        assert stored["customer_lastname"] == "Ω" * ORDER_COLUMNS["customer_lastname"]
        assert len(stored["shipping_description"]) == 255
        assert stored["items"][0]["name"] == "名" * ITEM_COLUMNS["name"]  # characters, not bytes
        billing = stored["billing_address"]
        assert billing["street"] == ["1" * 200, "2" * 54]  # one column of 255 holds the lines joined by \n
        assert len(billing["company"]) == 255 and billing["prefix"] == sent["billing_address"]["prefix"][:255]
        address = stored["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
        assert address["city"] == ("München" * 50)[:ADDRESS_COLUMNS["city"]]
        assert stored["items"][1]["name"] == sent["items"][1]["name"]  # what fits is untouched
    # The cut value is what Magento knows: searching by the full ext_order_id finds nothing.
    by_full = api.get("orders", params={"searchCriteria[filter_groups][0][filters][0][field]": "ext_order_id",
                                        "searchCriteria[filter_groups][0][filters][0][value]": sent["ext_order_id"]})
    assert by_full.json()["total_count"] == 0


def test_a_cut_increment_id_can_collide(api: CommerceApi) -> None:
    api.create_order(order_entity(increment_id="X" * 50 + "-1"))
    duplicate = api.post("orders", {"entity": order_entity(increment_id="X" * 50 + "-2")})
    assert duplicate.status_code == 400 and duplicate.json()["message"] == "Unique constraint violation found"


def test_a_customer_s_long_names_are_cut(api: CommerceApi) -> None:
    body = {"customer": {"email": "long@example.com", "firstname": "F" * 300, "lastname": ADDRESS["lastname"],
                         "website_id": 1}}
    response = api.post("customers", body)
    assert response.status_code == 200, response.text
    assert response.json()["firstname"] == "F" * CUSTOMER_COLUMNS["firstname"]
    assert api.get(f"customers/{response.json()['id']}").json()["firstname"] == "F" * 255
