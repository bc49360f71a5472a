"""Configuration of one sandbox service (the same shape for Amazon and Commerce)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox app factory needs.

    ``state_dir`` holds the service's SQLite state (it survives a restart); ``fresh`` wipes it first.
    ``public_base_url`` is how clients reach the service: URLs the service hands out (feed upload
    links) are built from it, never from the request's ``Host`` header.
    """

    state_dir: Path
    public_base_url: str = "http://127.0.0.1:0"
    time_scale: float = 1.0
    orders: int = 200
    seed: int = 42
    fresh: bool = False
    latency_ms: float = 0.0
    credentials: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")
        if self.orders < 0:
            raise ValueError(f"orders must be >= 0, got {self.orders}")
        object.__setattr__(self, "state_dir", Path(self.state_dir))


# The sandboxes' credentials. All start with "sandbox-": the project's clients refuse to send such a
# credential anywhere but a loopback address.
DEFAULT_CREDENTIALS = {
    "lwa_client_id": "sandbox-amzn1.application-oa2-client.channel",
    "lwa_client_secret": "sandbox-lwa-client-secret-5f1c2e",
    "refresh_token": "sandbox-Atzr|refresh-token-9d8e7f",
    "commerce_token": "sandbox-commerce-integration-token-4b3a2c",
    "commerce_admin_username": "admin",
    "commerce_admin_password": "sandbox-admin-password",
}
