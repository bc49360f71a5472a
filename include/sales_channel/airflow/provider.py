"""Provider metadata: registers the ``amazon_sp_api`` and ``adobe_commerce`` connection types (with
the fields an ops person fills in) through the package's ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

import sales_channel

_STRING = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "sales-channel",
        "name": "Amazon Sales Channel",
        "description": "Amazon Selling Partner API and Adobe Commerce connections for the order pipelines.",
        "versions": [sales_channel.__version__],
        "connection-types": [
            {
                "connection-type": "amazon_sp_api",
                "hook-class-name": "sales_channel.airflow.hooks.amazon.AmazonSellingPartnerHook",
                "hook-name": "Amazon Selling Partner API",
                "conn-fields": {
                    "refresh_token": {"label": "Refresh token", "schema": _SECRET,
                                      "description": "The seller's LWA refresh token (from authorising the app)"},
                    "marketplace_id": {"label": "Marketplace id", "schema": {**_STRING, "default": "ATVPDKIKX0DER"},
                                       "description": "Any marketplace of the account: it picks the regional "
                                                      "endpoint (NA, EU or FE)"},
                    "seller_id": {"label": "Seller id", "schema": _STRING,
                                  "description": "Merchant token; keys the shared usage-plan buckets"},
                    "base_url": {"label": "Endpoint override", "schema": {**_STRING, "format": "url"},
                                 "description": "Only for a stand-in such as the local sandbox"},
                    "rate_limit_store": {"label": "Usage-plan buckets", "schema": {**_STRING, "default": "database"},
                                         "description": "'database' (the channel database) or a redis:// URL"},
                    "rate_scale": {"label": "Usage-plan scale", "schema": {"type": ["number", "null"], "default": 1},
                                   "description": "1 for Amazon; the sandbox's time scale F against it"},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {"login": "LWA client id", "password": "LWA client secret", "host": "Endpoint"},
                    "placeholders": {"login": "amzn1.application-oa2-client....",
                                     "host": "leave empty for Amazon's regional endpoint"},
                },
            },
            {
                "connection-type": "sales_channel_db",
                "hook-class-name": "sales_channel.airflow.hooks.channel_db.ChannelDatabaseHook",
                "hook-name": "Amazon Sales Channel database",
                "conn-fields": {},
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "password", "port", "extra"],
                    "relabeling": {"host": "SQLite file or SQLAlchemy URL"},
                    "placeholders": {"host": "/opt/airflow/sales_channel.db or postgresql+psycopg2://user:pw@db/channel"},
                },
            },
            {
                "connection-type": "adobe_commerce",
                "hook-class-name": "sales_channel.airflow.hooks.commerce.AdobeCommerceHook",
                "hook-name": "Adobe Commerce",
                "conn-fields": {
                    "store_code": {"label": "Store view code", "schema": {**_STRING, "default": "default"},
                                   "description": "The store view the REST calls use (/rest/<code>/V1)"},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "extra"],
                    "relabeling": {"host": "Store base URL", "password": "Integration token"},
                    "placeholders": {"host": "https://shop.example.com"},
                },
            },
        ],
    }
