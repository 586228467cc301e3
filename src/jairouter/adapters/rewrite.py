"""The translator for answers that are rewritten whole: buffer the JSON body, convert it once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from jairouter.adapters.wire import JSON
from jairouter.errors import UpstreamBroken
from jairouter.types import ProxyRequest

Convert = Callable[[dict[str, Any], ProxyRequest], dict[str, Any]]
"""Builds the OpenAI-shaped answer from the product's parsed answer and the client's request."""


class WholeBody:
    """Buffers a whole (non-stream) 2xx body and emits its conversion once the body has ended."""

    content_type = JSON

    def __init__(self, req: ProxyRequest, convert: Convert) -> None:
        self._req = req
        self._convert = convert
        self._chunks: list[bytes] = []

    def feed(self, chunk: bytes) -> bytes:
        self._chunks.append(chunk)
        return b""

    def finish(self) -> bytes:
        """The converted body; raises `UpstreamBroken` when the upstream sent no usable answer."""
        try:
            obj = orjson.loads(b"".join(self._chunks))
        except orjson.JSONDecodeError:
            raise UpstreamBroken("the model server answered with a body that is not JSON") from None
        if not isinstance(obj, dict) or "error" in obj:
            detail = obj.get("error") if isinstance(obj, dict) else obj
            raise UpstreamBroken(f"the model server answered with an error: {detail}")
        return orjson.dumps(self._convert(obj, self._req))
