"""Secrets out of sight: a config dump with keys, credential-like headers and URL passwords
replaced by `***`, for `jairouter config show` and `GET /admin/config`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_CREDENTIAL = re.compile(r"authorization|key|token|secret|password|cookie|credential", re.I)


def masked(data: Any, *, headers: bool = False) -> Any:
    """`data` (a config's JSON dump) with `api_key`s, credential-like header values (by name, or
    a Bearer/Basic value) and passwords in URLs replaced by `***`."""
    if isinstance(data, list):
        return [masked(item) for item in data]
    if not isinstance(data, dict):
        return data
    result: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and _is_secret(key, value, headers):
            result[key] = MASK
        elif key == "url" and isinstance(value, str):
            result[key] = without_password(value)
        else:
            result[key] = masked(value, headers=key == "headers")
    return result


def without_password(url: str) -> str:
    """`url` with any password in it replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:{MASK}@{host}").geturl()


def _is_secret(key: str, value: str, header: bool) -> bool:
    if key == "api_key":
        return True
    scheme = value.split(" ", 1)[0].lower()
    return header and (bool(_CREDENTIAL.search(key)) or scheme in ("bearer", "basic"))
