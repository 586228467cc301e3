"""The non-chat OpenAI endpoints: embeddings, rerank (Jina/Cohere shape), speech, transcription,
image generation and image edits. Every answer is derived from the request, so tests can predict
it and check that what they sent arrived intact."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from jairouter.simulate.exchange import Call, json_response
from jairouter.simulate.journal import Upload
from jairouter.simulate.media import SAMPLE_RATE, SPEECH_FORMATS, png, speech
from jairouter.simulate.openai_dialect import OPENAI, optional, required, served_model
from jairouter.simulate.vectors import count_tokens, embed, relevance, to_base64

MAX_IMAGE_SIDE = 4096
MAX_IMAGES = 10


async def embeddings(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model = served_model(call, payload)
    texts = _embedding_inputs(payload.get("input"))
    dimensions = optional(payload, "dimensions", int, "a positive integer")
    if dimensions is not None and dimensions < 1:
        raise OPENAI.invalid("Expected 'dimensions' to be a positive integer")
    encoding = optional(payload, "encoding_format", str, "'float' or 'base64'") or "float"
    if encoding not in ("float", "base64"):
        raise OPENAI.invalid("Expected 'encoding_format' to be 'float' or 'base64'")
    size = dimensions or call.settings.embedding_dim
    data = []
    for index, text in enumerate(texts):
        vector = embed(text, size)
        encoded = to_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_tokens(text) for text in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response({"object": "list", "data": data, "model": model, "usage": usage})


def _embedding_inputs(value: object) -> list[str]:
    """Texts to embed: a string, strings, or token ids (one list, or one list per input)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return [" ".join(map(str, value))]
        if all(isinstance(item, str) for item in value):
            return value
        if all(isinstance(item, list) for item in value):
            return [" ".join(map(str, item)) for item in value]
    raise OPENAI.invalid("Expected 'input' to be a string or a non-empty array")


async def rerank(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model, query, documents = rerank_inputs(call, payload)
    top_n = optional(payload, "top_n", int, "a non-negative integer")
    if top_n is not None and top_n < 0:
        raise OPENAI.invalid("Expected 'top_n' to be a non-negative integer")
    with_documents = optional(payload, "return_documents", bool, "a boolean")
    results = []
    for index, score in ranked(query, documents)[:top_n]:
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if with_documents is not False:
            result["document"] = {"text": documents[index]}
        results.append(result)
    return json_response(
        {
            "id": uuid.uuid4().hex,
            "model": model,
            "results": results,
            "usage": {"total_tokens": rerank_tokens(query, documents)},
        }
    )


def rerank_inputs(call: Call, payload: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """The served model, the query and the documents of a rerank request, checked."""
    model = served_model(call, payload)
    query = required(payload, "query", str, "a string")
    return model, query, _documents(payload.get("documents"))


def ranked(query: str, documents: list[str]) -> list[tuple[int, float]]:
    """`(index, relevance)` of every document, most relevant first."""
    scores = [relevance(query, document) for document in documents]
    # sorted() is stable, so equal scores keep the documents' order.
    return [(i, scores[i]) for i in sorted(range(len(documents)), key=lambda i: -scores[i])]


def rerank_tokens(query: str, documents: list[str]) -> int:
    """Tokens a reranker reads: the query once per document, plus the documents."""
    return count_tokens(query) * len(documents) + sum(count_tokens(d) for d in documents)


def _documents(value: object) -> list[str]:
    """Documents as strings; Jina and Cohere also accept `{"text": ...}` objects."""
    invalid = OPENAI.invalid("Expected 'documents' to be an array of strings")
    if not isinstance(value, list):
        raise invalid
    texts: list[str] = []
    for item in value:
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise invalid
        texts.append(text)
    return texts


async def speech_audio(call: Call) -> web.StreamResponse:
    payload = await call.json()
    served_model(call, payload)
    text = required(payload, "input", str, "a string")
    audio_format = optional(payload, "response_format", str, "a string") or "mp3"
    content_type = SPEECH_FORMATS.get(audio_format)
    if content_type is None:
        formats = ", ".join(SPEECH_FORMATS)
        raise OPENAI.invalid(f"Expected 'response_format' to be one of {formats}")
    return await call.stream(content_type, speech(text, audio_format))


async def transcriptions(call: Call) -> web.StreamResponse:
    form = await call.form()
    served_model(call, form)
    upload = form.get("file")
    if not isinstance(upload, Upload):
        raise OPENAI.invalid("Expected 'file' to be an uploaded file")
    text = transcript(upload)
    answer_format = optional(form, "response_format", str, "a string") or "json"
    if answer_format == "json":
        return json_response({"text": text})
    if answer_format == "text":
        return web.Response(text=text, content_type="text/plain")
    if answer_format == "verbose_json":
        seconds = round(upload.size / (SAMPLE_RATE * 2), 2)
        return json_response(
            {
                "task": "transcribe",
                "language": "english",
                "duration": seconds,
                "text": text,
                "segments": [],
            }
        )
    raise OPENAI.invalid("Expected 'response_format' to be json, text or verbose_json")


def transcript(upload: Upload) -> str:
    """What the simulated speech-to-text "hears": a description of the file it received."""
    return (
        f"Simulated transcript of {upload.filename}: {upload.size} bytes, sha256 {upload.sha256}."
    )


async def image_generations(call: Call) -> web.StreamResponse:
    payload = await call.json()
    served_model(call, payload)
    prompt = required(payload, "prompt", str, "a string")
    return _images(payload, prompt)


async def image_edits(call: Call) -> web.StreamResponse:
    form = await call.form()
    served_model(call, form)
    prompt = required(form, "prompt", str, "a string")
    # The SDK sends one image as `image`, several as `image[]`.
    images = [
        i for key in ("image", "image[]") for i in form.getall(key, []) if isinstance(i, Upload)
    ]
    if not images:
        raise OPENAI.invalid("Expected 'image' to be an uploaded file")
    sources = ", ".join(f"{i.filename} ({i.size} bytes)" for i in images)
    return _images(form, f"{prompt} [edit of {sources}]")


def _images(fields: Mapping[str, Any], text: str) -> web.Response:
    """The images answer; `fields` are JSON values or (for edits) form strings."""
    count = _count(fields.get("n"))
    width, height = _size(fields.get("size"))
    answer_format = fields.get("response_format") or "url"
    if answer_format not in ("url", "b64_json"):
        raise OPENAI.invalid("Expected 'response_format' to be 'url' or 'b64_json'")
    encoded = base64.b64encode(png(width, height, text)).decode()
    # No file store behind the simulator: a data: URL is a URL the client can always open.
    url = "data:image/png;base64," + encoded
    item = {"b64_json": encoded} if answer_format == "b64_json" else {"url": url}
    return json_response({"created": int(time.time()), "data": [item] * count})


def _count(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_IMAGES:
        return value
    raise OPENAI.invalid(f"Expected 'n' to be an integer from 1 to {MAX_IMAGES}")


def _size(value: object) -> tuple[int, int]:
    if value is None or value == "auto":
        return 1024, 1024
    if isinstance(value, str):
        width, _, height = value.partition("x")
        if width.isdigit() and height.isdigit():
            w, h = int(width), int(height)
            if 1 <= w <= MAX_IMAGE_SIDE and 1 <= h <= MAX_IMAGE_SIDE:
                return w, h
    raise OPENAI.invalid("Expected 'size' to be WIDTHxHEIGHT, e.g. 1024x1024")
