"""Every error path through the real router, over loopback: the status AND an OpenAI error body.

Router-made errors are `{"error": {"message", "type", "param", "code"}}` with the router's codes;
upstream 4xx/5xx answers keep the upstream's status and say what the upstream said. Faults are
injected with `SimSettings.hook` on a simulated backend that picks its fault from the model name.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import openai
import orjson
import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import Call, ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, run_router
from tests.server.conftest import CHAT, OLLAMA, PUBLIC, Stack

CHAT_BODY = {"model": CHAT, "messages": [{"role": "user", "content": "hi"}]}
SMALL_LIMIT = 4096
STALL_FIRST_BYTE = 0.3

# The faulty backend's models, and what its hook does for each.
DROP = "fault-drop"  # closes the connection without answering
GARBAGE = "fault-garbage"  # answers bytes that are not HTTP
STALL = "fault-stall"  # never answers (the instance allows 0.3 s to the first byte)
OVERLOADED = "fault-overloaded"  # a 503 with a plain-text body
MIDSTREAM = "fault-midstream"  # starts an SSE stream, dies after two events
HALF_EVENT = "fault-half-event"  # the same, but dies in the middle of the third event
CUT_BODY = "fault-cut-body"  # a whole (non-stream) answer cut short of its Content-Length
UNREACHABLE = "unreachable"  # an instance URL on a port nobody listens on
NO_KEY = "no-key"  # backend A without its API key
UNKNOWN_UPSTREAM = "unknown-upstream"  # backend B asked for a model it does not serve

STREAM_CHUNKS = [
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MIDSTREAM,
        "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
    }
    for word in ("Hello", " there")
]
SSE_PREFIX = b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in STREAM_CHUNKS)


# -- fixtures ---------------------------------------------------------------------------------


async def _fault(call: Call) -> web.StreamResponse | None:
    model = (await call.json()).get("model")
    transport = call.request.transport
    assert transport is not None
    if model == DROP:
        transport.close()
    elif model == GARBAGE:
        transport.write(b"this is not an HTTP response\r\n\r\n")
        transport.close()
    elif model == CUT_BODY:
        transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"choices": ['
        )
        transport.close()
    elif model == OVERLOADED:
        return web.Response(status=503, text="overloaded, try again later")
    elif model in (MIDSTREAM, HALF_EVENT):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.enable_chunked_encoding()
        await response.prepare(call.request)
        await response.write(SSE_PREFIX)
        if model == HALF_EVENT:
            await response.write(b'data: {"id": "chatcmpl-1", "obj')
        transport.close()
    elif model != STALL:
        return None
    # Dropped or stalled: wait to be cancelled, which happens when the connection closes.
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def faulty() -> Iterator[ServerThread]:
    models = (DROP, GARBAGE, STALL, OVERLOADED, MIDSTREAM, HALF_EVENT, CUT_BODY)
    settings = SimSettings(models=models, token_delay=0, hook=_fault)
    with ServerThread(openai_app(settings)) as sim:
        yield sim


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def faults(stack: Stack, faulty: ServerThread, closed_port: int) -> Iterator[RouterThread]:
    def on_faulty(model: str, **extra: Any) -> dict[str, Any]:
        return {"model": model, "url": faulty.url, **extra}

    config = Config.model_validate(
        {
            "services": {
                "chat": {
                    "instances": [
                        on_faulty(DROP),
                        on_faulty(GARBAGE),
                        on_faulty(STALL, timeouts={"first_byte": STALL_FIRST_BYTE}),
                        on_faulty(OVERLOADED),
                        on_faulty(MIDSTREAM),
                        on_faulty(HALF_EVENT),
                        on_faulty(CUT_BODY),
                        {"model": UNREACHABLE, "url": f"http://127.0.0.1:{closed_port}"},
                        {"model": NO_KEY, "url": stack.a.url},
                        {"model": UNKNOWN_UPSTREAM, "url": stack.b.url, "upstream_model": "nope"},
                    ]
                }
            }
        }
    )
    with run_router(config) as router:
        yield router


@pytest.fixture(scope="module")
def small(stack: Stack) -> Iterator[RouterThread]:
    """A router that accepts bodies up to SMALL_LIMIT bytes, in front of backend B."""
    config = Config.model_validate(
        {
            "server": {"max_body_size": SMALL_LIMIT},
            "services": {"chat": {"instances": [{"model": CHAT, "url": stack.b.url}]}},
        }
    )
    with run_router(config) as router:
        yield router


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        yield client


@pytest.fixture
def clean(fresh: Stack, faulty: ServerThread) -> Stack:
    faulty.journal.clear()
    return fresh


def error_of(resp: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of an OpenAI error response with `status`, all four keys present."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def assert_untouched(stack: Stack) -> None:
    """No request reached any backend: the router answered by itself."""
    assert [sim.journal.received for sim in (stack.a, stack.b, stack.ollama)] == [0, 0, 0]


# -- 400: bodies the router cannot route --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "param", "says"),
    [
        ("/v1/chat/completions", b'{"model": "chat-model",', None, "not valid JSON"),
        ("/v1/chat/completions", b"", None, "not valid JSON"),
        ("/v1/chat/completions", b'["chat-model"]', None, "must be a JSON object"),
        ("/v1/embeddings", b'"embed-model"', None, "must be a JSON object"),
        ("/v1/embeddings", b"null", None, "must be a JSON object"),
        ("/v1/chat/completions", b'{"messages": []}', "model", "model parameter"),
        ("/v1/completions", b'{"model": 42, "prompt": "x"}', "model", "model parameter"),
        ("/v1/chat/completions", b'{"model": ["chat-model"]}', "model", "model parameter"),
        ("/v1/chat/completions", b'{"model": null}', "model", "model parameter"),
        ("/v1/chat/completions", b'{"model": ""}', "model", "model parameter"),
    ],
    ids=[
        "malformed",
        "empty",
        "array",
        "string",
        "null",
        "missing-model",
        "model-int",
        "model-list",
        "model-null",
        "model-empty",
    ],
)
def test_unroutable_json_is_400(
    clean: Stack, http: httpx.Client, path: str, body: bytes, param: str | None, says: str
) -> None:
    resp = http.post(path, content=body, headers={"content-type": "application/json"})
    error = error_of(resp, 400)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_request"
    assert error["param"] == param
    assert says in error["message"]
    assert_untouched(clean)


WAV = ("speech.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav")


def test_transcription_without_model_is_400(clean: Stack, http: httpx.Client) -> None:
    resp = http.post("/v1/audio/transcriptions", files={"file": WAV}, data={"language": "en"})
    error = error_of(resp, 400)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_request",
        "model",
    )
    assert_untouched(clean)


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        ("application/json", b'{"model": "stt-model"}', "expected a multipart/form-data body"),
        ("multipart/form-data", b"--x\r\n", "has no boundary"),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nstt-model',
            "not terminated by its boundary",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="model"\r\nstt-model\r\n--XyZ--\r\n',
            "no header terminator",
        ),
        ("multipart/form-data; boundary=XyZ", b"model=stt-model", "does not contain its"),
    ],
    ids=["json", "no-boundary", "unterminated", "part-without-headers-end", "no-delimiter"],
)
def test_transcription_with_a_broken_form_is_400(
    clean: Stack, http: httpx.Client, content_type: str, body: bytes, says: str
) -> None:
    resp = http.post(
        "/v1/audio/transcriptions", content=body, headers={"content-type": content_type}
    )
    error = error_of(resp, 400)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_request",
        None,
    )
    assert says in error["message"]
    assert_untouched(clean)


# -- 404 / 405: unknown models, paths and methods ----------------------------------------------


def test_unknown_model_is_404_listing_the_available_ones(clean: Stack, http: httpx.Client) -> None:
    resp = http.post("/v1/chat/completions", json={**CHAT_BODY, "model": "gpt-9"})
    error = error_of(resp, 404)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "model_not_found",
        "model",
    )
    assert "'gpt-9'" in error["message"]
    for model in (CHAT, PUBLIC, OLLAMA):
        assert model in error["message"]
    assert "embed-model" not in error["message"]  # only the chat models are offered
    assert_untouched(clean)


def test_model_of_another_service_is_404_naming_that_service(clean: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        clean.client.chat.completions.create(model="embed-model", messages=[])
    assert caught.value.code == "model_not_found"
    assert "is not a chat model (it serves: embedding)" in caught.value.message
    assert_untouched(clean)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_a_proxied_path_are_405(
    clean: Stack, http: httpx.Client, method: str
) -> None:
    resp = http.request(method, "/v1/chat/completions")
    error = error_of(resp, 405)
    assert resp.headers["allow"] == "POST"
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert "/v1/chat/completions only accepts POST" in error["message"]
    assert_untouched(clean)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/v2/models"), ("POST", "/v1/chat/completion"), ("POST", "/v1/x/y")],
)
def test_unknown_path_is_a_json_404(
    clean: Stack, http: httpx.Client, method: str, path: str
) -> None:
    error = error_of(http.request(method, path, json=CHAT_BODY), 404)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "not_found",
        None,
    )
    assert f"{method} {path}" in error["message"]
    assert_untouched(clean)


def test_wrong_method_on_a_router_path_is_a_json_405(http: httpx.Client) -> None:
    error = error_of(http.post("/v1/models"), 405)
    assert error["type"] == "invalid_request_error"
    assert "POST /v1/models" in error["message"]


def test_a_failing_route_still_answers_an_openai_style_500(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config.model_validate(
        {"services": {"chat": {"instances": [{"model": CHAT, "url": stack.a.url}]}}}
    )
    with run_router(config) as router:

        def broken() -> None:
            raise RuntimeError("a bug in the router")

        monkeypatch.setattr(router.router, "read_metrics", broken)
        error = error_of(httpx.get(router.url + "/metrics"), 500)
    assert error == {
        "message": "internal error in the router",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }


# -- 413: bodies over server.max_body_size ---------------------------------------------------


def _padded_chat(size: int) -> bytes:
    body = orjson.dumps({**CHAT_BODY, "user": ""})
    return body[:-2] + b"x" * (size - len(body)) + body[-2:]


def test_body_with_declared_length_over_the_limit_is_413(stack: Stack, small: RouterThread) -> None:
    stack.b.journal.clear()
    body = _padded_chat(SMALL_LIMIT + 1)
    resp = httpx.post(small.url + "/v1/chat/completions", content=body)
    error = error_of(resp, 413)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "request_too_large",
        None,
    )
    assert f"({SMALL_LIMIT} bytes)" in error["message"]
    assert "server.max_body_size" in error["message"]
    # The same request one byte smaller passes.
    resp = httpx.post(small.url + "/v1/chat/completions", content=_padded_chat(SMALL_LIMIT))
    assert resp.status_code == 200, resp.text
    assert stack.b.journal.received == 1


def test_chunked_body_growing_past_the_limit_is_413(stack: Stack, small: RouterThread) -> None:
    stack.b.journal.clear()
    body = _padded_chat(4 * SMALL_LIMIT)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    with httpx.Client(base_url=small.url, timeout=10) as client:
        request = client.build_request("POST", "/v1/chat/completions", content=chunks())
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        error = error_of(client.send(request), 413)
    assert error["code"] == "request_too_large"
    assert stack.b.journal.received == 0


# -- 502 / 504: upstreams that fail before answering ------------------------------------------


def chat(router: RouterThread, model: str, **extra: Any) -> httpx.Response:
    body = {**CHAT_BODY, "model": model, **extra}
    return httpx.post(router.url + "/v1/chat/completions", json=body, timeout=10)


def test_unreachable_upstream_is_502(faults: RouterThread, closed_port: int) -> None:
    error = error_of(chat(faults, UNREACHABLE), 502)
    assert (error["type"], error["code"], error["param"]) == (
        "upstream_error",
        "upstream_unreachable",
        None,
    )
    assert (
        f"upstream {UNREACHABLE}@http://127.0.0.1:{closed_port} is unreachable"
        in (error["message"])
    )


def test_upstream_dropping_the_connection_is_502(
    faults: RouterThread, faulty: ServerThread
) -> None:
    faulty.journal.clear()
    error = error_of(chat(faults, DROP), 502)
    assert error["type"] == "upstream_error"
    assert error["code"] == "upstream_unreachable"
    assert "closed the connection" in error["message"]
    assert faulty.journal.received == 1


def test_upstream_answering_garbage_is_502(faults: RouterThread) -> None:
    error = error_of(chat(faults, GARBAGE), 502)
    assert (error["type"], error["code"]) == ("upstream_error", "upstream_bad_response")
    assert "sent a broken response" in error["message"]


def test_upstream_slower_than_first_byte_timeout_is_504(
    faults: RouterThread, faulty: ServerThread
) -> None:
    faulty.journal.clear()
    error = error_of(chat(faults, STALL), 504)
    assert (error["type"], error["code"], error["param"]) == (
        "upstream_error",
        "upstream_timeout",
        None,
    )
    assert error["message"] == (
        f"upstream {STALL}@{faulty.url} sent no response within timeouts.first_byte"
    )
    # The router gave up on the upstream request too: the backend saw its client go away.
    faulty.journal.wait_until(lambda j: j.disconnected == 1)
    assert not faulty.journal.last.completed


# -- upstream 4xx / 5xx: relayed with the upstream's own status and body ----------------------


def test_upstream_401_is_relayed(stack: Stack, faults: RouterThread) -> None:
    resp = chat(faults, NO_KEY)
    assert error_of(resp, 401) == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert stack.a.journal.last.status == 401
    client = openai.OpenAI(base_url=faults.url + "/v1", api_key="unused", max_retries=0)
    with client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=NO_KEY, messages=[])


def test_upstream_404_for_its_model_is_relayed(stack: Stack, faults: RouterThread) -> None:
    error = error_of(chat(faults, UNKNOWN_UPSTREAM), 404)
    # The backend's words, about the name it was sent, not the router's own 404.
    assert error["message"] == "The model `nope` does not exist or you do not have access to it."
    assert error["code"] == "model_not_found"
    assert stack.b.journal.last.json["model"] == "nope"


def test_upstream_503_with_a_text_body_keeps_its_status(faults: RouterThread) -> None:
    error = error_of(chat(faults, OVERLOADED), 503)
    assert error["message"] == "overloaded, try again later"
    assert error["type"] == "server_error"


# -- a stream whose upstream dies midway --------------------------------------------------------


def sse_events(raw: bytes) -> list[bytes]:
    """The `data:` payloads of a complete SSE body; fails on anything malformed."""
    assert raw.endswith(b"\n\n"), raw[-200:]
    events = []
    for block in raw[:-2].split(b"\n\n"):
        assert block.startswith(b"data: "), block
        assert b"\n" not in block, block
        events.append(block.removeprefix(b"data: "))
    return events


def stream_words(router: RouterThread, model: str, words: list[str]) -> None:
    """Appends to `words` each word the official client yields for a streamed chat."""
    client = openai.OpenAI(base_url=router.url + "/v1", api_key="unused", max_retries=0)
    with client:
        for chunk in client.chat.completions.create(model=model, messages=[], stream=True):
            words.append(chunk.choices[0].delta.content or "")


@pytest.mark.parametrize(
    "model",
    [
        MIDSTREAM,
        HALF_EVENT,
    ],
)
def test_stream_cut_midway_ends_with_an_error_event(
    faults: RouterThread, faulty: ServerThread, model: str
) -> None:
    faulty.journal.clear()
    body = {**CHAT_BODY, "model": model, "stream": True}
    resp = httpx.post(faults.url + "/v1/chat/completions", json=body, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/event-stream"
    faulty.journal.wait_until(lambda j: j.disconnected == 1)
    # Every complete upstream event arrives intact; a torn one must not reach the client.
    *chunks, last = sse_events(resp.content)
    assert [orjson.loads(c) for c in chunks] == STREAM_CHUNKS
    error = orjson.loads(last)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"], error["param"]) == (
        "upstream_error",
        "upstream_bad_response",
        None,
    )
    assert "failed mid-stream" in error["message"]
    # The official client yields the words that came, then raises the router's error.
    words: list[str] = []
    with pytest.raises(openai.APIError, match="failed mid-stream"):
        stream_words(faults, model, words)
    assert "".join(words) == "Hello there"


def test_whole_answer_cut_midway_breaks_the_client_connection(faults: RouterThread) -> None:
    # The status is sent already: the client must not mistake the partial body for a whole one.
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        chat(faults, CUT_BODY)
    assert chat(faults, NO_KEY).status_code == 401  # and the router carries on


# -- robustness: hostile requests never get a 5xx or a traceback from the router ---------------


class Hostile(NamedTuple):
    status: int | None  # what the router (or uvicorn's HTTP parser, or the upstream) answers
    request: bytes
    half_close: bool = False  # the body is shorter than declared: stop sending to end it


def _post(body: bytes, *headers: str, length: int | None = None, path: str = "") -> bytes:
    head = [
        f"POST {path or '/v1/chat/completions'} HTTP/1.1",
        "Host: router",
        "Connection: close",
        *headers,
    ]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        head.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _json(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


_MESSAGES = CHAT_BODY["messages"]
HOSTILE: dict[str, Hostile] = {
    "empty-body": Hostile(400, _post(b"")),
    "deep-array": Hostile(400, _post(b"[" * 100_000)),
    "deep-value": Hostile(
        400, _post(b'{"model":"chat-model","x":' + b"[" * 50_000 + b"]" * 50_000)
    ),
    "deep-but-parsable": Hostile(
        400, _post(b'{"model":"chat-model","messages":' + b"[" * 500 + b"]" * 500 + b"}")
    ),
    "invalid-utf8": Hostile(400, _post(b'{"model": "chat-\xff\xfe-model", "messages": []}')),
    "invalid-utf8-multipart": Hostile(
        400,
        _post(
            b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\n\xff\xfe\r\n--b--\r\n',
            "Content-Type: multipart/form-data; boundary=b",
            path="/v1/audio/transcriptions",
        ),
    ),
    "raw-nul": Hostile(400, _post(b'{"model": "chat\x00model", "messages": []}')),
    "only-nuls": Hostile(400, _post(b"\x00" * 4096)),
    "escaped-nul": Hostile(404, _post(_json({"model": "chat\x00model", "messages": _MESSAGES}))),
    "1mb-model-name": Hostile(404, _post(_json({"model": "m" * 1_000_000, "messages": _MESSAGES}))),
    "duplicate-keys": Hostile(
        200, _post(b'{"model": "gpt-9", "model": "chat-model", "messages": [], "messages": []}')
    ),
    "stream-yes": Hostile(200, _post(_json({**CHAT_BODY, "stream": "yes"}))),
    "huge-number": Hostile(400, _post(b'{"model": "chat-model", "messages": [], "n": 1e999999}')),
    "non-ascii-model": Hostile(404, _post(_json({"model": "модель-🤖", "messages": _MESSAGES}))),
    "length-too-long": Hostile(None, _post(_json(CHAT_BODY), length=10_000), half_close=True),
    "length-too-short": Hostile(400, _post(_json(CHAT_BODY), length=10)),
    "length-negative": Hostile(400, _post(_json(CHAT_BODY), "Content-Length: -5")),
    "length-not-a-number": Hostile(400, _post(_json(CHAT_BODY), "Content-Length: 12abc")),
    "length-twice": Hostile(
        400, _post(_json(CHAT_BODY), "Content-Length: 5", "Content-Length: 99")
    ),
    "length-and-chunked": Hostile(
        400, _post(b"5\r\nhello\r\n0\r\n\r\n", "Content-Length: 3", "Transfer-Encoding: chunked")
    ),
    "bad-chunk-size": Hostile(
        400, _post(b"ZZ\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked")
    ),
    "crlf-in-model": Hostile(404, _post(_json({"model": "x\r\nX-Injected: yes", "messages": []}))),
    "crlf-in-form-model": Hostile(
        404,
        _post(
            b"--b\r\nContent-Disposition: form-data; "
            b'name="model"\r\n\r\nstt\r\nX-Injected: yes\r\n--b--\r\n',
            "Content-Type: multipart/form-data; boundary=b",
            path="/v1/audio/transcriptions",
        ),
    ),
    "folded-header": Hostile(
        400, _post(_json(CHAT_BODY), "X-Forwarded-For: 1.2.3.4", " X-Injected: 1")
    ),
    "nul-in-header": Hostile(400, _post(_json(CHAT_BODY), "X-Forwarded-For: 1.2.3.4\x00evil")),
    "huge-header": Hostile(200, _post(_json(CHAT_BODY), "X-Junk: " + "j" * 60_000)),
    "huge-boundary": Hostile(
        400,
        _post(
            b"--" + b"b" * 70_000,
            "Content-Type: multipart/form-data; boundary=" + "b" * 70_000,
            path="/v1/audio/transcriptions",
        ),
    ),
    "bare-lf": Hostile(
        400,
        b"POST /v1/chat/completions HTTP/1.1\nHost: r\nConnection: close\n"
        + f"Content-Length: {len(_json(CHAT_BODY))}\n\n".encode()
        + _json(CHAT_BODY),
    ),
    "absolute-uri": Hostile(
        200, _post(_json(CHAT_BODY), path="http://evil.example/v1/chat/completions")
    ),
    "dot-segments": Hostile(
        404, _post(_json(CHAT_BODY), path="/v1/chat/../../v1/chat/completions")
    ),
    "not-http": Hostile(400, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64),
}


def exchange(port: int, case: Hostile) -> tuple[int | None, bytes]:
    """Sends `case` on a fresh connection; the status (None if none came) and the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(case.request)
        if case.half_close:
            sock.shutdown(socket.SHUT_WR)
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    raw = b"".join(received)
    if not raw:
        return None, raw
    status_line = raw.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), raw[:200]
    return int(status_line.split()[1]), raw


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_request_gets_no_5xx_and_no_traceback(stack: Stack, name: str) -> None:
    case = HOSTILE[name]
    status, raw = exchange(stack.router.port, case)
    assert status is None or status < 500, raw[:500]
    assert status == case.status, raw[:500]
    assert b"Traceback" not in raw
    assert b"x-injected" not in raw.split(b"\r\n\r\n", 1)[0].lower()
    # The router keeps serving.
    reply = stack.client.chat.completions.create(model=CHAT, messages=_MESSAGES)
    assert reply.choices[0].message.content
