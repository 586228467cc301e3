"""An answer's token `usage`, found in its last bytes so no answer is buffered for it.

OpenAI-style answers put `usage` at the end: the last key of a JSON body, the last event
before `data: [DONE]` in a stream (when the client asked for `stream_options.include_usage`).
The relay keeps only the answer's last two chunks; the last `"usage": {...}` in them is
parsed, and nothing else of the answer is.
"""

from __future__ import annotations

from typing import Any

import orjson

_KEY = b'"usage"'
_BETWEEN = b" \t\r\n:"


def usage_in_tail(last: bytes, before: bytes = b"") -> dict[str, Any] | None:
    """The `usage` object that ends an answer whose last chunks are `before` and `last`;
    None when there is none, or it is null."""
    at = last.rfind(_KEY)
    if at < 0:
        if not before:
            return None
        last = before + last  # key or object split between the two chunks
        at = last.rfind(_KEY)
        if at < 0:
            return None
    start = at + len(_KEY)
    while start < len(last) and last[start] in _BETWEEN:
        start += 1
    if last[start : start + 1] != b"{":
        return None
    # Usage holds numbers and nested objects of numbers: the first `}` that balances the
    # braces ends it.
    end = last.find(b"}", start)
    while end >= 0 and last.count(b"{", start, end) != last.count(b"}", start, end + 1):
        end = last.find(b"}", end + 1)
    if end < 0:
        return None
    try:
        usage = orjson.loads(last[start : end + 1])
    except orjson.JSONDecodeError:
        return None
    return usage if isinstance(usage, dict) else None
