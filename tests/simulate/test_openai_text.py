"""Chat and text completions, through the official SDK and byte for byte on the wire."""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionMessageParam

from jairouter.simulate import ServerThread, SimSettings

REPLY = SimSettings()  # the default words and length the fixture's server uses
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say something nice"}]


def _events(body: bytes) -> list[bytes]:
    """SSE events as the wire carries them: `data: ...` blocks each ended by a blank line."""
    assert body.endswith(b"\n\n")
    events = body[:-2].split(b"\n\n")
    assert all(event.startswith(b"data: ") and b"\n" not in event for event in events)
    return [event.removeprefix(b"data: ") for event in events]


def test_models_lists_what_the_server_serves(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["sim-chat", "sim-embed"]


def test_chat_answers_the_deterministic_reply(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="sim-chat", messages=MESSAGES)
    assert answer.model == "sim-chat"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == REPLY.reply().text
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, REPLY.reply_tokens)
    assert answer.id.startswith("chatcmpl-")


def test_chat_max_tokens_cuts_with_finish_reason_length(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="sim-chat",
        messages=MESSAGES,
        max_completion_tokens=3,
    )
    assert answer.choices[0].message.content == REPLY.reply(3).text
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 3


def test_chat_stream_parses_in_the_sdk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="sim-chat",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=4,
        )
    )
    first, *tokens, last, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content is None
    assert [c.choices[0].delta.content for c in tokens] == list(REPLY.reply(4).tokens)
    assert last.choices[0].finish_reason == "length"
    assert usage.choices == []
    assert usage.usage is not None
    assert usage.usage.total_tokens == 3 + 4


def test_chat_stream_wire_matches_the_llamacpp_capture(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    request = {"model": "sim-chat", "messages": MESSAGES, "stream": True, "max_tokens": 2}
    response = http.post(openai_sim.url + "/v1/chat/completions", json=request)
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    *chunks, done = _events(response.content)
    assert done == b"[DONE]"
    parsed = [orjson.loads(chunk) for chunk in chunks]
    for chunk in parsed:
        keys = ["choices", "created", "id", "model", "system_fingerprint", "object"]
        assert list(chunk) == keys
        assert chunk["object"] == "chat.completion.chunk"
    assert parsed[0]["choices"] == [
        {"finish_reason": None, "index": 0, "delta": {"role": "assistant", "content": None}}
    ]
    assert [c["choices"][0]["delta"] for c in parsed[1:-1]] == [
        {"content": "This"},
        {"content": " is"},
    ]
    assert parsed[-1]["choices"] == [{"finish_reason": "length", "index": 0, "delta": {}}]
    assert len({c["id"] for c in parsed}) == 1  # no usage event: include_usage was not asked


def test_chat_non_stream_field_order_matches_the_capture(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    request = {"model": "sim-chat", "messages": MESSAGES}
    response = http.post(openai_sim.url + "/v1/chat/completions", json=request)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = orjson.loads(response.content)
    keys = ["choices", "created", "model", "system_fingerprint", "object", "usage", "id"]
    assert list(body) == keys


def test_completions_whole_and_streamed(client: openai.OpenAI) -> None:
    whole = client.completions.create(model="sim-chat", prompt="Once upon a time", max_tokens=5)
    assert whole.object == "text_completion"
    assert whole.choices[0].text == REPLY.reply(5).text
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == 4

    chunks = list(
        client.completions.create(
            model="sim-chat",
            prompt="Once upon a time",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *texts, last, usage = chunks
    assert "".join(c.choices[0].text for c in texts) == REPLY.reply().text
    assert last.choices[0].text == ""
    assert last.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage is not None
    assert usage.usage.completion_tokens == REPLY.reply_tokens


def test_completions_count_token_id_prompts(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="sim-chat", prompt=[[1, 2, 3], [4, 5]], max_tokens=1)
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == 5


def test_unknown_model_is_openai_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-nope", messages=MESSAGES)
    assert caught.value.code == "model_not_found"
    assert "gpt-nope" in caught.value.message


def test_wrong_api_key_is_openai_401(openai_sim: ServerThread) -> None:
    with (
        openai.OpenAI(base_url=openai_sim.url + "/v1", api_key="wrong", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.models.list()
    assert caught.value.code == "invalid_api_key"
    assert openai_sim.journal.last.headers["authorization"] == "Bearer wrong"


def test_missing_field_is_the_llamacpp_400(openai_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(openai_sim.url + "/v1/chat/completions", json={"model": "sim-chat"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": 400,
            "message": "Expected 'messages' to be an array",
            "type": "invalid_request_error",
        }
    }


@pytest.mark.parametrize("body", [b"{no", b"[1, 2]", b""])
def test_malformed_json_is_openai_400(
    openai_sim: ServerThread, http: httpx.Client, body: bytes
) -> None:
    response = http.post(openai_sim.url + "/v1/chat/completions", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("We could not parse the JSON body")


def test_bad_max_tokens_is_400(openai_sim: ServerThread, http: httpx.Client) -> None:
    request = {"model": "sim-chat", "messages": MESSAGES, "max_tokens": -1}
    response = http.post(openai_sim.url + "/v1/chat/completions", json=request)
    assert response.status_code == 400
    assert "'max_tokens'" in response.json()["error"]["message"]
