"""The control-API routes both sandboxes share, under ``/_sandbox`` (apart from the faithful API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sales_channel.sandbox.common.faults import CONTROL_PREFIX, FaultInjector, FaultSettings


def common_control_router(service: str, injector: FaultInjector) -> APIRouter:
    """health, faults (get/set/clear) and per-operation call counts (get/reset)."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox control"])

    @router.get("/health", name="sandbox_health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "service": service}

    @router.get("/faults", name="sandbox_get_faults")
    def get_faults() -> FaultSettings:
        return injector.settings

    @router.put("/faults", name="sandbox_set_faults")
    def set_faults(settings: FaultSettings) -> FaultSettings:
        injector.configure(settings)
        return injector.settings

    @router.delete("/faults", name="sandbox_clear_faults")
    def clear_faults() -> FaultSettings:
        injector.configure(FaultSettings())
        return injector.settings

    @router.get("/calls", name="sandbox_get_calls")
    def get_calls() -> dict[str, Any]:
        return injector.counts()

    @router.delete("/calls", name="sandbox_reset_calls")
    def reset_calls() -> dict[str, Any]:
        injector.reset_counts()
        return injector.counts()

    return router
