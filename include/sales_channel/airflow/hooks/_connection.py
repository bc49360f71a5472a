"""What every hook reads from its Connection the same way."""

from __future__ import annotations

from typing import Any


def conn_extras(conn: Any) -> dict[str, Any]:
    """The connection's extras by plain name (the form may store them as ``extra__<type>__<name>``)."""
    extra = dict(conn.extra_dejson)
    prefix = f"extra__{conn.conn_type}__"
    extra.update({k[len(prefix):]: v for k, v in extra.items() if k.startswith(prefix) and v not in (None, "")})
    return extra


def mask(secret: str | None) -> None:
    """Register a secret with Airflow's log masker (it then never shows in task logs)."""
    if secret:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
