"""In: turn a request body into a `ProxyRequest`, reading only what routing needs."""

from __future__ import annotations

from typing import Any

import orjson

from jairouter.errors import BadRequest
from jairouter.formdata import FormDataError, form_field
from jairouter.types import JSON_BODY, Endpoint, ProxyRequest


def parse_request(endpoint: Endpoint, body: bytes, content_type: str, client: str) -> ProxyRequest:
    """Validate just enough of the body to route it; the rest passes through untouched."""
    if endpoint.body is JSON_BODY:
        payload = _json_object(body)
        model = payload.get("model")
        stream = endpoint.streams and payload.get("stream") is True
        if not isinstance(model, str) or not model:
            raise BadRequest("you must provide a model parameter", param="model")
        return ProxyRequest(endpoint, body, payload, model, stream, client, content_type)
    try:
        model = form_field(body, content_type, "model")
    except FormDataError as exc:
        raise BadRequest(str(exc)) from None
    if not model:
        raise BadRequest("you must provide a model parameter", param="model")
    return ProxyRequest(endpoint, body, None, model, False, client, content_type)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest("the request body must be a JSON object")
    return payload
