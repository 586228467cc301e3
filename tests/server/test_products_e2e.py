"""Each product adapter end to end: the openai client / httpx → the real router → a simulated
server speaking that product's wire format (`jairouter.simulate.products`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, relevance
from jairouter.simulate.products import PRODUCTS, Product, product_app
from tests.routers import RouterThread, run_router

DOCS = ["paris is in france", "bananas are yellow", "the capital of france"]
QUERY = "france capital"
ORDER = sorted(range(3), key=lambda i: relevance(QUERY, DOCS[i]), reverse=True)
REPLY = SimSettings(reply_tokens=6).reply()
# Status each product answers for a model it does not serve.
UNKNOWN_MODEL_STATUS: dict[Product, int] = {
    "vllm": 404,
    "gpustack": 404,
    "xinference": 400,
    "localai": 404,
}


def key(product: Product) -> str:
    return f"sk-{product}"


@dataclass
class Products:
    router: RouterThread
    sims: dict[Product, ServerThread]
    client: openai.OpenAI


def _config(sims: dict[Product, ServerThread]) -> Config:
    def instance(product: Product, model: str, url: str) -> dict[str, Any]:
        return {"model": model, "url": url, "adapter": product, "api_key": key(product)}

    chat, rerank = [], []
    for product, sim in sims.items():
        # GPUStack through its legacy prefix: the adapter keeps it for OpenAI routes only.
        url = sim.url + ("/v1-openai" if product == "gpustack" else "")
        chat += [
            instance(product, f"{product}-chat", url),
            instance(product, f"{product}-ghost", url),
        ]
        rerank.append(instance(product, f"{product}-rerank", url))
    return Config.model_validate(
        {"services": {"chat": {"instances": chat}, "rerank": {"instances": rerank}}}
    )


@pytest.fixture(scope="module")
def products() -> Iterator[Products]:
    def sim(product: Product) -> ServerThread:
        settings = SimSettings(
            models=(f"{product}-chat", f"{product}-rerank"),
            token_delay=0,
            reply_tokens=6,
            api_key=key(product),
        )
        return ServerThread(product_app(product, settings))

    with (
        sim("vllm") as vllm,
        sim("gpustack") as gpustack,
        sim("xinference") as xinference,
        sim("localai") as localai,
    ):
        sims: dict[Product, ServerThread] = {
            "vllm": vllm,
            "gpustack": gpustack,
            "xinference": xinference,
            "localai": localai,
        }
        with run_router(_config(sims)) as router:
            client = openai.OpenAI(base_url=router.url + "/v1", api_key="client", max_retries=0)
            yield Products(router, sims, client)
            client.close()


@pytest.fixture
def fresh(products: Products) -> Products:
    for sim in products.sims.values():
        sim.journal.clear()
    return products


@pytest.mark.parametrize("product", PRODUCTS)
def test_chat_whole_and_streamed_with_the_products_key(product: Product, fresh: Products) -> None:
    model = f"{product}-chat"
    reply = fresh.client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.choices[0].message.content == REPLY.text
    stream = fresh.client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == REPLY.text
    sent = fresh.sims[product].journal.last
    prefix = "/v1-openai" if product == "gpustack" else "/v1"
    assert sent.path == prefix + "/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {key(product)}"


@pytest.mark.parametrize("with_documents", [True, False])
@pytest.mark.parametrize("product", PRODUCTS)
def test_rerank_in_the_routers_shape(
    product: Product, with_documents: bool, fresh: Products
) -> None:
    model = f"{product}-rerank"
    answer = httpx.post(
        fresh.router.url + "/v1/rerank",
        json={
            "model": model,
            "query": QUERY,
            "documents": DOCS,
            "top_n": 2,
            "return_documents": with_documents,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == model
    results = body["results"]
    assert [r["index"] for r in results] == ORDER[:2]
    assert [r["relevance_score"] for r in results] == [relevance(QUERY, DOCS[i]) for i in ORDER[:2]]
    if with_documents:
        assert [r["document"] for r in results] == [{"text": DOCS[i]} for i in ORDER[:2]]
    else:
        assert all("document" not in r for r in results)
    assert body["usage"]["total_tokens"] > 0
    sent = fresh.sims[product].journal.last
    assert sent.path == "/v1/rerank"  # GPUStack's too, though its URL ends in /v1-openai
    assert sent.headers["Authorization"] == f"Bearer {key(product)}"
    if product == "xinference":
        assert sent.json["return_len"] is True


def _openai_error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.mark.parametrize("product", PRODUCTS)
def test_unknown_model_reaches_the_client_as_an_openai_error(
    product: Product, fresh: Products
) -> None:
    status = UNKNOWN_MODEL_STATUS[product]
    error_class = openai.NotFoundError if status == 404 else openai.BadRequestError
    with pytest.raises(error_class):
        fresh.client.chat.completions.create(model=f"{product}-ghost", messages=[])
    answer = httpx.post(
        fresh.router.url + "/v1/chat/completions",
        json={"model": f"{product}-ghost", "messages": []},
    )
    assert answer.status_code == status
    error = _openai_error(answer)
    assert f"{product}-ghost" in error["message"]
    if product in ("vllm", "xinference"):  # rebuilt by the router, which marks the model
        assert error["code"] == "model_not_found"
        assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("product", PRODUCTS)
def test_bad_request_reaches_the_client_as_an_openai_error(
    product: Product, fresh: Products
) -> None:
    answer = httpx.post(
        fresh.router.url + "/v1/chat/completions",
        json={"model": f"{product}-chat", "messages": "not a list"},
    )
    assert answer.status_code == 400, answer.text
    assert _openai_error(answer)["message"] == "Expected 'messages' to be an array"
    assert fresh.sims[product].journal.last.status == 400  # the product said it, not the router
    with pytest.raises(openai.BadRequestError, match="Expected 'messages' to be an array"):
        fresh.client.chat.completions.create(model=f"{product}-chat", messages="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("product", PRODUCTS)
def test_bad_rerank_request_reaches_the_client_as_an_openai_error(
    product: Product, fresh: Products
) -> None:
    answer = httpx.post(
        fresh.router.url + "/v1/rerank",
        json={"model": f"{product}-rerank", "query": QUERY, "documents": DOCS, "top_n": "two"},
    )
    assert answer.status_code == 400, answer.text
    error = _openai_error(answer)
    assert error["message"] == "Expected 'top_n' to be a non-negative integer"
    assert error["type"] in ("invalid_request_error", "Bad Request", "")
