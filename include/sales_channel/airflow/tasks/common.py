"""What every task needs: the stores' settings, and the clients and channel store of one store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException

from sales_channel.airflow.hooks import AdobeCommerceHook, AmazonSellingPartnerHook, ChannelDatabaseHook
from sales_channel.amazon.client import SpApiClient
from sales_channel.commerce.client import CommerceClient
from sales_channel.domain.settings import SettingsError, StoreSettings, parse_settings
from sales_channel.store.channel_store import ChannelStore

SETTINGS_VARIABLE = "sales_channel_stores"


def load_settings() -> dict[str, StoreSettings]:
    """The stores' settings from the Airflow Variable, validated.

    Invalid settings fail the task at once, without retries (retrying cannot fix them), with a message
    that names the store and the field.
    """
    document = Variable.get(SETTINGS_VARIABLE, default=None)
    try:
        if document is None:
            raise SettingsError(f"Airflow Variable {SETTINGS_VARIABLE!r} is not set: it holds the stores' "
                                "settings as JSON (see the README, 'Configure')")
        return parse_settings(document)
    except SettingsError as invalid:
        raise AirflowFailException(str(invalid)) from invalid


def store_settings(key: str) -> StoreSettings:
    stores = load_settings()
    if key not in stores:
        raise AirflowFailException(f"store {key!r} is not in the Variable {SETTINGS_VARIABLE!r} (known: {sorted(stores)})")
    return stores[key]


@dataclass
class StoreContext:
    settings: StoreSettings
    amazon: SpApiClient
    commerce: CommerceClient
    channel: ChannelStore


@contextmanager
def open_store(key: str, commerce_pool: int = 16) -> Iterator[StoreContext]:
    """The clients of one store, closed when the task is done."""
    settings = store_settings(key)
    channel = ChannelDatabaseHook().get_conn()
    amazon = AmazonSellingPartnerHook(settings.amazon_conn_id, channel=channel).get_conn()
    commerce = AdobeCommerceHook(settings.commerce_conn_id, store_code=settings.store_code,
                                 pool_maxsize=commerce_pool).get_conn()
    try:
        yield StoreContext(settings, amazon, commerce, channel)
    finally:
        amazon.close()
        commerce.close()
        channel.close()
