"""The admin API's failures: each carries its HTTP status and OpenAI-style error type/code,
and one function turns a request body into a validated model or a 400."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from jairouter.errors import ConfigError

_B = TypeVar("_B", bound=BaseModel)


class AdminError(Exception):
    """A refused admin call: 400 malformed body, 404 unknown instance, 409 duplicate, 422
    invalid resulting config, 503 no config file to write."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        param: str | None = None,
        problems: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.problems = problems

    def response(self) -> Response:
        kind = "server_error" if self.status >= 500 else "invalid_request_error"
        error = {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        body: dict[str, object] = {"error": error}
        if self.problems is not None:
            body["problems"] = self.problems
        return Response(orjson.dumps(body), self.status, media_type="application/json")


def invalid_config(exc: ConfigError) -> AdminError:
    """422 for a change whose resulting config would not validate; the file is unchanged."""
    problems = [dataclasses.asdict(problem) for problem in exc.problems]
    message = f"the resulting config is invalid; nothing was written:\n{exc}"
    return AdminError(422, message, "invalid_config", problems=problems)


async def parse_body(request: Request, model: type[_B]) -> _B:
    """The request's JSON body validated as `model`; `AdminError` 400 when it is not."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = f"invalid request body: {where + ': ' if where else ''}{first['msg']}"
        raise AdminError(400, message, "invalid_body", param=where or None) from None
