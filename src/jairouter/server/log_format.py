"""The router's own log lines (startup, reloads, breakers, errors) as JSON, one object a line.

For `--log-format json`: the same keys as the access log's where they overlap (`time`,
`request_id` stays inside the message), so one log pipeline can read both.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson


def json_line(level: str, logger: str, message: str, **fields: Any) -> str:
    """One JSON log line (without its newline)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    record = {
        "time": f"{stamp}.{int((now % 1) * 1000):03d}Z",
        "level": level,
        "logger": logger,
        "message": message,
        **fields,
    }
    return orjson.dumps(record, default=str).decode()


class JsonFormatter(logging.Formatter):
    """A `logging` formatter writing `json_line`s; tracebacks go in `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        extra: dict[str, Any] = {}
        if record.exc_info:
            extra["exception"] = self.formatException(record.exc_info)
        return json_line(record.levelname.lower(), record.name, record.getMessage(), **extra)
