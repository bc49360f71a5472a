"""The Airflow adapters: hooks read their Connection in get_conn() (never in __init__), test their
connection for the UI's Test button, register secrets with the log masker; the provider entry point
registers the connection types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException
from sales_channel.airflow.hooks import AdobeCommerceHook, AmazonSellingPartnerHook, ChannelDatabaseHook
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS as CREDS
from sales_channel.store import ChannelStore, current_revision, head_revision, migrate
from sales_channel.store.migrate import SchemaNotCurrentError

from tests.conftest import postgres_schema


def set_conn(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


@pytest.fixture
def amazon(sandbox_factory, monkeypatch, tmp_path):
    server = sandbox_factory("amazon", orders=5)
    set_conn(monkeypatch, "sales_channel_db", conn_type="sales_channel_db", host=str(tmp_path / "channel.db"))
    migrate(f"sqlite:///{tmp_path / 'channel.db'}")
    set_conn(monkeypatch, "seller_a", conn_type="amazon_sp_api", host=server.url, login=CREDS["lwa_client_id"],
             password=CREDS["lwa_client_secret"], extra={"refresh_token": CREDS["refresh_token"], "seller_id": "A1"})
    return server


def test_hooks_do_no_io_in_init():
    # Unknown connections, unreachable hosts: constructing the hooks must not touch any of them.
    AmazonSellingPartnerHook("no_such_connection")
    AdobeCommerceHook("no_such_connection")
    ChannelDatabaseHook("no_such_connection")


def test_amazon_hook_builds_a_client_that_logs_in(amazon, monkeypatch):
    hook = AmazonSellingPartnerHook("seller_a")
    assert hook.test_connection() == (True, "Login with Amazon accepted the credentials")
    with hook.get_conn() as client:
        assert client.seller_id == "A1"
        assert client.base_url == amazon.url


def test_amazon_hook_masks_the_refresh_token_and_the_access_tokens(amazon):
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    with AmazonSellingPartnerHook("seller_a").get_conn() as client:
        access_token = client._tokens.token()
    line = f"refresh={CREDS['refresh_token']} access={access_token}"
    assert CREDS["refresh_token"] not in redact(line) and access_token not in redact(line)


def test_amazon_hook_reports_bad_credentials_and_missing_fields(amazon, monkeypatch):
    set_conn(monkeypatch, "seller_b", conn_type="amazon_sp_api", host=amazon.url, login=CREDS["lwa_client_id"],
             password="sandbox-wrong-secret", extra={"refresh_token": CREDS["refresh_token"]})
    ok, message = AmazonSellingPartnerHook("seller_b").test_connection()
    assert not ok and "invalid_client" in message
    set_conn(monkeypatch, "seller_c", conn_type="amazon_sp_api", host=amazon.url, login=CREDS["lwa_client_id"],
             password=CREDS["lwa_client_secret"])
    with pytest.raises(ValueError, match="connection 'seller_c': extra refresh_token is required"):
        AmazonSellingPartnerHook("seller_c").get_conn()


def test_commerce_hook_uses_the_store_code_and_tests_the_token(sandbox_factory, monkeypatch):
    server = sandbox_factory("commerce")
    set_conn(monkeypatch, "shop", conn_type="adobe_commerce", host=server.url, password=CREDS["commerce_token"],
             extra={"store_code": "de"})
    assert AdobeCommerceHook("shop").test_connection() == (True, "Connected: base currency EUR")
    assert AdobeCommerceHook("shop", store_code="default").get_conn().api_root.endswith("/rest/default")
    set_conn(monkeypatch, "shop_bad", conn_type="adobe_commerce", host=server.url, password="sandbox-nope")
    ok, message = AdobeCommerceHook("shop_bad").test_connection()
    assert not ok and "isn't authorized" in message


def migrate_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sales_channel", "migrate", *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))


def test_amazon_hook_tests_without_a_channel_database_and_its_own_store_closes_with_the_client(
        amazon, monkeypatch):
    closed = []
    monkeypatch.setattr(ChannelStore, "close", lambda store: closed.append(store))
    with AmazonSellingPartnerHook("seller_a").get_conn():
        assert closed == []
    assert len(closed) == 1  # the channel store the hook opened for the buckets
    # A client that cannot be built (sandbox credentials for a real host) leaves nothing open.
    set_conn(monkeypatch, "seller_far", conn_type="amazon_sp_api", host="https://sellingpartnerapi-na.amazon.com",
             login=CREDS["lwa_client_id"], password=CREDS["lwa_client_secret"],
             extra={"refresh_token": CREDS["refresh_token"]})
    with pytest.raises(ValueError, match="sandbox"):
        AmazonSellingPartnerHook("seller_far").get_conn()
    assert len(closed) == 2
    monkeypatch.delenv("AIRFLOW_CONN_SALES_CHANNEL_DB")
    assert AmazonSellingPartnerHook("seller_a").test_connection()[0]


@pytest.mark.parametrize("kind", ["path", "url"])
def test_channel_db_hook_checks_the_schema_and_never_migrates(monkeypatch, tmp_path, kind):
    path = tmp_path / "channel.db"
    set_conn(monkeypatch, "sales_channel_db", conn_type="sales_channel_db",
             host=str(path) if kind == "path" else f"sqlite:///{path}")
    hook = ChannelDatabaseHook()
    ok, message = hook.test_connection()
    assert not ok and "is empty (never migrated)" in message
    assert "run `python -m sales_channel migrate --conn-id sales_channel_db`" in message
    with pytest.raises(SchemaNotCurrentError, match="--conn-id sales_channel_db"):
        hook.get_conn()
    assert current_revision(f"sqlite:///{path}") is None  # neither the test nor the task migrated

    done = migrate_cli("--conn-id", "sales_channel_db")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"channel database: empty -> {head_revision()}"  # after Airflow's logs
    assert hook.test_connection() == (True, "Connected to the channel database (sqlite), schema up to date")
    moment = datetime(2026, 11, 29, tzinfo=UTC)
    assert hook.get_conn().watermarks.advance("us", "import", moment) == moment


def test_a_missing_channel_db_connection_is_an_error_that_says_what_to_create(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SALES_CHANNEL_DB", raising=False)
    with pytest.raises(AirflowNotFoundException) as missing:
        ChannelDatabaseHook().get_conn()
    for hint in ("'sales_channel_db' is not defined", "make run", "AIRFLOW_CONN_SALES_CHANNEL_DB",
                 "python -m sales_channel migrate --conn-id sales_channel_db"):
        assert hint in str(missing.value)
    assert not (tmp_path / "sales_channel.db").exists()
    assert not ChannelDatabaseHook().test_connection()[0]


def test_channel_db_hook_on_postgres(monkeypatch, postgres_url):
    from sqlalchemy.engine import make_url

    with postgres_schema(postgres_url) as schema_url:
        url = make_url(schema_url)
        set_conn(monkeypatch, "sales_channel_db", conn_type="postgres", host=url.host, port=url.port,
                 login=url.username, password=url.password, schema=url.database)
        assert ChannelDatabaseHook().get_url().drivername == "postgresql+psycopg2"
        # What people type: a plain postgresql:// URL (SQLAlchemy's default driver for it is not installed).
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        set_conn(monkeypatch, "sales_channel_db", conn_type="sales_channel_db", host=plain)
        assert ChannelDatabaseHook().get_url().drivername == "postgresql+psycopg2"
        assert not ChannelDatabaseHook().test_connection()[0]
        done = migrate_cli("--db-url", plain)
        assert done.returncode == 0, done.stderr
        assert ChannelDatabaseHook().test_connection()[0]
        assert ChannelDatabaseHook().get_conn().watermarks.get("us", "import") is None


def test_provider_registers_the_connection_types(airflow_db):
    from airflow.providers_manager import ProvidersManager

    hooks = ProvidersManager().hooks
    for conn_type, hook in (("amazon_sp_api", AmazonSellingPartnerHook), ("adobe_commerce", AdobeCommerceHook),
                            ("sales_channel_db", ChannelDatabaseHook)):
        assert hooks[conn_type].hook_class_name == f"{hook.__module__}.{hook.__name__}"
    widgets = ProvidersManager().connection_form_widgets
    assert widgets["extra__amazon_sp_api__refresh_token"].is_sensitive
    assert not widgets["extra__amazon_sp_api__marketplace_id"].is_sensitive
