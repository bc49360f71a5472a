"""Serving a sandbox app with uvicorn: in a thread (test fixtures) or in a process of its own (the CLI,
benchmarks: so one service's work never slows the other or the client under test).

Both bind the listening socket first (port 0 picks a free one) and derive the service's public base URL
from it, so nothing races for a port and no URL is ever built from a request's ``Host`` header.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import multiprocessing
import socket
import threading
import time
from typing import Any

import requests
import uvicorn

from sales_channel.sandbox.common.config import SandboxConfig

# Which factory builds which service's app.
APP_FACTORIES = {
    "amazon": "sales_channel.sandbox.amazon.app:create_app",
    "commerce": "sales_channel.sandbox.commerce.app:create_app",
}


class _QuietDropFilter(logging.Filter):
    """Injected dropped connections are expected: keep their tracebacks out of the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "DroppedConnection"


def build_app(service: str, config: SandboxConfig) -> Any:
    module_name, _, attr = APP_FACTORIES[service].partition(":")
    return getattr(importlib.import_module(module_name), attr)(config)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _with_url(config: SandboxConfig, host: str, port: int) -> SandboxConfig:
    if config.public_base_url and not config.public_base_url.endswith(":0"):
        return config
    return dataclasses.replace(config, public_base_url=f"http://{host}:{port}")


def _uvicorn_config(app: Any) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_QuietDropFilter())
    return uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=30,
                          limit_concurrency=None, backlog=2048)


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/_sandbox/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox at {url} did not become healthy within {timeout:.0f}s")
        time.sleep(0.05)


class ThreadServer:
    """One sandbox served by uvicorn in a daemon thread of this process."""

    def __init__(self, service: str, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0):
        self._sock = _bind(host, port)
        self.port = self._sock.getsockname()[1]
        self.config = _with_url(config, host, self.port)
        self.url = self.config.public_base_url
        self.app = build_app(service, self.config)
        self._server = uvicorn.Server(_uvicorn_config(self.app))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"sandbox-{service}", daemon=True)

    def start(self) -> ThreadServer:
        self._thread.start()
        wait_healthy(self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def _serve_in_child(service: str, config: SandboxConfig, host: str, port: int, ready: Any) -> None:
    sock = _bind(host, port)
    config = _with_url(config, host, sock.getsockname()[1])
    app = build_app(service, config)
    ready.send(config.public_base_url)
    ready.close()
    uvicorn.Server(_uvicorn_config(app)).run(sockets=[sock])


class ProcessServer:
    """One sandbox served by uvicorn in a child process (spawned: no state inherited by fork)."""

    def __init__(self, service: str, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0):
        self.service, self.config, self.host, self.port = service, config, host, port
        self.url: str | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self, timeout: float = 60.0) -> ProcessServer:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_serve_in_child, name=f"sandbox-{self.service}",
                                    args=(self.service, self.config, self.host, self.port, child))
        self._process.start()
        child.close()
        if not parent.poll(timeout):
            self.stop()
            raise TimeoutError(f"sandbox {self.service} did not start within {timeout:.0f}s")
        self.url = parent.recv()
        wait_healthy(self.url, timeout)
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_alive(self) -> bool:
        return bool(self._process and self._process.is_alive())

    def stop(self) -> None:
        if self._process and self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
