"""Login with Amazon (``POST /auth/o2/token``) and the access check every SP-API call passes.

Access tokens live in the sandbox's state (they survive a restart, like Amazon's do) and expire after
the configured lifetime (``token_ttl_seconds``, real seconds: expiry is about the client's token cache,
not about the lifecycle, so it is not scaled by F). The control API can shorten the lifetime or expire
every issued token at once, so clients can exercise refresh.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from sales_channel.sandbox.amazon.errors import SpApiError

if TYPE_CHECKING:
    from sales_channel.sandbox.amazon.service import AmazonSandbox

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=NO_STORE)


def lwa_router(sandbox: AmazonSandbox) -> APIRouter:
    router = APIRouter(tags=["Login with Amazon"])

    @router.post("/auth/o2/token", name="lwaToken")
    async def token(request: Request) -> JSONResponse:
        """The refresh_token grant, form-encoded (or JSON, as Amazon's own SDKs send it), answering like
        LWA (OAuth 2.0 errors)."""
        content_type = request.headers.get("content-type", "")
        body = (await request.body()).decode("utf-8", "replace")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
        elif content_type.startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return _oauth_error(400, "invalid_request", "The request body is not a JSON object.")
            form = {key: value for key, value in parsed.items() if isinstance(value, str)}
        else:
            return _oauth_error(400, "invalid_request", "The request must be application/x-www-form-urlencoded.")
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", f"The grant type {grant_type} is not supported.")
        for field in ("refresh_token", "client_id", "client_secret"):
            if not form.get(field):
                return _oauth_error(400, "invalid_request", f"The request is missing a required parameter : {field}")
        creds = sandbox.credentials
        if (not secrets.compare_digest(form["client_id"], creds["lwa_client_id"])
                or not secrets.compare_digest(form["client_secret"], creds["lwa_client_secret"])):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if not secrets.compare_digest(form["refresh_token"], creds["refresh_token"]):
            return _oauth_error(400, "invalid_grant",
                                "The request has an invalid grant parameter : refresh_token")
        ttl = int(sandbox.settings["token_ttl_seconds"])
        access_token = f"Atza|sandbox-{secrets.token_urlsafe(48)}"
        await run_in_threadpool(sandbox.store.add_token, access_token, form["refresh_token"], time.time() + ttl)
        return JSONResponse({"access_token": access_token, "refresh_token": form["refresh_token"],
                             "token_type": "bearer", "expires_in": ttl}, headers=NO_STORE)

    return router


def authorize(sandbox: AmazonSandbox, request: Request) -> str:
    """Check ``x-amz-access-token`` and return the seller (refresh token) it was issued for."""
    token = request.headers.get("x-amz-access-token")
    if not token:
        raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         "The request has no x-amz-access-token header.")
    found = sandbox.store.token(token)
    if found is None:
        raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         "The access token is invalid.")
    seller, expires_at = found
    if expires_at <= time.time():
        raise SpApiError(403, "Unauthorized", "The security token included in the request is expired")
    return seller


def quota_exceeded() -> SpApiError:
    return SpApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def guard_dependency(sandbox: AmazonSandbox) -> Callable[[Request], str]:
    """Every faithful API call: the access token, then the operation's usage plan (keyed by the route's
    name, the SP-API operation), then the lifecycle clock catches up so the call sees every due event."""

    def guard(request: Request) -> str:
        seller = authorize(sandbox, request)
        if not sandbox.buckets.take(seller, request.scope["route"].name):
            raise quota_exceeded()
        sandbox.tick()
        return seller

    return guard
