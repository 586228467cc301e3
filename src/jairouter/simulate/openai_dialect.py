"""How OpenAI-compatible servers word errors, and request-field checks worded the same way.

Unknown model, bad key and unparseable JSON follow OpenAI's API; field validation follows the
llama.cpp capture (`{"error":{"code":400,"message":"Expected 'messages' to be an array",...}}`),
so the router meets both shapes real backends send.

Products that speak OpenAI's API with their own error bodies (`simulate.products`) subclass
`OpenAIDialect`; while a product's handler runs (`speaking`), `OPENAI` and the checks below word
errors in that product's dialect. Outside one, they are the generic server's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from jairouter.simulate.exchange import Call, Reject

T = TypeVar("T")


def _openai_error(status: int, message: str, code: str | None = None) -> Reject:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return Reject(status, {"error": error})


class OpenAIDialect:
    def unauthorized(self) -> Reject:
        return _openai_error(401, "Incorrect API key provided.", "invalid_api_key")

    def bad_json(self, detail: str) -> Reject:
        return _openai_error(400, f"We could not parse the JSON body of your request: {detail}")

    def invalid(self, message: str) -> Reject:
        error = {"code": 400, "message": message, "type": "invalid_request_error"}
        return Reject(400, {"error": error})

    def no_route(self, method: str, path: str) -> Reject:
        return _openai_error(404, f"Invalid URL ({method} {path})")

    def unknown_model(self, model: str) -> Reject:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _openai_error(404, message, "model_not_found")


GENERIC = OpenAIDialect()
_SPEAKING: ContextVar[OpenAIDialect] = ContextVar("jairouter.simulate.dialect", default=GENERIC)


@contextmanager
def speaking(dialect: OpenAIDialect) -> Iterator[None]:
    """Errors raised through `OPENAI` in this block (this task only) are worded by `dialect`."""
    token = _SPEAKING.set(dialect)
    try:
        yield
    finally:
        _SPEAKING.reset(token)


class _Speaking:
    """The dialect of the request being answered: the generic one unless a product's route set
    its own with `speaking`."""

    def unauthorized(self) -> Reject:
        return _SPEAKING.get().unauthorized()

    def bad_json(self, detail: str) -> Reject:
        return _SPEAKING.get().bad_json(detail)

    def invalid(self, message: str) -> Reject:
        return _SPEAKING.get().invalid(message)

    def no_route(self, method: str, path: str) -> Reject:
        return _SPEAKING.get().no_route(method, path)

    def unknown_model(self, model: str) -> Reject:
        return _SPEAKING.get().unknown_model(model)


OPENAI = _Speaking()


def served_model(call: Call, fields: Mapping[str, Any]) -> str:
    """The request's `model`, which this server must serve."""
    model = required(fields, "model", str, "a string")
    if model not in call.settings.models:
        raise OPENAI.unknown_model(model)
    return model


def required(fields: Mapping[str, Any], key: str, kind: type[T], what: str) -> T:
    value = optional(fields, key, kind, what)
    if value is None:
        raise OPENAI.invalid(f"Expected '{key}' to be {what}")
    return value


def optional(fields: Mapping[str, Any], key: str, kind: type[T], what: str) -> T | None:
    """`fields[key]` if present and not null; a 400 when it has another type."""
    value = fields.get(key)
    if value is None:
        return None
    # bool is an int subclass, but `"n": true` is not a count.
    if isinstance(value, kind) and isinstance(value, bool) == (kind is bool):
        return value
    raise OPENAI.invalid(f"Expected '{key}' to be {what}")
