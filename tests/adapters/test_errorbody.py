"""Every product's error body comes out in OpenAI's shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from jairouter.adapters.errorbody import normalize_error


def error(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(
            404,
            {
                "object": "error",
                "message": "The model `gpt-x` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            },
            error("The model `gpt-x` does not exist.", "invalid_request_error", "model_not_found"),
            id="vllm-unwrapped-unknown-model",
        ),
        pytest.param(
            400,
            {
                "object": "error",
                "message": "temperature must be non-negative",
                "type": "BadRequestError",
                "param": "temperature",
                "code": 400,
            },
            error("temperature must be non-negative", "invalid_request_error", param="temperature"),
            id="vllm-unwrapped-param",
        ),
        pytest.param(
            401,
            {"code": 401, "reason": "Unauthorized", "message": "Invalid API key"},
            error("Invalid API key", "authentication_error"),
            id="gpustack",
        ),
        pytest.param(
            400,
            {"detail": "Model not found in the model list, uid: bge-reranker"},
            error(
                "Model not found in the model list, uid: bge-reranker",
                "invalid_request_error",
                "model_not_found",
            ),
            id="xinference-unknown-model",
        ),
        pytest.param(
            422,
            {
                "detail": [
                    {"loc": ["body", "query"], "msg": "field required", "type": "missing"},
                    {"loc": ["body", "documents", 0], "msg": "str type expected"},
                ]
            },
            error("query: field required; documents.0: str type expected", "invalid_request_error"),
            id="fastapi-validation",
        ),
        pytest.param(
            404,
            {"error": 'model "llama3.3" not found, try pulling it first'},
            error(
                'model "llama3.3" not found, try pulling it first',
                "invalid_request_error",
                "model_not_found",
            ),
            id="ollama-unknown-model",
        ),
        pytest.param(
            500,
            {"error": "llama runner process has terminated: signal: killed"},
            error("llama runner process has terminated: signal: killed", "server_error"),
            id="ollama-crash",
        ),
        pytest.param(
            429,
            {"detail": "Rate limit reached"},
            error("Rate limit reached", "rate_limit_error"),
            id="rate-limit",
        ),
        pytest.param(
            403,
            {"message": "Forbidden"},
            error("Forbidden", "permission_error"),
            id="bare-message",
        ),
    ],
)
def test_product_error_bodies_become_openai_errors(
    status: int, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert orjson.loads(normalize_error(status, orjson.dumps(body))) == expected


def test_a_text_body_becomes_the_message() -> None:
    body = b"Internal Server Error: CUDA out of memory\n"
    out = orjson.loads(normalize_error(500, body))
    assert out == error("Internal Server Error: CUDA out of memory", "server_error")


def test_an_html_page_is_cut_short() -> None:
    body = b"<html>" + b"x" * 5000 + b"</html>"
    message = orjson.loads(normalize_error(502, body))["error"]["message"]
    assert message.startswith("<html>xxx")
    assert len(message) == 1000


def test_an_empty_body_names_the_status() -> None:
    out = orjson.loads(normalize_error(503, b""))
    assert out == error("upstream answered HTTP 503", "server_error")


def test_json_without_a_message_is_shown_as_it_came() -> None:
    out = orjson.loads(normalize_error(400, b'{"ok": false}'))
    assert out == error('{"ok": false}', "invalid_request_error")


@pytest.mark.parametrize(
    "body",
    [
        b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error",'
        b'"param":null,"code":"invalid_api_key"}}',
        # LocalAI and llama.cpp: OpenAI's shape with a numeric code, relayed as is
        b'{"error":{"code":500,"message":"could not load model","type":""}}',
        # GPUStack's OpenAI routes
        b'{"error":{"message":"Model not found","code":404,"type":"NotFound"}}',
    ],
)
def test_openai_shaped_bodies_are_the_same_object(body: bytes) -> None:
    assert normalize_error(400, body) is body
