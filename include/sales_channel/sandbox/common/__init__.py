"""What both sandboxes share: configuration, the scaled clock, fault injection, call counting, the
control-API conventions and the uvicorn server runners."""

from sales_channel.sandbox.common.clock import SandboxClock
from sales_channel.sandbox.common.config import SandboxConfig
from sales_channel.sandbox.common.faults import FaultInjector, FaultSettings

__all__ = ["FaultInjector", "FaultSettings", "SandboxClock", "SandboxConfig"]
