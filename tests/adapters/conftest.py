"""Builders for the requests and instances the adapter tests feed in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from jairouter.config.models import InstanceConfig
from jairouter.types import ENDPOINTS, ProxyRequest

MakeRequest = Callable[..., ProxyRequest]
MakeInstance = Callable[..., InstanceConfig]


@pytest.fixture
def make_request() -> MakeRequest:
    """A JSON request to `path` as the router's intake would build it."""

    def build(path: str, payload: dict[str, Any]) -> ProxyRequest:
        endpoint = ENDPOINTS[path]
        stream = endpoint.streams and payload.get("stream") is True
        return ProxyRequest(
            endpoint,
            orjson.dumps(payload),
            payload,
            payload["model"],
            stream,
            "127.0.0.1",
            "application/json",
        )

    return build


@pytest.fixture
def make_instance() -> MakeInstance:
    def build(adapter: str, url: str = "http://10.0.0.5:8000", **fields: Any) -> InstanceConfig:
        return InstanceConfig(model="team-model", url=url, adapter=adapter, **fields)

    return build
