"""Rerank answers in the router's shape, whatever the product."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from jairouter.adapters.registry import ADAPTERS
from jairouter.adapters.rerank import from_cohere_meta, without_documents
from jairouter.adapters.xinference import XinferenceAdapter
from jairouter.types import ServiceType

from .conftest import MakeInstance, MakeRequest

RERANK = {"model": "team-model", "query": "capital of France?", "documents": ["Paris", "Rome"]}
ALWAYS_WITH_DOCUMENTS = {  # vLLM's and LocalAI's answer, documents included whatever was asked
    "id": "rerank-1",
    "model": "BAAI/bge-reranker-v2-m3",
    "usage": {"prompt_tokens": 12, "total_tokens": 12},
    "results": [
        {"index": 0, "document": {"text": "Paris"}, "relevance_score": 0.98},
        {"index": 1, "document": {"text": "Rome"}, "relevance_score": 0.02},
    ],
}


def translate(adapter: Any, req: Any, answer: dict[str, Any]) -> dict[str, Any]:
    translator = adapter.translator(req)
    assert translator is not None
    translator.feed(orjson.dumps(answer))
    result: dict[str, Any] = orjson.loads(translator.finish())
    return result


@pytest.mark.parametrize("name", ["vllm", "localai"])
def test_documents_are_dropped_when_the_client_asked_for_none(
    name: str, make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    adapter = ADAPTERS[name](make_instance(name))
    req = make_request("/v1/rerank", {**RERANK, "return_documents": False})
    out = translate(adapter, req, ALWAYS_WITH_DOCUMENTS)
    assert out["results"] == [
        {"index": 0, "relevance_score": 0.98},
        {"index": 1, "relevance_score": 0.02},
    ]
    assert out["usage"] == ALWAYS_WITH_DOCUMENTS["usage"]


@pytest.mark.parametrize("name", ["vllm", "localai", "openai", "gpustack"])
@pytest.mark.parametrize("flag", [{}, {"return_documents": True}])
def test_rerank_is_relayed_untouched_otherwise(
    name: str, flag: dict[str, bool], make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    adapter = ADAPTERS[name](make_instance(name))
    assert adapter.translator(make_request("/v1/rerank", {**RERANK, **flag})) is None


def test_products_that_honour_the_flag_are_relayed_untouched(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    req = make_request("/v1/rerank", {**RERANK, "return_documents": False})
    for name in ("openai", "gpustack"):
        assert ADAPTERS[name](make_instance(name)).translator(req) is None


def test_without_documents_keeps_everything_else(make_request: MakeRequest) -> None:
    req = make_request("/v1/rerank", RERANK)
    out = without_documents(ALWAYS_WITH_DOCUMENTS, req)
    assert {k: v for k, v in out.items() if k != "results"} == {
        k: v for k, v in ALWAYS_WITH_DOCUMENTS.items() if k != "results"
    }


XINFERENCE_ANSWER = {
    "id": "7b1c3f0e",
    "results": [
        {"index": 1, "relevance_score": 0.91, "document": {"text": "Rome"}},
        {"index": 0, "relevance_score": 0.12, "document": "Paris"},
        {"index": 2, "relevance_score": 0.01, "document": None},
    ],
    "meta": {
        "api_version": None,
        "billed_units": None,
        "tokens": {"input_tokens": 31, "output_tokens": 31},
        "warnings": None,
    },
}


def test_xinference_answers_get_model_usage_and_text_documents(make_request: MakeRequest) -> None:
    out = from_cohere_meta(XINFERENCE_ANSWER, make_request("/v1/rerank", RERANK))
    assert out == {
        "id": "7b1c3f0e",
        "model": "team-model",
        "results": [
            {"index": 1, "relevance_score": 0.91, "document": {"text": "Rome"}},
            {"index": 0, "relevance_score": 0.12, "document": {"text": "Paris"}},
            {"index": 2, "relevance_score": 0.01},
        ],
        "usage": {"prompt_tokens": 31, "total_tokens": 31},
    }


def test_xinference_without_token_counts_has_no_usage(make_request: MakeRequest) -> None:
    answer = {**XINFERENCE_ANSWER, "meta": {"tokens": None}}
    out = from_cohere_meta(answer, make_request("/v1/rerank", RERANK))
    assert "usage" not in out


def test_xinference_rerank_asks_for_token_counts(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    adapter = XinferenceAdapter(make_instance("xinference", upstream_model="bge-reranker-v2-m3"))
    req = make_request("/v1/rerank", {**RERANK, "top_n": 1})
    call = adapter.prepare(req)
    assert call.url == "http://10.0.0.5:8000/v1/rerank"
    assert orjson.loads(call.body) == {
        **RERANK,
        "top_n": 1,
        "model": "bge-reranker-v2-m3",
        "return_len": True,
    }
    explicit = make_request("/v1/rerank", {**RERANK, "return_len": False})
    assert orjson.loads(adapter.prepare(explicit).body)["return_len"] is False


def test_xinference_rerank_is_translated_and_chat_is_not(
    make_instance: MakeInstance, make_request: MakeRequest
) -> None:
    adapter = XinferenceAdapter(make_instance("xinference"))
    out = translate(adapter, make_request("/v1/rerank", RERANK), XINFERENCE_ANSWER)
    assert out["model"] == "team-model"
    chat = {"model": "team-model", "messages": [{"role": "user", "content": "hi"}]}
    req = make_request("/v1/chat/completions", chat)
    assert adapter.translator(req) is None
    assert adapter.prepare(req).body is req.body
    assert ServiceType.RERANK in adapter.services
