"""The store view's own configuration and currencies (``/V1/store/storeConfigs``, ``/V1/directory``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sales_channel.commerce.errors import NotFoundError
from sales_channel.commerce.models import CurrencyInfo
from sales_channel.commerce.resource import Resource


class Directory(Resource):
    """What the store view is: ids, website, locale, currencies."""

    def store_config(self) -> Mapping[str, Any]:
        """This store view's configuration (ids, website, currencies, locale): ``GET /V1/store/storeConfigs``."""
        code = self._transport.api_root.rsplit("/", 1)[-1]
        configs = self._transport.call("GET", "/V1/store/storeConfigs", params={"storeCodes[]": code},
                                       idempotent=True)
        for config in configs or []:
            if config.get("code") == code:
                return config
        raise NotFoundError(f"store view {code!r} has no configuration", status=404,
                            operation="GET /V1/store/storeConfigs")

    def currency_info(self) -> CurrencyInfo:
        """The store view's base currency and the order currencies it accepts, with their rates."""
        return CurrencyInfo.from_api(self._transport.call("GET", "/V1/directory/currency", idempotent=True))
