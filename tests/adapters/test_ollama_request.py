"""OpenAI request bodies as Ollama's native ones."""

from __future__ import annotations

from typing import Any

import pytest

from jairouter.adapters.ollama_request import chat_request, embed_request, generate_request
from jairouter.errors import BadRequest

USER = {"role": "user", "content": "hi"}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def chat(**fields: Any) -> dict[str, Any]:
    return chat_request({"model": "team-model", "messages": [USER], **fields}, "llama3.2:3b")


def test_a_plain_chat_request() -> None:
    assert chat() == {
        "model": "llama3.2:3b",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,  # Ollama would stream if not told
        # OpenAI's defaults, as Ollama's own /v1 sends them
        "options": {"temperature": 1.0, "top_p": 1.0},
    }


def test_stream_is_always_explicit() -> None:
    assert chat(stream=True)["stream"] is True
    assert chat(stream=False)["stream"] is False


def test_sampling_fields_become_options() -> None:
    options = chat(
        temperature=0.2,
        top_p=0.9,
        seed=7,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        max_tokens=64,
        stop="\n\n",
    )["options"]
    assert options == {
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "num_predict": 64,
        "stop": ["\n\n"],
    }


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert chat(max_tokens=10, max_completion_tokens=20)["options"]["num_predict"] == 20
    assert chat(stop=["a", "b"])["options"]["stop"] == ["a", "b"]


def test_a_stop_list_must_hold_strings() -> None:
    with pytest.raises(BadRequest):
        chat(stop=["a", 1])


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "json_object"}, "json"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            {"type": "object"},
        ),
    ],
)
def test_response_format_becomes_format(response_format: dict[str, Any], expected: Any) -> None:
    assert chat(response_format=response_format)["format"] == expected


def test_text_response_format_sets_no_format() -> None:
    assert "format" not in chat(response_format={"type": "text"})


def test_content_parts_join_text_and_carry_images_inline() -> None:
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "text", "text": "this picture?"},
            {"type": "image_url", "image_url": f"data:image/jpeg;base64,{PNG}"},
        ],
    }
    body = chat_request({"model": "m", "messages": [message]}, "llava")
    assert body["messages"] == [
        {"role": "user", "content": "What is in\nthis picture?", "images": [PNG, PNG]}
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
        {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
    ],
)
def test_parts_ollama_cannot_take_are_bad_requests(part: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        chat_request({"model": "m", "messages": [{"role": "user", "content": [part]}]}, "llava")


def test_messages_must_be_a_list_of_objects() -> None:
    for messages in (None, "hi", ["hi"]):
        with pytest.raises(BadRequest):
            chat_request({"model": "m", "messages": messages}, "x")


def test_developer_is_ollamas_system() -> None:
    body = chat_request(
        {"model": "m", "messages": [{"role": "developer", "content": "Be brief"}]}, "x"
    )
    assert body["messages"] == [{"role": "system", "content": "Be brief"}]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_tools_and_a_tool_call_round_trip() -> None:
    messages = [
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
    ]
    body = chat_request({"model": "m", "messages": messages, "tools": TOOLS}, "qwen3")
    assert body["tools"] == TOOLS
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                    "id": "call_1",
                }
            ],
        },
        {"role": "tool", "content": "18C, sunny", "tool_name": "get_weather"},
    ]


def test_a_tool_result_may_name_its_tool() -> None:
    message = {"role": "tool", "name": "lookup", "content": "42"}
    body = chat_request({"model": "m", "messages": [message]}, "x")
    assert body["messages"] == [{"role": "tool", "content": "42", "tool_name": "lookup"}]


def test_tool_call_arguments_must_be_json() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{city: Paris"}}
    message = {"role": "assistant", "content": "", "tool_calls": [call]}
    with pytest.raises(BadRequest):
        chat_request({"model": "m", "messages": [message]}, "x")


@pytest.mark.parametrize(("effort", "think"), [("none", False), ("low", "low"), ("high", "high")])
def test_reasoning_effort_becomes_think(effort: str, think: Any) -> None:
    assert chat(reasoning_effort=effort)["think"] == think


def test_generate_request() -> None:
    payload = {
        "model": "team-model",
        "prompt": "def fib(n):",
        "suffix": "    return a",
        "max_tokens": 32,
        "temperature": 0,
        "stream": True,
    }
    assert generate_request(payload, "codellama:code") == {
        "model": "codellama:code",
        "prompt": "def fib(n):",
        "stream": True,
        "options": {"temperature": 0, "top_p": 1.0, "num_predict": 32},
        "suffix": "    return a",
    }


def test_generate_takes_a_list_of_one_prompt_only() -> None:
    assert generate_request({"model": "m", "prompt": ["once"]}, "x")["prompt"] == "once"
    with pytest.raises(BadRequest):
        generate_request({"model": "m", "prompt": ["one", "two"]}, "x")
    with pytest.raises(BadRequest):
        generate_request({"model": "m", "prompt": [1, 2, 3]}, "x")


def test_embed_request() -> None:
    assert embed_request({"model": "m", "input": "hello"}, "nomic-embed-text") == {
        "model": "nomic-embed-text",
        "input": "hello",
    }
    payload = {"model": "m", "input": ["a", "b"], "dimensions": 256, "encoding_format": "base64"}
    assert embed_request(payload, "x") == {"model": "x", "input": ["a", "b"], "dimensions": 256}


@pytest.mark.parametrize("given", [[1, 2, 3], [[1, 2]], [], None])
def test_embed_takes_text_only(given: Any) -> None:
    with pytest.raises(BadRequest):
        embed_request({"model": "m", "input": given}, "x")
