"""The Ollama adapter as the pipeline uses it: prepare, translator, translate_error."""

from __future__ import annotations

import orjson
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from jairouter.adapters.ollama import OllamaAdapter
from jairouter.adapters.ollama_stream import ChatStream, CompletionStream
from jairouter.adapters.rewrite import WholeBody
from jairouter.types import ServiceType

from .conftest import MakeInstance, MakeRequest

CHAT = {"model": "team-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("suffix", ["", "/v1", "/api"])
def test_urls_are_the_native_api(suffix: str, make_instance: MakeInstance) -> None:
    adapter = OllamaAdapter(make_instance("ollama", url="http://10.0.0.7:11434" + suffix))
    assert adapter.urls == {
        ServiceType.CHAT: "http://10.0.0.7:11434/api/chat",
        ServiceType.COMPLETION: "http://10.0.0.7:11434/api/generate",
        ServiceType.EMBEDDING: "http://10.0.0.7:11434/api/embed",
    }


def test_prepare_translates_the_body_for_the_upstream_model(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    inst = make_instance("ollama", upstream_model="llama3.2:3b", api_key="proxy-key")
    call = OllamaAdapter(inst).prepare(make_request("/v1/chat/completions", CHAT))
    assert call.url == "http://10.0.0.5:8000/api/chat"
    assert call.headers == {
        "Content-Type": "application/json",
        "Authorization": "Bearer proxy-key",
        "Accept-Encoding": "identity",
    }
    body = orjson.loads(call.body)
    assert body["model"] == "llama3.2:3b"
    assert body["stream"] is False


def test_without_upstream_model_the_configured_name_is_sent(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    call = OllamaAdapter(make_instance("ollama")).prepare(
        make_request("/v1/embeddings", {"model": "team-model", "input": "x"})
    )
    assert call.url.endswith("/api/embed")
    assert orjson.loads(call.body) == {"model": "team-model", "input": "x"}
    assert "Authorization" not in call.headers


@pytest.mark.parametrize(
    ("path", "stream", "kind"),
    [
        ("/v1/chat/completions", True, ChatStream),
        ("/v1/chat/completions", False, WholeBody),
        ("/v1/completions", True, CompletionStream),
        ("/v1/completions", False, WholeBody),
        ("/v1/embeddings", False, WholeBody),
    ],
)
def test_every_answer_is_translated(
    path: str, stream: bool, kind: type, make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    payload = {"model": "m", "messages": [], "prompt": "p", "input": "i", "stream": stream}
    translator = OllamaAdapter(make_instance("ollama")).translator(make_request(path, payload))
    assert isinstance(translator, kind)
    assert translator.content_type == ("text/event-stream" if stream else "application/json")


def test_a_whole_chat_answer_through_the_adapter(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    translator = OllamaAdapter(make_instance("ollama")).translator(
        make_request("/v1/chat/completions", CHAT)
    )
    answer = (
        b'{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z",'
        b'"message":{"role":"assistant","content":"Hello! How are you today?"},'
        b'"done_reason":"stop","done":true,"total_duration":5191566416,'
        b'"prompt_eval_count":26,"eval_count":298}'
    )
    assert translator.feed(answer[:40]) == b""
    assert translator.feed(answer[40:]) == b""
    parsed = ChatCompletion.model_validate(orjson.loads(translator.finish()))
    assert parsed.choices[0].message.content == "Hello! How are you today?"
    assert parsed.model == "team-model"
    assert parsed.usage is not None
    assert parsed.usage.total_tokens == 324


def test_a_whole_embedding_answer_through_the_adapter(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    req = make_request("/v1/embeddings", {"model": "team-model", "input": ["a"]})
    translator = OllamaAdapter(make_instance("ollama")).translator(req)
    translator.feed(b'{"model":"nomic-embed-text","embeddings":[[0.1,0.2]],"prompt_eval_count":1}')
    parsed = CreateEmbeddingResponse.model_validate(orjson.loads(translator.finish()))
    assert parsed.data[0].embedding == [0.1, 0.2]
    assert parsed.usage.prompt_tokens == 1


def test_errors_become_openai_errors(make_instance: MakeInstance) -> None:
    adapter = OllamaAdapter(make_instance("ollama"))
    out = orjson.loads(adapter.translate_error(404, b'{"error":"model \\"llama9\\" not found"}'))
    assert out == {
        "error": {
            "message": 'model "llama9" not found',
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


def test_ollama_serves_text_services_only() -> None:
    assert OllamaAdapter.services == {
        ServiceType.CHAT,
        ServiceType.COMPLETION,
        ServiceType.EMBEDDING,
    }
