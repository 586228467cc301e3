"""Ollama NDJSON streams as OpenAI's server-sent events, however the bytes are cut."""

from __future__ import annotations

import itertools
import random
from typing import Any

import orjson
import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletionChunk

from jairouter.adapters.ollama_stream import ChatStream, CompletionStream

from .conftest import MakeRequest

STAMP = "2024-07-22T20:33:28.123648Z"


def line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def token(text: str) -> bytes:
    message = {"role": "assistant", "content": text}
    return line({"model": "llama3.2", "created_at": STAMP, "message": message, "done": False})


def done(reason: str = "stop", **message: Any) -> bytes:
    return line(
        {
            "model": "llama3.2",
            "created_at": STAMP,
            "message": {"role": "assistant", "content": "", **message},
            "done": True,
            "done_reason": reason,
            "prompt_eval_count": 26,
            "eval_count": 3,
        }
    )


CHAT_NDJSON = token("Hel") + token("lo") + token(" wörld ✓") + done()


def events(sse: bytes) -> list[Any]:
    """The `data:` payloads of an SSE body, parsed; `[DONE]` stays a string."""
    assert sse.endswith(b"\n\n")
    out: list[Any] = []
    for frame in sse[:-2].split(b"\n\n"):
        assert frame.startswith(b"data: ")
        data = frame[len(b"data: ") :]
        out.append("[DONE]" if data == b"[DONE]" else orjson.loads(data))
    return out


def chat_stream(make_request: MakeRequest, **fields: Any) -> ChatStream:
    payload = {"model": "team-model", "messages": [], "stream": True, **fields}
    return ChatStream(make_request("/v1/chat/completions", payload))


def run(translator: ChatStream | CompletionStream, chunks: list[bytes]) -> bytes:
    return b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids are random; fix them so differently cut streams can be compared byte for byte."""
    monkeypatch.setattr("secrets.token_hex", lambda n: "ab" * n)


def test_chat_stream_frames_as_openai_does(make_request: MakeRequest) -> None:
    translator = chat_stream(make_request)
    assert translator.content_type == "text/event-stream"
    out = events(run(translator, [CHAT_NDJSON]))
    assert out[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(e) for e in out[:-1]]
    assert {c.id for c in chunks} == {"chatcmpl-" + "ab" * 12}
    assert {c.created for c in chunks} == {1721680408}
    assert {c.model for c in chunks} == {"team-model"}
    deltas = [(c.choices[0].delta.role, c.choices[0].delta.content) for c in chunks]
    assert deltas == [
        ("assistant", ""),
        (None, "Hel"),
        (None, "lo"),
        (None, " wörld ✓"),
        (None, None),
    ]
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, None, "stop"]
    assert all("usage" not in e for e in out[:-1])


def test_usage_chunk_when_the_client_asked_for_it(make_request: MakeRequest) -> None:
    out = events(
        run(chat_stream(make_request, stream_options={"include_usage": True}), [CHAT_NDJSON])
    )
    *chunks, usage_chunk, end = out
    assert end == "[DONE]"
    assert all(c["usage"] is None for c in chunks)  # as OpenAI marks every other chunk
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 26, "completion_tokens": 3, "total_tokens": 29}
    assert ChatCompletionChunk.model_validate(usage_chunk).usage is not None


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def test_any_cut_of_the_bytes_gives_the_same_events(make_request: MakeRequest) -> None:
    whole = run(chat_stream(make_request), [CHAT_NDJSON])
    for cut in range(1, len(CHAT_NDJSON)):  # every two-piece cut, mid-UTF-8 included
        assert run(chat_stream(make_request), split_at(CHAT_NDJSON, [cut])) == whole
    byte_by_byte = [CHAT_NDJSON[i : i + 1] for i in range(len(CHAT_NDJSON))]
    assert run(chat_stream(make_request), byte_by_byte) == whole
    rng = random.Random(7)
    for _ in range(50):
        cuts = rng.sample(range(1, len(CHAT_NDJSON)), rng.randint(2, 12))
        assert run(chat_stream(make_request), split_at(CHAT_NDJSON, cuts)) == whole


def test_events_go_out_as_soon_as_their_line_is_complete(make_request: MakeRequest) -> None:
    translator = chat_stream(make_request)
    first = token("Hel")
    assert translator.feed(first[:10]) == b""
    sent = events(translator.feed(first[10:] + token("lo")[:5]))
    assert [e["choices"][0]["delta"] for e in sent] == [
        {"role": "assistant", "content": ""},
        {"content": "Hel"},
    ]


def test_a_last_line_without_newline_still_counts(make_request: MakeRequest) -> None:
    out = events(run(chat_stream(make_request), [token("Hi") + done()[:-1]]))
    assert out[-2]["choices"][0]["finish_reason"] == "stop"
    assert out[-1] == "[DONE]"


def test_length_finish(make_request: MakeRequest) -> None:
    out = events(run(chat_stream(make_request), [token("Hi") + done("length")]))
    assert out[-2]["choices"][0]["finish_reason"] == "length"


def test_tool_calls_stream_as_one_delta_each(make_request: MakeRequest) -> None:
    calls = [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    more = [{"id": "call_9", "function": {"name": "now", "arguments": {}}}]
    ndjson = token("") + done("stop", tool_calls=calls)[:-1] + b"\n" + done("stop", tool_calls=more)
    out = events(run(chat_stream(make_request, tools=[]), [ndjson]))
    # the second `done` line comes after the stream ended and is ignored
    tool_deltas = [
        e["choices"][0]["delta"] for e in out[:-1] if "tool_calls" in e["choices"][0]["delta"]
    ]
    assert tool_deltas == [
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_" + "ab" * 12,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ]
        }
    ]
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert out[-1] == "[DONE]"


def test_tool_call_indexes_count_across_the_stream(make_request: MakeRequest) -> None:
    first = {"function": {"name": "a", "arguments": {}}}
    second = {"function": {"name": "b", "arguments": {"x": 1}}}
    ndjson = b"".join(
        line({"created_at": STAMP, "message": {"content": "", "tool_calls": [call]}, "done": False})
        for call in (first, second)
    )
    out = events(run(chat_stream(make_request), [ndjson + done()]))
    indexes = [
        call["index"] for e in out[:-1] for call in e["choices"][0]["delta"].get("tool_calls", ())
    ]
    assert indexes == [0, 1]
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_thinking_streams_as_reasoning(make_request: MakeRequest) -> None:
    thought = line(
        {"created_at": STAMP, "message": {"content": "", "thinking": "hmm"}, "done": False}
    )
    out = events(run(chat_stream(make_request), [thought + token("4") + done()]))
    assert [e["choices"][0]["delta"] for e in out[1:3]] == [{"reasoning": "hmm"}, {"content": "4"}]


def test_an_error_mid_stream_ends_it_without_done(make_request: MakeRequest) -> None:
    translator = chat_stream(make_request)
    out = translator.feed(
        token("Hel") + line({"error": "an error was encountered while running the model"})
    )
    later = translator.feed(token("lo") + done())
    assert later == b""
    assert translator.finish() == b""
    parsed = events(out)
    assert parsed[-1] == {
        "error": {
            "message": "an error was encountered while running the model",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    assert "[DONE]" not in parsed


def test_a_malformed_line_ends_the_stream_with_an_error(make_request: MakeRequest) -> None:
    out = events(run(chat_stream(make_request), [token("Hi") + b"{not json\n" + done()]))
    assert out[-1]["error"]["code"] == "upstream_bad_response"
    assert "[DONE]" not in out


def test_a_stream_cut_before_done_ends_with_an_error(make_request: MakeRequest) -> None:
    out = events(run(chat_stream(make_request), [token("Hel"), token("lo")[:7]]))
    assert out[-1]["error"]["code"] == "upstream_bad_response"
    assert "[DONE]" not in out
    assert [e["choices"][0]["delta"].get("content") for e in out[:-1]] == ["", "Hel"]
    at_a_line_end = events(run(chat_stream(make_request), [token("Hel")]))
    assert at_a_line_end[-1]["error"]["code"] == "upstream_bad_response"
    assert "ended before it was complete" in at_a_line_end[-1]["error"]["message"]


def test_blank_lines_are_ignored(make_request: MakeRequest) -> None:
    whole = run(chat_stream(make_request), [CHAT_NDJSON])
    assert run(chat_stream(make_request), [b"\n" + CHAT_NDJSON.replace(b"\n", b"\n\r\n")]) == whole


def generate_line(text: str, **fields: Any) -> bytes:
    return line({"model": "codellama", "created_at": STAMP, "response": text, **fields})


def test_completion_stream(make_request: MakeRequest) -> None:
    payload = {"model": "team-model", "prompt": "def", "stream": True}
    payload["stream_options"] = {"include_usage": True}
    translator = CompletionStream(make_request("/v1/completions", payload))
    ndjson = (
        generate_line(" fib", done=False)
        + generate_line("(n):", done=False)
        + generate_line("", done=True, done_reason="length", prompt_eval_count=4, eval_count=2)
    )
    out = events(run(translator, [ndjson]))
    assert out[-1] == "[DONE]"
    *chunks, usage_chunk = out[:-1]
    # The SDK parses stream chunks without validation: only the last has a finish_reason.
    last = Completion.model_validate(chunks[-1])
    assert last.choices[0].finish_reason == "length"
    assert [c["choices"][0]["text"] for c in chunks] == [" fib", "(n):", ""]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, "length"]
    assert {c["id"] for c in chunks} == {"cmpl-" + "ab" * 12}
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert {c["model"] for c in chunks} == {"team-model"}
    assert {c["created"] for c in chunks} == {1721680408}
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
