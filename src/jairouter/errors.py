"""The router's exception tree. Each error knows its HTTP status and OpenAI error type/code.

    RouterError                      500 server_error
    ├── BadRequest                   400 invalid_request_error
    │   ├── BodyTooLarge             413 invalid_request_error / request_too_large
    │   └── MethodNotAllowed         405 invalid_request_error / method_not_allowed (with Allow)
    ├── ModelNotFound                404 invalid_request_error / model_not_found
    ├── RateLimited                  429 rate_limit_exceeded (with Retry-After, X-RateLimit-*)
    ├── NoCapacity                   503 service_unavailable (no instance can take the request)
    │   └── ModelDisabled            503 service_unavailable / model_disabled (all instances off)
    └── UpstreamError                502 upstream_error
        ├── UpstreamUnreachable      502 upstream_unreachable  (connect refused/reset, DNS)
        ├── UpstreamBroken           502 upstream_bad_response (malformed or cut reply)
        └── UpstreamTimeout          504 upstream_timeout

    ConfigError                      not an HTTP error: a config file problem with file:line:col

Upstream 4xx/5xx answers are not exceptions: they are relayed with the upstream's own body.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


class RouterError(Exception):
    status = 500
    type = "server_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers  # extra response headers, e.g. Retry-After

    def body(self) -> bytes:
        """The OpenAI-style error body for this error."""
        return error_body(self.message, self.type, self.code, self.param)


class BadRequest(RouterError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class BodyTooLarge(BadRequest):
    status = 413
    code = "request_too_large"


class MethodNotAllowed(BadRequest):
    status = 405
    code = "method_not_allowed"


class ModelNotFound(RouterError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class RateLimited(RouterError):
    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit_exceeded"


class NoCapacity(RouterError):
    status = 503
    type = "service_unavailable"
    code = "no_instance_available"


class ModelDisabled(NoCapacity):
    """The model is configured, but every one of its instances has `enabled: false`."""

    code = "model_disabled"


class UpstreamError(RouterError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamBroken(UpstreamError):
    code = "upstream_bad_response"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config file, located as precisely as the YAML allows."""

    file: str
    line: int | None  # 1-based
    column: int | None  # 1-based
    key: str  # dotted path of the offending key, e.g. services.chat.instances[0].weight
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(Exception):
    """A config file that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
