"""The OpenAI-protocol base, checked through every adapter built on it."""

from __future__ import annotations

import orjson
import pytest

from jairouter.adapters.openai import OpenAIAdapter
from jairouter.adapters.registry import ADAPTERS
from jairouter.errors import BadRequest
from jairouter.types import ENDPOINTS, BodyKind, ProxyRequest, ServiceType

from .conftest import MakeInstance, MakeRequest

OPENAI_PROTOCOL = [name for name, f in ADAPTERS.items() if issubclass(f, OpenAIAdapter)]
CHAT = {"model": "team-model", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.25}
BOUNDARY = "----jr7MA4YWxkTrZu0gW"


def multipart_request(
    model: str = "team-model", file: bytes = b"\x00RIFF\xff\r\n--x"
) -> ProxyRequest:
    body = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body += file
    body += (
        f"\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="model"\r\n\r\n'
        f"{model}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="language"\r\n\r\n'
        "en\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    endpoint = ENDPOINTS["/v1/audio/transcriptions"]
    return ProxyRequest(endpoint, body, None, model, False, "127.0.0.1", content_type)


def test_the_openai_protocol_adapters() -> None:
    assert OPENAI_PROTOCOL == ["openai", "vllm", "gpustack", "xinference", "localai"]


@pytest.mark.parametrize("name", OPENAI_PROTOCOL)
@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_urls_append_the_endpoint_path_to_the_server_root(
    name: str, suffix: str, make_instance: MakeInstance
) -> None:
    adapter = ADAPTERS[name](make_instance(name, url="https://gpu-3.lan:8443" + suffix))
    for path, endpoint in ENDPOINTS.items():
        assert adapter.urls[endpoint.service] == "https://gpu-3.lan:8443" + path


def test_a_url_under_a_path_keeps_it(make_instance: MakeInstance) -> None:
    adapter = OpenAIAdapter(make_instance("openai", url="http://gw/team-a/v1/"))
    assert adapter.urls[ServiceType.CHAT] == "http://gw/team-a/v1/chat/completions"


@pytest.mark.parametrize("name", OPENAI_PROTOCOL)
def test_headers_carry_bearer_auth_and_ask_for_no_compression(
    name: str, make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    inst = make_instance(name, api_key="sk-team", headers={"X-Org": "research"})
    call = ADAPTERS[name](inst).prepare(make_request("/v1/chat/completions", CHAT))
    assert call.headers == {
        "X-Org": "research",
        "Content-Type": "application/json",
        "Authorization": "Bearer sk-team",
        "Accept-Encoding": "identity",
    }


def test_no_key_no_authorization(make_instance: MakeInstance, make_request: MakeRequest) -> None:
    call = OpenAIAdapter(make_instance("openai")).prepare(make_request("/v1/embeddings", CHAT))
    assert "Authorization" not in call.headers


def test_the_key_replaces_a_configured_authorization_header(make_instance: MakeInstance) -> None:
    inst = make_instance("openai", api_key="sk-new", headers={"authorization": "Bearer old"})
    headers = OpenAIAdapter(inst).headers
    assert [v for k, v in headers.items() if k.lower() == "authorization"] == ["Bearer sk-new"]


def test_json_headers_are_one_shared_dict(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    adapter = OpenAIAdapter(make_instance("openai"))
    first = adapter.prepare(make_request("/v1/chat/completions", CHAT))
    second = adapter.prepare(make_request("/v1/embeddings", {"model": "team-model", "input": "x"}))
    assert first.headers is second.headers is adapter.headers


def test_json_body_passes_through_untouched_without_a_rename(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    req = make_request("/v1/chat/completions", CHAT)
    assert OpenAIAdapter(make_instance("openai")).prepare(req).body is req.body
    same_name = make_instance("openai", upstream_model="team-model")
    assert OpenAIAdapter(same_name).prepare(req).body is req.body


def test_json_body_renames_the_model_and_keeps_every_other_field(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    payload = {"model": "team-model", **{k: v for k, v in CHAT.items() if k != "model"}}
    payload["stream"] = True
    req = make_request("/v1/chat/completions", payload)
    body = (
        OpenAIAdapter(make_instance("openai", upstream_model="Qwen/Qwen2.5-7B")).prepare(req).body
    )
    sent = orjson.loads(body)
    assert sent == {**payload, "model": "Qwen/Qwen2.5-7B"}
    assert list(sent) == list(payload)  # key order kept
    assert req.payload is not None
    assert req.payload["model"] == "team-model"  # not mutated


def test_multipart_keeps_the_client_content_type(make_instance: MakeInstance) -> None:
    adapter = OpenAIAdapter(make_instance("openai", api_key="k"))
    req = multipart_request()
    call = adapter.prepare(req)
    assert call.headers["Content-Type"] == req.content_type
    assert call.headers["Authorization"] == "Bearer k"
    assert adapter.headers["Content-Type"] == "application/json"  # the shared dict is untouched
    assert call.body is req.body  # nothing to rename: zero-copy


def test_multipart_rename_changes_only_the_model_value(make_instance: MakeInstance) -> None:
    req = multipart_request()
    adapter = OpenAIAdapter(make_instance("openai", upstream_model="whisper-large-v3"))
    body = adapter.prepare(req).body
    old = b'name="model"\r\n\r\nteam-model\r\n'
    new = b'name="model"\r\n\r\nwhisper-large-v3\r\n'
    cut = req.body.index(old)
    assert body == req.body[:cut] + new + req.body[cut + len(old) :]
    assert req.endpoint.body is BodyKind.MULTIPART


def test_a_form_without_its_boundary_is_a_bad_request(make_instance: MakeInstance) -> None:
    req = multipart_request()
    req.content_type = "multipart/form-data"
    adapter = OpenAIAdapter(make_instance("openai", upstream_model="w"))
    with pytest.raises(BadRequest):
        adapter.prepare(req)


@pytest.mark.parametrize("name", OPENAI_PROTOCOL)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
@pytest.mark.parametrize("stream", [False, True])
def test_text_endpoints_are_relayed_untouched(
    name: str, path: str, stream: bool, make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    req = make_request(path, {**CHAT, "stream": stream})
    assert ADAPTERS[name](make_instance(name)).translator(req) is None


@pytest.mark.parametrize("name", OPENAI_PROTOCOL)
def test_openai_error_bodies_are_relayed_byte_for_byte(
    name: str, make_instance: MakeInstance
) -> None:
    # llama.cpp's answer to an invalid `messages`, as captured on the wire.
    body = (
        b'{"error":{"code":400,"message":"Expected \'messages\' to be an array",'
        b'"type":"invalid_request_error"}}'
    )
    assert ADAPTERS[name](make_instance(name)).translate_error(400, body) is body
