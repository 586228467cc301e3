"""The Ollama-native API: NDJSON streams ending in a done object, its defaults and its errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from jairouter.simulate import ServerThread, SimSettings, embed, ollama_app

REPLY = SimSettings()
CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "why is the sky blue?"}]}
COUNTS = [
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
]


def _lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.content.split(b"\n")
    assert lines.pop() == b""  # every object, the last included, ends with a newline
    return [orjson.loads(line) for line in lines]


def test_chat_streams_by_default_one_object_per_token(
    ollama_sim: ServerThread, http: httpx.Client
) -> None:
    objects = _lines(http.post(ollama_sim.url + "/api/chat", json=CHAT))
    *tokens, final = objects
    assert all(list(o) == ["model", "created_at", "message", "done"] for o in tokens)
    assert all(o["done"] is False and o["model"] == "llama3.2" for o in tokens)
    assert "".join(o["message"]["content"] for o in tokens) == REPLY.reply().text
    assert list(final) == ["model", "created_at", "message", "done_reason", "done", *COUNTS]
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["eval_count"] == REPLY.reply_tokens
    assert final["prompt_eval_count"] == 5
    assert all(final[key] > 0 for key in COUNTS)


def test_chat_stream_false_is_one_object(ollama_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(ollama_sim.url + "/api/chat", json={**CHAT, "stream": False})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["message"] == {"role": "assistant", "content": REPLY.reply().text}
    assert body["done"] is True


def test_num_predict_limits_the_tokens(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {**CHAT, "options": {"num_predict": 3, "temperature": 0}}
    *tokens, final = _lines(http.post(ollama_sim.url + "/api/chat", json=request))
    assert len(tokens) == 3
    assert (final["eval_count"], final["done_reason"]) == (3, "length")


def test_num_predict_minus_one_means_no_limit(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {**CHAT, "options": {"num_predict": -1}, "stream": False}
    assert http.post(ollama_sim.url + "/api/chat", json=request).json()["eval_count"] == 16


def test_chat_accepts_base64_images(ollama_sim: ServerThread, http: httpx.Client) -> None:
    image = base64.b64encode(b"\x89PNG not really").decode()
    message = {"role": "user", "content": "what is this?", "images": [image]}
    request = {"model": "llama3.2", "messages": [message], "stream": False}
    assert http.post(ollama_sim.url + "/api/chat", json=request).status_code == 200
    assert ollama_sim.journal.last.json["messages"][0]["images"] == [image]


def test_chat_rejects_images_that_are_not_base64(
    ollama_sim: ServerThread, http: httpx.Client
) -> None:
    message = {"role": "user", "content": "?", "images": ["not base64!"]}
    response = http.post(ollama_sim.url + "/api/chat", json={**CHAT, "messages": [message]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("illegal base64 data")


def test_generate_streams_responses_then_done(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {"model": "llama3.2", "prompt": "Why?", "options": {"num_predict": 2}}
    *tokens, final = _lines(http.post(ollama_sim.url + "/api/generate", json=request))
    assert [o["response"] for o in tokens] == list(REPLY.reply(2).tokens)
    assert list(final) == ["model", "created_at", "response", "done", "done_reason", *COUNTS]
    assert final["response"] == ""


def test_generate_whole(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {"model": "llama3.2", "prompt": "Why?", "stream": False}
    body = http.post(ollama_sim.url + "/api/generate", json=request).json()
    assert body["response"] == REPLY.reply().text
    assert body["done_reason"] == "stop"


@pytest.mark.parametrize(
    ("path", "request_body"),
    [("/api/generate", {"model": "llama3.2"}), ("/api/chat", {"model": "llama3.2"})],
)
def test_an_empty_prompt_only_loads_the_model(
    ollama_sim: ServerThread, http: httpx.Client, path: str, request_body: dict[str, Any]
) -> None:
    body = http.post(ollama_sim.url + path, json=request_body).json()
    assert (body["done"], body["done_reason"]) == (True, "load")
    assert "eval_count" not in body


def test_tagged_names_match_untagged_models(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {**CHAT, "model": "llama3.2:latest", "stream": False}
    assert (
        http.post(ollama_sim.url + "/api/chat", json=request).json()["model"] == "llama3.2:latest"
    )


def test_unknown_model_is_ollamas_404(ollama_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(ollama_sim.url + "/api/chat", json={**CHAT, "model": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": 'model "x" not found, try pulling it first'}


def test_missing_model_is_400(ollama_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(ollama_sim.url + "/api/generate", json={"prompt": "hi"})
    assert (response.status_code, response.json()) == (400, {"error": "model is required"})


def test_malformed_json_is_400(ollama_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(ollama_sim.url + "/api/chat", content=b"{nope")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_tags_and_version(ollama_sim: ServerThread, http: httpx.Client) -> None:
    (model,) = http.get(ollama_sim.url + "/api/tags").json()["models"]
    assert model["name"] == model["model"] == "llama3.2:latest"
    assert set(model) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert set(http.get(ollama_sim.url + "/api/version").json()) == {"version"}


def test_embed_one_or_many(ollama_sim: ServerThread, http: httpx.Client) -> None:
    url = ollama_sim.url + "/api/embed"
    one = http.post(url, json={"model": "llama3.2", "input": "sky"}).json()
    assert one["embeddings"] == [embed("sky", 32)]
    assert one["prompt_eval_count"] == 1
    many = http.post(url, json={"model": "llama3.2", "input": ["a", "b"], "dimensions": 4}).json()
    assert many["embeddings"] == [embed("a", 4), embed("b", 4)]


def test_legacy_embeddings(ollama_sim: ServerThread, http: httpx.Client) -> None:
    request = {"model": "llama3.2", "prompt": "llamas"}
    body = http.post(ollama_sim.url + "/api/embeddings", json=request).json()
    assert body == {"embedding": embed("llamas", 32)}


def test_api_key_when_configured(http: httpx.Client) -> None:
    settings = SimSettings(models=("llama3.2",), api_key="secret", token_delay=0)
    with ServerThread(ollama_app(settings)) as sim:
        denied = http.get(sim.url + "/api/tags")
        allowed = http.get(sim.url + "/api/tags", headers={"Authorization": "Bearer secret"})
    assert (denied.status_code, denied.json()) == (401, {"error": "unauthorized"})
    assert allowed.status_code == 200
