"""How long a value Magento keeps, per order field (from the ``sales_order``, ``sales_order_address``,
``sales_order_item`` and ``customer_entity`` definitions in Magento's ``db_schema.xml``, 2.4: Sales' and Customer's
``etc/db_schema.xml``; lengths in characters).

Magento's MySQL connections run without strict mode, so a longer value is not refused: it is cut to
the column's length without a word. The import checks every value against these before sending it
(an order whose name or street would be cut is quarantined, naming the field); the Commerce sandbox
cuts values the way Magento does.
"""

from __future__ import annotations

# sales_order (the order's own customer fields)
ORDER_COLUMNS: dict[str, int] = {
    "customer_email": 128,
    "customer_firstname": 128,
    "customer_lastname": 128,
    "customer_middlename": 128,
    "customer_prefix": 32,
    "customer_suffix": 32,
    "ext_order_id": 32,
    "increment_id": 50,
    "order_currency_code": 3,
    "base_currency_code": 3,
    "shipping_description": 255,
    "shipping_method": 120,
}

# sales_order_address (billing and shipping addresses; ``street`` holds every line, joined by "\n")
ADDRESS_COLUMNS: dict[str, int] = {
    "firstname": 255,
    "lastname": 255,
    "middlename": 255,
    "prefix": 255,
    "suffix": 255,
    "company": 255,
    "street": 255,
    "city": 255,
    "region": 255,
    "postcode": 255,
    "telephone": 255,
    "email": 255,
    "country_id": 2,
}

# sales_order_item
ITEM_COLUMNS: dict[str, int] = {
    "sku": 255,
    "name": 255,
}

# customer_entity
CUSTOMER_COLUMNS: dict[str, int] = {
    "email": 255,
    "firstname": 255,
    "lastname": 255,
    "middlename": 255,
}
