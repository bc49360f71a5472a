"""The plugin as Airflow loads it: the plugins manager and the api-server's plugin API see its FastAPI app
and its nav view, with no import error, and importing it (as every Airflow component does) builds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sales_channel.airflow.plugin import NAME, URL_PREFIX, URL_ROUTE

ROOT = Path(__file__).resolve().parents[3]


def test_airflows_plugins_manager_loads_the_app_and_the_nav_view():
    from airflow import plugins_manager

    plugins, import_errors = plugins_manager._get_plugins()
    assert not [error for source, error in import_errors.items() if "amazon_orders" in source]
    [info] = [p for p in plugins_manager.get_plugin_info() if p["name"] == "amazon_orders"]
    assert [(a["url_prefix"], a["name"], a["app"]) for a in info["fastapi_apps"]] == [
        (URL_PREFIX, NAME, "sales_channel.airflow.plugin.LazyApp")]
    [view] = info["external_views"]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == (NAME, f"{URL_PREFIX}/", "nav", URL_ROUTE)
    assert view["icon"].startswith("data:image/svg+xml;base64,") and view["icon_dark_mode"] != view["icon"]
    apps, _ = plugins_manager.get_fastapi_plugins()
    assert URL_PREFIX in [a["url_prefix"] for a in apps]
    views, _ = plugins_manager._get_ui_plugins()
    assert URL_ROUTE in [v["url_route"] for v in views], "the UI shows it (no url_route conflict)"


def test_the_api_servers_plugin_endpoint_lists_it_for_the_ui(airflow_app):
    client, token = airflow_app
    headers = {"Authorization": f"Bearer {token}"}
    plugins = client.get("/api/v2/plugins", headers=headers).json()["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "amazon_orders"]
    assert [v["url_route"] for v in plugin["external_views"]] == [URL_ROUTE]
    errors = client.get("/api/v2/plugins/importErrors", headers=headers).json()["import_errors"]
    assert not [e for e in errors if "amazon_orders" in e["source"]]


def test_importing_the_plugin_builds_no_app_and_opens_no_database(tmp_path):
    """Every component imports plugins: the import must not build the app nor read a connection."""
    code = ("import sys, json; sys.path.insert(0, 'plugins'); import amazon_orders; "
            "print(json.dumps({m: m in sys.modules for m in ('sales_channel.airflow.plugin.app', "
            "'sales_channel.airflow.plugin.source', 'sales_channel.store.channel_store', 'fastapi.templating')}))")
    env = {**os.environ, "AIRFLOW_CONN_SALES_CHANNEL_DB": json.dumps({"conn_type": "sales_channel_db",
                                                                      "host": str(tmp_path / "never.db")})}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {m: False for m in loaded}, loaded
    assert not (tmp_path / "never.db").exists()
