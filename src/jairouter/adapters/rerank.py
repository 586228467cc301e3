"""Rerank answers rewritten into the router's rerank shape (Jina's / Cohere's):

{"id"?, "model", "results": [{"index", "relevance_score", "document"?: {"text"}}], "usage"?}
"""

from __future__ import annotations

from typing import Any

from jairouter.types import ProxyRequest


def without_documents(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    """The answer minus each result's `document`: for products that return documents even when
    the client sent `return_documents: false`."""
    results = [
        {key: value for key, value in result.items() if key != "document"}
        for result in obj.get("results") or ()
    ]
    return {**obj, "results": results}


def _document(document: Any) -> dict[str, Any] | None:
    if isinstance(document, str):  # some Xinference backends return the bare text
        return {"text": document}
    return document if isinstance(document, dict) else None


def from_cohere_meta(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    """Xinference's Cohere-v1-style answer `{id, results, meta: {tokens}}`: adds the `model`,
    turns `meta.tokens` into `usage` and omits null documents."""
    results = []
    for result in obj.get("results") or ():
        out = {"index": result.get("index"), "relevance_score": result.get("relevance_score")}
        document = _document(result.get("document"))
        if document is not None:
            out["document"] = document
        results.append(out)
    answer: dict[str, Any] = {"model": req.model, "results": results}
    if obj.get("id"):
        answer = {"id": obj["id"], **answer}
    tokens = (obj.get("meta") or {}).get("tokens")
    if isinstance(tokens, dict) and tokens.get("input_tokens") is not None:
        # Its vLLM backend repeats the input count as `output_tokens`; a reranker generates none.
        answer["usage"] = {
            "prompt_tokens": tokens["input_tokens"],
            "total_tokens": tokens["input_tokens"],
        }
    return answer
