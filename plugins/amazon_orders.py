"""The "Amazon Orders" view in the Airflow UI: what the channel database knows of the Amazon orders.

Thin: the app lives in the installed package (``sales_channel.airflow.plugin``); importing this file
reads nothing (the app is built at its first request, in the api-server).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from sales_channel.airflow.plugin import EXTERNAL_VIEW, FASTAPI_APP


class AmazonOrdersPlugin(AirflowPlugin):
    name = "amazon_orders"
    fastapi_apps = [FASTAPI_APP]
    external_views = [EXTERNAL_VIEW]
