"""The sandbox's store views: ``default`` (USD) and ``de`` (EUR), each on its website, plus ``all``/``admin``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Store:
    code: str
    store_id: int
    name: str
    currency: str
    locale: str
    timezone: str
    website_id: int = 1
    store_group_id: int = 1
    # Other currencies orders may be placed in, with the rate from the base currency (Stores > Currency Rates).
    rates: tuple[tuple[str, float], ...] = ()

    def view(self) -> dict[str, Any]:
        """store-data-store-interface."""
        return {"id": self.store_id, "code": self.code, "name": self.name, "website_id": self.website_id,
                "store_group_id": self.store_group_id, "is_active": 1}

    def config(self, base_url: str) -> dict[str, Any]:
        """store-data-store-config-interface (URLs from the configured public base URL)."""
        url = f"{base_url.rstrip('/')}/"
        return {"id": self.store_id, "code": self.code, "website_id": self.website_id, "locale": self.locale,
                "base_currency_code": self.currency, "default_display_currency_code": self.currency,
                "timezone": self.timezone, "weight_unit": "kgs", "base_url": url, "base_link_url": url,
                "base_static_url": f"{url}static/", "base_media_url": f"{url}media/", "secure_base_url": url,
                "secure_base_link_url": url, "secure_base_static_url": f"{url}static/",
                "secure_base_media_url": f"{url}media/"}


_SYMBOLS = {"USD": "$", "EUR": "€", "JPY": "¥", "SEK": "kr", "GBP": "£", "CAD": "CA$", "PLN": "zł"}


def currency_information(store: Store) -> dict[str, Any]:
    """directory-data-currency-information-interface (``GET /V1/directory/currency``)."""
    symbol = _SYMBOLS.get(store.currency, store.currency)
    return {"base_currency_code": store.currency, "base_currency_symbol": symbol,
            "default_display_currency_code": store.currency, "default_display_currency_symbol": symbol,
            "available_currency_codes": [store.currency, *(code for code, _ in store.rates)],
            "exchange_rates": [{"currency_to": store.currency, "rate": 1},
                               *({"currency_to": code, "rate": rate} for code, rate in store.rates)]}


ADMIN = Store("admin", 0, "Admin", "USD", "en_US", "UTC", website_id=0, store_group_id=0)
STORE_VIEWS = (
    Store("default", 1, "Default Store View", "USD", "en_US", "America/Chicago",
          rates=(("CAD", 1.3689), ("EUR", 0.9235), ("JPY", 151.2), ("SEK", 10.5561))),
    # A website of its own, so its base currency is EUR too.
    Store("de", 2, "German Store View", "EUR", "de_DE", "Europe/Berlin", website_id=2, store_group_id=2,
          rates=(("GBP", 0.8571), ("SEK", 11.4325))),
)
# Path store codes the web API accepts: every store view, plus "all" (the admin scope, store 0).
PATH_STORES = {store.code: store for store in STORE_VIEWS} | {"all": ADMIN}
