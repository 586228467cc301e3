"""OpenAI-compatible products that differ from OpenAI on the wire: vLLM, GPUStack, Xinference and
LocalAI, each simulated with its own error bodies, rerank shape and paths (docs/adapters.md,
"What was found, with sources").

    with ServerThread(product_app("xinference", SimSettings(token_delay=0))) as sim:
        ...

Chat, completions, embeddings and the media endpoints are the generic server's (`openai_text`,
`openai_media`); only the errors they raise are worded in the product's dialect.

| product | errors | rerank |
| --- | --- | --- |
| vllm | unwrapped `{"object": "error", "message", "type", "param", "code"}` (releases before the `{"error": ...}` wrap); FastAPI `{"detail"}` for no route, `{"error": "Unauthorized"}` for a bad key | `/rerank`, `/v1/rerank`, `/v2/rerank`; no `return_documents`, every result carries its document; `top_n` 0 = all |
| gpustack | `{"code", "reason", "message"}`; its OpenAI routes wrap: `{"error": {"message", "code", "type": reason}}` | `/v1/rerank` only, Jina's shape, `return_documents` honoured; OpenAI routes under `/v1` and `/v1-openai` |
| xinference | FastAPI `{"detail": str}`; 422 with a list `detail` for unparseable JSON; an unknown model is a 400 "Model not found in the model list" | `{id, results: [{index, relevance_score, document \\| null}], meta: {tokens \\| null}}`, no `model`/`usage`; `return_documents` defaults to false; tokens only with `return_len` |
| localai | `{"error": {"code": int, "message", "type"}}` | Jina's shape with `usage: {total_tokens, prompt_tokens}`, no `id`; no `return_documents`, always documents |
"""  # noqa: E501

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Literal

from aiohttp import web

from jairouter.simulate import openai_media as media
from jairouter.simulate.exchange import Call, Handler, Reject, Route, build_app, json_response
from jairouter.simulate.openai_app import ROUTES as OPENAI_ROUTES
from jairouter.simulate.openai_dialect import OPENAI, OpenAIDialect, optional, speaking
from jairouter.simulate.settings import SimSettings

Product = Literal["vllm", "gpustack", "xinference", "localai"]
PRODUCTS: tuple[Product, ...] = ("vllm", "gpustack", "xinference", "localai")

_HTTP_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
}


# -- dialects ---------------------------------------------------------------------------------


class VLLMDialect(OpenAIDialect):
    """vLLM's `ErrorResponse` as sent before it wrapped errors in `{"error": ...}`
    (vllm/entrypoints/openai/protocol.py); FastAPI and the `--api-key` middleware around it."""

    @staticmethod
    def _error(status: int, message: str, kind: str) -> Reject:
        body = {"object": "error", "message": message, "type": kind, "param": None, "code": status}
        return Reject(status, body)

    def unauthorized(self) -> Reject:
        return Reject(401, {"error": "Unauthorized"})

    def bad_json(self, detail: str) -> Reject:
        return self._error(400, f"JSON decode error: {detail}", "BadRequestError")

    def invalid(self, message: str) -> Reject:
        return self._error(400, message, "BadRequestError")

    def no_route(self, method: str, path: str) -> Reject:
        return Reject(404, {"detail": "Not Found"})

    def unknown_model(self, model: str) -> Reject:
        return self._error(404, f"The model `{model}` does not exist.", "NotFoundError")


class GPUStackDialect(OpenAIDialect):
    """GPUStack's own `ErrorResponse {code, reason, message}` (gpustack/api/exceptions.py)."""

    def _error(self, status: int, message: str) -> Reject:
        return Reject(status, {"code": status, "reason": _HTTP_REASONS[status], "message": message})

    def unauthorized(self) -> Reject:
        return self._error(401, "Invalid authentication credentials")

    def bad_json(self, detail: str) -> Reject:
        return self._error(400, f"Invalid JSON body: {detail}")

    def invalid(self, message: str) -> Reject:
        return self._error(400, message)

    def no_route(self, method: str, path: str) -> Reject:
        return self._error(404, "Not Found")

    def unknown_model(self, model: str) -> Reject:
        return self._error(404, f"Model {model} not found")


class GPUStackOpenAIDialect(GPUStackDialect):
    """GPUStack's OpenAI routes: the same errors as `{"error": {"message", "code", "type"}}`."""

    def _error(self, status: int, message: str) -> Reject:
        error = {"message": message, "code": status, "type": _HTTP_REASONS[status]}
        return Reject(status, {"error": error})


class XinferenceDialect(OpenAIDialect):
    """FastAPI's `HTTPException(detail=str)` as Xinference raises it (xinference/api/
    restful_api.py), and FastAPI's own 422 for a body it cannot parse."""

    def unauthorized(self) -> Reject:
        return Reject(401, {"detail": "Invalid credentials"})

    def bad_json(self, detail: str) -> Reject:
        error = {
            "type": "json_invalid",
            "loc": ["body", 0],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": detail},
        }
        return Reject(422, {"detail": [error]})

    def invalid(self, message: str) -> Reject:
        return Reject(400, {"detail": message})

    def no_route(self, method: str, path: str) -> Reject:
        return Reject(404, {"detail": "Not Found"})

    def unknown_model(self, model: str) -> Reject:
        return Reject(400, {"detail": f"Model not found in the model list, uid: {model}"})


class LocalAIDialect(OpenAIDialect):
    """LocalAI's `schema.ErrorResponse` from its fiber error handler: OpenAI's shape with a
    numeric `code` and Go's empty `type` unless one is set (core/schema/openai.go)."""

    @staticmethod
    def _error(status: int, message: str, kind: str = "") -> Reject:
        return Reject(status, {"error": {"code": status, "message": message, "type": kind}})

    def unauthorized(self) -> Reject:
        return self._error(401, "An authentication key is required", "invalid_request_error")

    def bad_json(self, detail: str) -> Reject:
        return self._error(400, f"failed parsing request body: {detail}")

    def invalid(self, message: str) -> Reject:
        return self._error(400, message)

    def no_route(self, method: str, path: str) -> Reject:
        return self._error(404, f"Cannot {method} {path}")

    def unknown_model(self, model: str) -> Reject:
        return self._error(404, f"model {model} not found")


VLLM = VLLMDialect()
GPUSTACK = GPUStackDialect()
GPUSTACK_OPENAI = GPUStackOpenAIDialect()
XINFERENCE = XinferenceDialect()
LOCALAI = LocalAIDialect()


# -- rerank -----------------------------------------------------------------------------------


def _top_n(payload: dict[str, Any], zero_means_all: bool) -> int | None:
    top_n = optional(payload, "top_n", int, "a non-negative integer")
    if top_n is not None and top_n < 0:
        raise OPENAI.invalid("Expected 'top_n' to be a non-negative integer")
    return None if zero_means_all and top_n == 0 else top_n


async def vllm_rerank(call: Call) -> web.StreamResponse:
    """vLLM's `RerankResponse`: `return_documents` is an unknown field (ignored), `top_n` 0 means
    every document, and every result carries its document."""
    payload = await call.json()
    model, query, documents = media.rerank_inputs(call, payload)
    top_n = _top_n(payload, zero_means_all=True)
    results = [
        {"index": index, "document": {"text": documents[index]}, "relevance_score": score}
        for index, score in media.ranked(query, documents)[:top_n]
    ]
    return json_response(
        {
            "id": f"rerank-{uuid.uuid4().hex}",
            "model": model,
            "usage": {"total_tokens": media.rerank_tokens(query, documents)},
            "results": results,
        }
    )


def _jina_rerank(honours_return_documents: bool) -> Handler:
    """Jina's rerank answer `{model, usage, results}` as GPUStack (which honours
    `return_documents`) and LocalAI (which has no such field) send it."""

    async def rerank(call: Call) -> web.StreamResponse:
        payload = await call.json()
        model, query, documents = media.rerank_inputs(call, payload)
        top_n = _top_n(payload, zero_means_all=True)
        with_documents = True
        if honours_return_documents:
            with_documents = optional(payload, "return_documents", bool, "a boolean") is not False
        results = []
        for index, score in media.ranked(query, documents)[:top_n]:
            result: dict[str, Any] = {"index": index}
            if with_documents:
                result["document"] = {"text": documents[index]}
            result["relevance_score"] = score
            results.append(result)
        tokens = media.rerank_tokens(query, documents)
        usage = {"total_tokens": tokens, "prompt_tokens": tokens}
        return json_response({"model": model, "usage": usage, "results": results})

    return rerank


async def xinference_rerank(call: Call) -> web.StreamResponse:
    """Xinference's Cohere-v1-like `Rerank {id, results, meta}`: documents only when asked
    (`null` otherwise), token counts only with `return_len`, repeated as output tokens as its vLLM
    backend does."""
    payload = await call.json()
    _, query, documents = media.rerank_inputs(call, payload)
    top_n = _top_n(payload, zero_means_all=False)
    with_documents = optional(payload, "return_documents", bool, "a boolean") is True
    with_length = optional(payload, "return_len", bool, "a boolean") is True
    results = [
        {
            "index": index,
            "relevance_score": score,
            "document": {"text": documents[index]} if with_documents else None,
        }
        for index, score in media.ranked(query, documents)[:top_n]
    ]
    tokens = media.rerank_tokens(query, documents)
    meta = {
        "api_version": None,
        "billed_units": None,
        "tokens": {"input_tokens": tokens, "output_tokens": tokens} if with_length else None,
        "warnings": None,
    }
    return json_response({"id": str(uuid.uuid4()), "results": results, "meta": meta})


# -- apps -------------------------------------------------------------------------------------


def _speaking(dialect: OpenAIDialect, handler: Handler) -> Handler:
    """`handler` with every error it raises worded by `dialect`."""

    async def handle(call: Call) -> web.StreamResponse:
        call.dialect = dialect
        with speaking(dialect):
            return await handler(call)

    return handle


def _openai_routes(prefix: str = "/v1") -> Iterable[Route]:
    """The generic server's routes but rerank, under `prefix` instead of `/v1`."""
    for method, path, handler in OPENAI_ROUTES:
        if handler is not media.rerank:
            yield method, prefix + path.removeprefix("/v1"), handler


def _in(dialect: OpenAIDialect, routes: Iterable[Route]) -> list[Route]:
    return [(method, path, _speaking(dialect, handler)) for method, path, handler in routes]


def _routes(product: Product) -> tuple[OpenAIDialect, list[Route]]:
    """The dialect for errors outside any route (bad key, no route) and the routes, each already
    speaking its dialect."""
    if product == "vllm":
        reranks = [("POST", path, vllm_rerank) for path in ("/rerank", "/v1/rerank", "/v2/rerank")]
        return VLLM, _in(VLLM, [*_openai_routes(), *reranks])
    if product == "gpustack":
        openai = [*_openai_routes("/v1"), *_openai_routes("/v1-openai")]
        rerank: Route = ("POST", "/v1/rerank", _jina_rerank(honours_return_documents=True))
        return GPUSTACK, [*_in(GPUSTACK_OPENAI, openai), *_in(GPUSTACK, [rerank])]
    if product == "xinference":
        rerank = ("POST", "/v1/rerank", xinference_rerank)
        return XINFERENCE, _in(XINFERENCE, [*_openai_routes(), rerank])
    if product == "localai":
        rerank = ("POST", "/v1/rerank", _jina_rerank(honours_return_documents=False))
        return LOCALAI, _in(LOCALAI, [*_openai_routes(), rerank])
    raise ValueError(f"unknown product {product!r}; expected one of {', '.join(PRODUCTS)}")


def product_app(product: Product, settings: SimSettings | None = None) -> web.Application:
    """A simulated `product` server; its journal is `app[JOURNAL]`."""
    dialect, routes = _routes(product)
    return build_app(settings or SimSettings(), dialect, routes)
