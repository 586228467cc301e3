from __future__ import annotations

import pytest

from jairouter.adapters.wire import bearer, instance_headers, merge_headers, server_root
from jairouter.config.models import InstanceConfig


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://h:8000", "http://h:8000"),
        ("http://h:8000/v1", "http://h:8000"),
        ("http://h:8000/api", "http://h:8000"),
        ("http://h:8000/serving/v1", "http://h:8000/serving"),
        ("http://h:8000/v1x", "http://h:8000/v1x"),
    ],
)
def test_server_root_strips_one_api_prefix(url: str, root: str) -> None:
    assert server_root(url, ("/v1", "/api")) == root


def test_later_header_layers_win_whatever_the_case() -> None:
    merged = merge_headers({"authorization": "a", "X-Team": "t"}, {"Authorization": "b"})
    assert merged == {"Authorization": "b", "X-Team": "t"}


def test_bearer_only_with_a_key() -> None:
    assert bearer("sk-1") == {"Authorization": "Bearer sk-1"}
    assert bearer(None) == {}
    assert bearer("") == {}


def test_router_owned_headers_override_configured_ones() -> None:
    inst = InstanceConfig(
        model="m",
        url="http://h",
        headers={"content-type": "text/plain", "accept-encoding": "gzip", "X-Org": "o"},
    )
    headers = instance_headers(inst, bearer("k"))
    assert headers == {
        "X-Org": "o",
        "Content-Type": "application/json",
        "Authorization": "Bearer k",
        "Accept-Encoding": "identity",
    }
