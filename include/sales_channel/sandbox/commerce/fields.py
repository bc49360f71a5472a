"""Magento's ``fields`` query parameter: ``?fields=items[entity_id,increment_id,items[sku]],total_count``
keeps only the named properties of a response (nested lists are filtered element by element).

Applied as a small ASGI middleware to the faithful API's successful JSON answers, and only when the
query string carries ``fields``: other calls pass straight through.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales_channel.sandbox.common.faults import CONTROL_PREFIX

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(spec: str) -> FieldTree:
    """``a,b[c,d[e]]`` → ``{"a": None, "b": {"c": None, "d": {"e": None}}}``."""
    tree, stack, name = {}, [], ""
    node: FieldTree = tree
    for char in spec:
        if char == "[":
            child: FieldTree = {}
            node[name.strip()] = child
            stack.append(node)
            node, name = child, ""
        elif char in ",]":
            if name.strip():
                node[name.strip()] = None
            name = ""
            if char == "]" and stack:
                node = stack.pop()
        else:
            name += char
    if name.strip():
        node[name.strip()] = None
    return tree


def apply_fields(data: Any, tree: FieldTree | None) -> Any:
    if tree is None:
        return data
    if isinstance(data, list):
        return [apply_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {key: apply_fields(data[key], sub) for key, sub in tree.items() if key in data}
    return data


class FieldsFilterMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"fields=" not in scope.get("query_string", b"") \
                or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        spec = dict(parse_qsl(scope["query_string"].decode("latin-1"))).get("fields", "")
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffering_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            body = b"".join(chunks)
            if start["status"] == 200 and spec:
                body = json.dumps(apply_fields(json.loads(body), parse_fields(spec))).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffering_send)
