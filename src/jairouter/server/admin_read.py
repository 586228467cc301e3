"""Read-only admin endpoints besides the status: the effective config and its history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jairouter.config.masking import masked
from jairouter.config.versions import list_versions
from jairouter.server.admin_errors import AdminError

if TYPE_CHECKING:
    from jairouter.pipeline.routing import Target
    from jairouter.server.app import Router


def instance_counters(target: Target) -> dict[str, object]:
    """An instance's counters for the status snapshot (`jairouter top`): exchanges, those
    that ended in a 5xx or no answer, the 429s it answered, the median and 95th percentile of
    their duration, the median time to first token of streams as clients saw it (from the
    request's arrival, retries included), and its latest failures."""
    stats = target.stats
    return {
        "requests": stats.requests,
        "errors": stats.errors,
        "throttled": stats.throttled,
        "p50_ms": milliseconds(stats.duration.quantile(0.5)),
        "p95_ms": milliseconds(stats.duration.quantile(0.95)),
        "ttft_p50_ms": milliseconds(stats.first_token.quantile(0.5)),
        "recent_errors": [error._asdict() for error in stats.recent_errors],
    }


def milliseconds(seconds: float | None) -> float | None:
    return round(seconds * 1000, 3) if seconds is not None else None


async def effective_config(router: Router, _request: Request) -> Response:
    """GET /admin/config: the config being served, defaults filled in, secrets masked."""
    data = masked(router.config.model_dump(mode="json", exclude_none=True))
    return _json(data)


async def config_versions(router: Router, _request: Request) -> Response:
    """GET /admin/versions: the kept versions of the config file, oldest first (503 when the
    router was not started from a file)."""
    path = router.config_path
    if path is None:
        message = "this router was not started from a config file: there is no history"
        raise AdminError(503, message, "no_config_file")
    versions = [version.as_json() for version in list_versions(path)]
    return _json({"path": str(path), "versions": versions})


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")
