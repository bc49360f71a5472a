"""Login with Amazon: the refresh-token exchange, with the access token cached until shortly before
it expires.

One refresh at a time: threads that need a token while another refreshes wait for its result instead
of each asking Login with Amazon. A token Amazon refused (403 Unauthorized) is invalidated only if it is
still the current one, so N threads failing on the same stale token cause one refresh, not N.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from sales_channel.amazon.errors import LwaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LwaCredentials:
    """The application's LWA client and the seller's refresh token. Secrets never appear in ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret", "refresh_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name}: a non-empty Login with Amazon credential is required")

    def __repr__(self) -> str:
        return f"LwaCredentials(client_id={self.client_id!r}, client_secret='***', refresh_token='***')"

    def as_dict(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "refresh_token": self.refresh_token}


class LwaTokenProvider:
    """Hands out a valid access token, exchanging the refresh token when needed.

    ``refresh_margin_s`` renews the token that long before Amazon's ``expires_in`` runs out (at most
    half the lifetime), so a token never expires between being handed out and reaching Amazon.
    """

    def __init__(self, credentials: LwaCredentials, token_url: str, session: requests.Session,
                 timeout: tuple[float, float], refresh_margin_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, on_refresh: Callable[[], None] | None = None,
                 on_token: Callable[[str], None] | None = None) -> None:
        self._credentials = credentials
        self.token_url = token_url
        self._session = session
        self._timeout = timeout
        self._margin = refresh_margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._on_refresh = on_refresh
        self._on_token = on_token  # e.g. a log masker: the access token is a secret too

    def __repr__(self) -> str:
        return f"LwaTokenProvider(token_url={self.token_url!r}, client_id={self._credentials.client_id!r})"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self, refused_token: str) -> None:
        """Forget ``refused_token`` (if no other thread has replaced it already)."""
        with self._lock:
            if self._token == refused_token:
                self._token = None

    def _refresh(self) -> None:
        started = time.perf_counter()
        # Never redirected: a 307/308 would re-post the client secret and refresh token to wherever
        # the answer points.
        response = self._session.post(self.token_url, data={
            "grant_type": "refresh_token", **self._credentials.as_dict(),
        }, headers={"Accept": "application/json"}, timeout=self._timeout, allow_redirects=False)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info("LWA token exchange: HTTP %s in %.0f ms", response.status_code, elapsed_ms)
        if 300 <= response.status_code < 400:
            raise LwaError(response.status_code, "redirect_refused",
                           "the token exchange is not redirected: the credentials go to the configured token URL only")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error", "unknown_error") if isinstance(body, dict) else "unknown_error"
            description = body.get("error_description") if isinstance(body, dict) else None
            raise LwaError(response.status_code, str(error), description)
        expires_in = float(body.get("expires_in", 3600))
        self._token = body["access_token"]
        if self._on_token:
            self._on_token(self._token)
        self._expires_at = self._clock() + max(0.0, expires_in - min(self._margin, expires_in / 2))
        if self._on_refresh:
            self._on_refresh()
