"""The product flavours of the simulated OpenAI-compatible server: each product's error bodies,
rerank shape and paths, on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from jairouter.simulate import ServerThread, SimSettings, relevance
from jairouter.simulate.products import PRODUCTS, Product, product_app

KEY = "sk-product"
DOCS = ["paris is in france", "bananas are yellow", "the capital of france"]
QUERY = "france capital"
ORDER = sorted(range(3), key=lambda i: relevance(QUERY, DOCS[i]), reverse=True)


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[Product, ServerThread]]:
    settings = SimSettings(models=("chat", "rerank"), token_delay=0, reply_tokens=4, api_key=KEY)
    with (
        ServerThread(product_app("vllm", settings)) as vllm,
        ServerThread(product_app("gpustack", settings)) as gpustack,
        ServerThread(product_app("xinference", settings)) as xinference,
        ServerThread(product_app("localai", settings)) as localai,
    ):
        yield {"vllm": vllm, "gpustack": gpustack, "xinference": xinference, "localai": localai}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as h:
        yield h


def _rerank(http: httpx.Client, url: str, **extra: Any) -> httpx.Response:
    return http.post(url, json={"model": "rerank", "query": QUERY, "documents": DOCS, **extra})


@pytest.mark.parametrize("product", PRODUCTS)
def test_chat_speaks_openai(product: Product, sims: dict[Product, ServerThread]) -> None:
    prefix = "/v1-openai" if product == "gpustack" else "/v1"
    with openai.OpenAI(base_url=sims[product].url + prefix, api_key=KEY, max_retries=0) as sdk:
        reply = sdk.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "x"}]
        )
        streamed = sdk.chat.completions.create(model="chat", messages=[], stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert reply.choices[0].message.content == text == SimSettings(reply_tokens=4).reply().text


UNKNOWN_MODEL: dict[Product, tuple[int, dict[str, Any]]] = {
    "vllm": (
        404,
        {
            "object": "error",
            "message": "The model `ghost` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        },
    ),
    "gpustack": (
        404,
        {"error": {"message": "Model ghost not found", "code": 404, "type": "Not Found"}},
    ),
    "xinference": (400, {"detail": "Model not found in the model list, uid: ghost"}),
    "localai": (404, {"error": {"code": 404, "message": "model ghost not found", "type": ""}}),
}


@pytest.mark.parametrize("product", PRODUCTS)
def test_unknown_model_in_the_products_shape(
    product: Product, sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    answer = http.post(sims[product].url + "/v1/chat/completions", json={"model": "ghost"})
    assert (answer.status_code, answer.json()) == UNKNOWN_MODEL[product]


BAD_REQUEST: dict[Product, dict[str, Any]] = {
    "vllm": {
        "object": "error",
        "message": "Expected 'messages' to be an array",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    },
    "gpustack": {
        "error": {
            "message": "Expected 'messages' to be an array",
            "code": 400,
            "type": "Bad Request",
        }
    },
    "xinference": {"detail": "Expected 'messages' to be an array"},
    "localai": {
        "error": {"code": 400, "message": "Expected 'messages' to be an array", "type": ""}
    },
}


@pytest.mark.parametrize("product", PRODUCTS)
def test_bad_request_in_the_products_shape(
    product: Product, sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    answer = http.post(sims[product].url + "/v1/chat/completions", json={"model": "chat"})
    assert (answer.status_code, answer.json()) == (400, BAD_REQUEST[product])


def test_each_product_words_its_other_errors(
    sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    vllm, xinference = sims["vllm"].url, sims["xinference"].url
    assert httpx.post(vllm + "/v1/chat/completions", json={}).json() == {"error": "Unauthorized"}
    assert http.get(vllm + "/nowhere").json() == {"detail": "Not Found"}
    broken = http.post(xinference + "/v1/chat/completions", content=b"{")
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["msg"] == "JSON decode error"
    # GPUStack's rerank router is not an OpenAI route: its errors are GPUStack's own shape.
    answer = _rerank(http, sims["gpustack"].url + "/v1/rerank", top_n="two")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 400,
        "reason": "Bad Request",
        "message": "Expected 'top_n' to be a non-negative integer",
    }
    unauthorized = httpx.post(sims["localai"].url + "/v1/rerank", json={})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == 401


@pytest.mark.parametrize("path", ["/rerank", "/v1/rerank", "/v2/rerank"])
def test_vllm_rerank_always_returns_documents(
    path: str, sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    answer = _rerank(http, sims["vllm"].url + path, return_documents=False, top_n=0).json()
    assert set(answer) == {"id", "model", "usage", "results"}
    assert [r["index"] for r in answer["results"]] == ORDER  # top_n 0: all of them
    assert all(r["document"] == {"text": DOCS[r["index"]]} for r in answer["results"])


def test_gpustack_rerank_is_jina_and_honours_return_documents(
    sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    url = sims["gpustack"].url
    answer = _rerank(http, url + "/v1/rerank", top_n=2, return_documents=False).json()
    assert set(answer) == {"model", "usage", "results"}
    assert [r["index"] for r in answer["results"]] == ORDER[:2]
    assert all("document" not in r for r in answer["results"])
    assert "document" in _rerank(http, url + "/v1/rerank").json()["results"][0]
    # Only the OpenAI router lives under the legacy prefix.
    assert _rerank(http, url + "/v1-openai/rerank").json() == {
        "code": 404,
        "reason": "Not Found",
        "message": "Not Found",
    }


def test_xinference_rerank_is_cohere_v1_with_meta(
    sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    url = sims["xinference"].url + "/v1/rerank"
    plain = _rerank(http, url).json()
    assert set(plain) == {"id", "results", "meta"}
    assert [r["document"] for r in plain["results"]] == [None, None, None]
    assert plain["meta"]["tokens"] is None
    full = _rerank(http, url, return_documents=True, return_len=True, top_n=1).json()
    assert full["results"] == [
        {
            "index": ORDER[0],
            "relevance_score": relevance(QUERY, DOCS[ORDER[0]]),
            "document": {"text": DOCS[ORDER[0]]},
        }
    ]
    tokens = full["meta"]["tokens"]
    assert tokens["input_tokens"] == tokens["output_tokens"] > 0


def test_localai_rerank_is_jina_without_return_documents(
    sims: dict[Product, ServerThread], http: httpx.Client
) -> None:
    answer = _rerank(http, sims["localai"].url + "/v1/rerank", return_documents=False).json()
    assert set(answer) == {"model", "usage", "results"}
    assert set(answer["usage"]) == {"total_tokens", "prompt_tokens"}
    assert [r["document"]["text"] for r in answer["results"]] == [DOCS[i] for i in ORDER]


def test_an_unknown_product_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown product"):
        product_app("sglang")  # type: ignore[arg-type]
