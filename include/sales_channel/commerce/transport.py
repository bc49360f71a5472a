"""The HTTP layer of the Commerce client: one pooled session, timeouts, retries, call counts, logging.

Retry policy (tenacity, exponential backoff with jitter, bounded attempts):

* **Reads** (every GET) and writes that are idempotent by nature — the admin-token login (issues a
  token, changes no business data) and the stock update (a PUT of an absolute quantity) — are retried
  on 5xx, 429, timeouts and connection errors.
* **Every other write** (order create, invoice, ship, refund, comment, track, cancel, hold, unhold,
  email) is retried only when the request provably never reached the server (connection refused,
  connect timeout) or was turned away with 429. Any other failure after sending — 5xx, read timeout,
  dropped connection, an unreadable 2xx body — raises ``AmbiguousWriteError``: the write may have
  happened, and the caller must look before writing again.

Logs carry the method, the path *template*, the status and the time; never the token, the password,
query values or bodies (they hold buyer PII): urllib3's request lines are logged with their query values
redacted (``sales_channel.net.install_log_redaction``).

Redirects are never followed (the bearer token would go wherever a 3xx points; it is an error naming the
call and the status), and a loopback store (the sandbox) is reached without the environment's proxy.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from urllib3.exceptions import NewConnectionError

from sales_channel.commerce.errors import (
    AmbiguousWriteError,
    CommerceError,
    SandboxCredentialError,
    ServerError,
    TransportError,
    error_for_status,
)
from sales_channel.commerce.search import format_value
from sales_channel.domain.money import as_number
from sales_channel.net import SANDBOX_CREDENTIAL_PREFIX, install_log_redaction, is_loopback_host

logger = logging.getLogger("sales_channel.commerce")
install_log_redaction()


def refuse_sandbox_credentials_off_loopback(base_url: str, *credentials: str | None) -> None:
    """Raise before any I/O if a ``sandbox-`` credential would leave this machine.

    Sandbox credentials are published in the repository; sending one to a real host would at best fail
    and at worst hand a real service a known secret, so it is always a configuration mistake.
    """
    host = urlsplit(base_url).hostname
    if any(c and c.startswith(SANDBOX_CREDENTIAL_PREFIX) for c in credentials) and not is_loopback_host(host):
        raise SandboxCredentialError(
            f"refusing to send a sandbox credential (it starts with {SANDBOX_CREDENTIAL_PREFIX!r}) to "
            f"{host!r}: sandbox credentials are only sent to a loopback address (127.0.0.0/8, ::1, "
            f"localhost). Configure the store's real Commerce token, or point base_url at the sandbox."
        )


class CallStats:
    """HTTP requests per operation (``"GET /V1/orders"``), retries included; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()
        self._failures: Counter[str] = Counter()

    def record(self, operation: str, ok: bool) -> None:
        with self._lock:
            self._calls[operation] += 1
            if not ok:
                self._failures[operation] += 1

    def record_retry(self, operation: str) -> None:
        with self._lock:
            self._retries[operation] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    def calls(self, operation: str) -> int:
        with self._lock:
            return self._calls[operation]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._calls.values()), "calls": dict(self._calls),
                    "retries": dict(self._retries), "failures": dict(self._failures)}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._retries.clear()
            self._failures.clear()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter: waits ~initial, 2*initial, ... capped at ``max_wait``."""

    max_attempts: int = 4
    initial_wait: float = 0.25
    max_wait: float = 8.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")


def _json_default(value: Any) -> Any:
    """Decimals as JSON numbers (the schema types amounts as ``number``); datetimes as Magento's format."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite amount {value}")
        return as_number(value)
    if isinstance(value, datetime):
        return format_value(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (no connection was ever made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _describe(exc: requests.RequestException) -> str:
    """A short cause without the URL (whose query may hold search values)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.Timeout):
        return "read timeout"
    if _never_sent(exc):
        return "connection refused or unreachable"
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return "connection broken before the response was complete"
    return type(exc).__name__


class _NotSent(TransportError):
    """Transport failure before the request left: safe to retry even for a write."""


class _RateLimited(CommerceError):
    """HTTP 429 (a proxy or WAF in front of Commerce): turned away before processing."""


def _retryable_read(exc: BaseException) -> bool:
    return isinstance(exc, ServerError | TransportError | _RateLimited)


def _retryable_write(exc: BaseException) -> bool:
    return isinstance(exc, _NotSent | _RateLimited)


class Transport:
    """Sends one API call: URL building, the shared session, retries, decoding, errors, counting."""

    def __init__(
        self,
        api_root: str,
        *,
        timeout: tuple[float, float],
        pool_maxsize: int,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_root = api_root
        self.timeout = timeout
        self.retry = retry
        self.stats = CallStats()
        self._sleep = sleep
        self.session = requests.Session()
        # A proxy cannot reach this machine's loopback, and sandbox credentials must stay on it; a real
        # store may well sit behind the deployment's proxy, so only loopback ignores the environment.
        self.session.trust_env = not is_loopback_host(urlsplit(api_root).hostname)
        # Magento's REST API is stateless: no cookies (and no cookie jar shared between threads).
        self.session.cookies.set_policy(_NoCookies())
        self.session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def set_bearer(self, token: str) -> None:
        # As the session's auth (not a default header), so requests never replaces it with .netrc auth.
        self.session.auth = _BearerAuth(token)

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool,
        lookup: Mapping[str, Any] | None = None,
    ) -> Any:
        """One API call; returns the decoded JSON body. ``template`` is like ``/V1/orders/{id}``.

        ``idempotent=False`` marks a write that must never be repeated blindly (see the module doc);
        ``lookup`` tells the caller what to look up when such a write ends ambiguous.
        """
        operation = f"{method} {template}"
        url = self.api_root + template.format(**{k: quote(str(v), safe="") for k, v in (path or {}).items()})
        data = None if body is None else json.dumps(body, default=_json_default).encode()
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=wait_exponential_jitter(initial=self.retry.initial_wait, max=self.retry.max_wait,
                                         jitter=self.retry.jitter),
            retry=retry_if_exception(_retryable_read if idempotent else _retryable_write),
            reraise=True,
            sleep=self._sleep,
            before_sleep=lambda state: self._before_retry(operation, state),
        )
        try:
            return retrying(self._send_once, method, url, operation, params, data)
        except (ServerError, TransportError) as exc:
            if idempotent or isinstance(exc, _NotSent):
                raise
            advice = f"look up {dict(lookup or {}) or 'the entity'} before writing again"
            raise AmbiguousWriteError(
                f"outcome unknown ({exc.message}); {advice}", summary=f"outcome unknown ({exc.summary}); {advice}",
                status=exc.status, operation=operation, lookup=lookup,
                template=exc.template, parameters=exc.parameters,
            ) from exc

    def _before_retry(self, operation: str, state: Any) -> None:
        self.stats.record_retry(operation)
        exc = state.outcome.exception() if state.outcome else None
        cause = getattr(exc, "status", None) or getattr(exc, "summary", type(exc).__name__)
        logger.warning("commerce %s failed (%s); attempt %d of %d in %.2f s", operation, cause,
                       state.attempt_number + 1, self.retry.max_attempts, state.upcoming_sleep)

    def _send_once(self, method: str, url: str, operation: str, params: Mapping[str, str] | None,
                   data: bytes | None) -> Any:
        started = time.monotonic()
        try:
            response = self.session.request(method, url, params=params, data=data, timeout=self.timeout,
                                            allow_redirects=False)
            content = response.content  # read fully here, so a dropped body surfaces as a transport error
        except requests.RequestException as exc:
            elapsed_ms = (time.monotonic() - started) * 1000
            self.stats.record(operation, ok=False)
            cause = _describe(exc)
            logger.info("commerce %s -> no response (%s) after %.1f ms", operation, cause, elapsed_ms)
            error_class = _NotSent if _never_sent(exc) else TransportError
            raise error_class(cause, operation=operation) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        status = response.status_code
        self.stats.record(operation, ok=200 <= status < 300)
        logger.debug("commerce %s -> %d in %.1f ms", operation, status, elapsed_ms)
        try:
            decoded = json.loads(content, parse_float=Decimal) if content else None
        except ValueError:
            if 200 <= status < 300:
                raise ServerError("response body is not JSON", status=status, operation=operation) from None
            decoded = None
        if 200 <= status < 300:
            return decoded
        if status == 429:
            raise _RateLimited("too many requests", status=status, operation=operation)
        raise error_for_status(status, decoded, operation)


class _BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>``; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth('****')"


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False
