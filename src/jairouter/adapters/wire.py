"""What every adapter sends whatever the product: the base URL and the precomputed headers."""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from jairouter.config.models import InstanceConfig

JSON = "application/json"
# The router relays upstream bytes untouched and never decompresses, so it asks for none.
_ROUTER_HEADERS = {"Accept-Encoding": "identity"}


def server_root(url: str, api_prefixes: tuple[str, ...]) -> str:
    """The server root of an instance URL that may end with the product's API prefix (`/v1`)."""
    for prefix in api_prefixes:
        if url.endswith(prefix):
            return url[: -len(prefix)]
    return url


def merge_headers(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers win, comparing names case-insensitively as HTTP does."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


def bearer(api_key: str | None) -> dict[str, str]:
    """`Authorization: Bearer <key>`, or nothing when the instance has no key."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def instance_headers(instance: InstanceConfig, auth: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """Headers of a JSON request to `instance`: the configured ones, overridden by the body's type,
    the product's auth and the router's own (so the key is always spelled `Content-Type`).

    Built once per instance and shared, read-only, by its requests. In the upstream client's own
    type: aiohttp takes a multidict as it is, where a dict is converted on every request.
    """
    merged = merge_headers(instance.headers, {"Content-Type": JSON}, auth, _ROUTER_HEADERS)
    return CIMultiDictProxy(CIMultiDict(merged))
