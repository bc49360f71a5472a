"""The "Amazon Orders" view inside the Airflow UI (registered by ``plugins/amazon_orders.py``).

Every Airflow component imports the plugins, and only the api-server serves them: ``APP`` is an ASGI
app that builds the real one (``app.create_app``: FastAPI, the api-server's security, Jinja2) at its
first request, so importing the plugin reads nothing and opens nothing.
"""

from __future__ import annotations

import threading
from base64 import b64encode
from typing import Any

URL_PREFIX = "/amazon-orders"
NAME = "Amazon Orders"
URL_ROUTE = "amazon-orders"


class LazyApp:
    """An ASGI app that creates ``sales_channel.airflow.plugin.app.create_app()`` when first called."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from sales_channel.airflow.plugin.app import create_app

                    self._app = create_app()
        await self._app(scope, receive, send)


# A shopping cart, inline (the UI shows it as <img src>; a data URI needs no request and no packaging),
# in a grey that stays visible on the nav's light and selected (dark) backgrounds.
ICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="{color}" '
            'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><path d="M3 4h2l2.4 11.2a2 2 0 0 0 '
            '2 1.6h7.7a2 2 0 0 0 2-1.5L21 8H6"/><circle cx="10" cy="20" r="1.3"/><circle cx="17" cy="20" r="1.3"/>'
            '<path d="M9 11h8"/></svg>')


def _icon(color: str) -> str:
    return f"data:image/svg+xml;base64,{b64encode(ICON_SVG.format(color=color).encode()).decode()}"


APP = LazyApp()
# Shown in the UI's navigation; the view is embedded (same origin: the UI's _token cookie goes along).
EXTERNAL_VIEW = {"name": NAME, "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": URL_ROUTE, "nav_top_level": True,
                 "icon": _icon("#8a94a6"), "icon_dark_mode": _icon("#cbd5e0")}
FASTAPI_APP = {"app": APP, "url_prefix": URL_PREFIX, "name": NAME}
