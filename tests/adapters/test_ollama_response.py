"""Whole Ollama answers as OpenAI's, checked against the OpenAI SDK's own types."""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

import orjson
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from jairouter.adapters.ollama_response import (
    chat_completion,
    created_of,
    embedding_list,
    text_completion,
)

from .conftest import MakeRequest

DONE = {
    "model": "llama3.2:3b",
    "created_at": "2024-07-22T20:33:28.123648Z",
    "done": True,
    "done_reason": "stop",
    "total_duration": 885095291,
    "prompt_eval_count": 26,
    "eval_count": 9,
}
CREATED = 1721680408


def chat_answer(message: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**DONE, "message": {"role": "assistant", **message}, **fields}


def test_chat_completion(make_request: MakeRequest) -> None:
    req = make_request("/v1/chat/completions", {"model": "team-model", "messages": []})
    out = chat_completion(chat_answer({"content": "Hello! How are you?"}), req)
    parsed = ChatCompletion.model_validate(out)
    assert parsed.id.startswith("chatcmpl-")
    assert parsed.object == "chat.completion"
    assert parsed.created == CREATED
    assert parsed.model == "team-model"  # the name the client asked for, not Ollama's
    assert parsed.choices[0].message.content == "Hello! How are you?"
    assert parsed.choices[0].message.role == "assistant"
    assert parsed.choices[0].finish_reason == "stop"
    assert out["usage"] == {"prompt_tokens": 26, "completion_tokens": 9, "total_tokens": 35}


def test_length_is_the_only_other_finish_reason(make_request: MakeRequest) -> None:
    req = make_request("/v1/chat/completions", {"model": "m", "messages": []})
    for done_reason, finish in [("length", "length"), ("stop", "stop"), ("unload", "stop")]:
        out = chat_completion(chat_answer({"content": "x"}, done_reason=done_reason), req)
        assert out["choices"][0]["finish_reason"] == finish


def test_tool_calls_get_string_arguments_and_their_finish_reason(
    make_request: MakeRequest,
) -> None:
    req = make_request("/v1/chat/completions", {"model": "m", "messages": []})
    calls = [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"id": "call_x", "function": {"index": 1, "name": "now", "arguments": {}}},
    ]
    out = chat_completion(chat_answer({"content": "", "tool_calls": calls}), req)
    message = ChatCompletion.model_validate(out).choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    first, second = message.tool_calls
    assert first.id.startswith("call_")
    assert first.type == "function"
    assert first.function.name == "get_weather"
    assert orjson.loads(first.function.arguments) == {"city": "Paris"}
    assert second.id == "call_x"
    assert second.function.arguments == "{}"
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert "index" not in out["choices"][0]["message"]["tool_calls"][0]


def test_thinking_is_reported_as_reasoning(make_request: MakeRequest) -> None:
    req = make_request("/v1/chat/completions", {"model": "m", "messages": []})
    out = chat_completion(chat_answer({"content": "4", "thinking": "2+2"}), req)
    assert out["choices"][0]["message"]["reasoning"] == "2+2"


def test_text_completion(make_request: MakeRequest) -> None:
    req = make_request("/v1/completions", {"model": "team-model", "prompt": "def f():"})
    out = text_completion({**DONE, "response": "\n    return 1\n", "done_reason": "length"}, req)
    parsed = Completion.model_validate(out)
    assert parsed.id.startswith("cmpl-")
    assert parsed.object == "text_completion"
    assert parsed.model == "team-model"
    assert parsed.created == CREATED
    assert parsed.choices[0].text == "\n    return 1\n"
    assert parsed.choices[0].finish_reason == "length"
    assert parsed.usage is not None
    assert parsed.usage.total_tokens == 35


EMBED = {
    "model": "nomic-embed-text",
    "embeddings": [[0.5, -0.25, 1.0], [0.125, 0.0, -2.0]],
    "total_duration": 14143917,
    "prompt_eval_count": 8,
}


def test_embedding_list(make_request: MakeRequest) -> None:
    req = make_request("/v1/embeddings", {"model": "team-model", "input": ["a", "b"]})
    out = embedding_list(EMBED, req)
    parsed = CreateEmbeddingResponse.model_validate(out)
    assert parsed.model == "team-model"
    assert [d.index for d in parsed.data] == [0, 1]
    assert [d.embedding for d in parsed.data] == EMBED["embeddings"]
    assert out["usage"] == {"prompt_tokens": 8, "total_tokens": 8}


def test_base64_embeddings_are_little_endian_float32(make_request: MakeRequest) -> None:
    payload = {"model": "m", "input": ["a", "b"], "encoding_format": "base64"}
    out = embedding_list(EMBED, make_request("/v1/embeddings", payload))
    for item, vector in zip(out["data"], EMBED["embeddings"], strict=True):
        raw = base64.b64decode(item["embedding"])
        assert list(struct.unpack(f"<{len(vector)}f", raw)) == vector


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2023-08-04T08:52:19.385406455-07:00", 1691164339),
        ("2023-08-04T19:22:45.499127Z", 1691176965),
    ],
)
def test_created_at_with_nanoseconds_and_offsets(stamp: str, expected: int) -> None:
    assert created_of({"created_at": stamp}) == expected


@pytest.mark.parametrize("obj", [{}, {"created_at": "yesterday"}, {"created_at": 5}])
def test_created_falls_back_to_now(obj: dict[str, Any]) -> None:
    before = int(time.time())
    assert before <= created_of(obj) <= int(time.time())
