"""Every proxied endpoint end to end: the official openai client → router → simulated backend."""

from __future__ import annotations

import base64
import hashlib
import io

import httpx
import pytest

from jairouter.simulate import SimSettings, Upload, embed, relevance, transcript
from tests.server.conftest import CHAT, KEY, MODELS, OLLAMA, PUBLIC, UPSTREAM, Stack

REPLY = SimSettings(models=MODELS, reply_tokens=8).reply()


def test_chat_non_stream(fresh: Stack) -> None:
    reply = fresh.client.chat.completions.create(
        model=CHAT, messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.choices[0].message.content == REPLY.text
    assert reply.choices[0].finish_reason == REPLY.finish_reason
    assert reply.usage is not None
    assert reply.usage.completion_tokens == len(REPLY.tokens)


def test_chat_stream_relays_every_chunk(fresh: Stack) -> None:
    stream = fresh.client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY.text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(REPLY.tokens)


def test_requests_spread_over_both_backends(fresh: Stack) -> None:
    for _ in range(4):
        fresh.client.chat.completions.create(model=CHAT, messages=[])
    assert fresh.a.journal.received == 2
    assert fresh.b.journal.received == 2


def test_completions_non_stream_and_stream(fresh: Stack) -> None:
    whole = fresh.client.completions.create(model=CHAT, prompt="Say")
    assert whole.choices[0].text == REPLY.text
    streamed = fresh.client.completions.create(model=CHAT, prompt="Say", stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == REPLY.text


def test_embeddings(fresh: Stack) -> None:
    result = fresh.client.embeddings.create(
        model="embed-model", input=["one", "two"], encoding_format="float"
    )
    assert result.data[0].embedding == pytest.approx(embed("one", 32))
    assert result.data[1].embedding == pytest.approx(embed("two", 32))


def test_rerank(fresh: Stack) -> None:
    docs = ["paris is in france", "bananas are yellow", "the capital of france"]
    answer = httpx.post(
        fresh.url + "/v1/rerank",
        json={"model": "rerank-model", "query": "france capital", "documents": docs, "top_n": 2},
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    expected = sorted(range(3), key=lambda i: relevance("france capital", docs[i]), reverse=True)
    assert [r["index"] for r in results] == expected[:2]


def test_speech_bytes_are_streamed_through(fresh: Stack) -> None:
    with fresh.client.audio.speech.with_streaming_response.create(
        model="tts-model", voice="alloy", input="Hello there", response_format="wav"
    ) as response:
        audio = b"".join(response.iter_bytes())
        assert response.headers["content-type"].startswith("audio/")
    assert audio[:4] == b"RIFF"
    assert len(audio) > 1000


def test_transcription_upload_arrives_intact(fresh: Stack) -> None:
    sound = bytes(range(256)) * 400  # 100 KiB with every byte value, CRLFs included
    text = fresh.client.audio.transcriptions.create(
        model="stt-model", file=("clip.wav", io.BytesIO(sound), "audio/wav")
    ).text
    upload = Upload("clip.wav", "audio/wav", len(sound), hashlib.sha256(sound).hexdigest())
    assert text == transcript(upload)


def test_image_generation_and_edit(fresh: Stack) -> None:
    generated = fresh.client.images.generate(
        model="image-model", prompt="a red square", response_format="b64_json"
    )
    assert generated.data is not None
    assert generated.data[0].b64_json
    png = base64.b64decode(generated.data[0].b64_json)
    assert png.startswith(b"\x89PNG")
    edited = fresh.client.images.edit(
        model="image-model",
        image=("in.png", io.BytesIO(png), "image/png"),
        prompt="make it blue",
        response_format="b64_json",
    )
    assert edited.data is not None
    assert edited.data[0].b64_json


def test_models_lists_every_model_with_its_services(fresh: Stack) -> None:
    listed = httpx.get(fresh.url + "/v1/models").json()
    services = {m["id"]: m["services"] for m in listed["data"]}
    assert services[CHAT] == ["chat", "completion"]
    assert services[OLLAMA] == ["chat", "completion", "embedding"]
    assert services["image-model"] == ["image-generation", "image-edit"]
    assert [m.id for m in fresh.client.models.list()] == list(services)


def test_upstream_model_and_key_sent_and_extras_untouched(fresh: Stack) -> None:
    extras = {
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        ],
        "response_format": {"type": "json_object"},
        "vendor_extra": {"nested": [1, 2, 3]},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                ],
            }
        ],
    }
    answer = httpx.post(
        fresh.url + "/v1/chat/completions",
        json={"model": PUBLIC, **extras},
        headers={"Authorization": "Bearer client-key"},
    )
    assert answer.status_code == 200, answer.text
    sent = fresh.a.journal.last
    assert sent.json == {"model": UPSTREAM, **extras}
    assert sent.headers["Authorization"] == f"Bearer {KEY}"  # the backend's key, not the client's


def test_backend_without_key_gets_no_client_authorization(fresh: Stack) -> None:
    for _ in range(2):
        fresh.client.chat.completions.create(model=CHAT, messages=[])
    assert "Authorization" not in fresh.b.journal.last.headers


def test_upstreams_are_asked_for_uncompressed_answers(fresh: Stack) -> None:
    # The router relays bytes untouched: whatever the client accepts, no instance may compress.
    answer = httpx.post(
        fresh.url + "/v1/chat/completions",
        json={"model": CHAT, "messages": []},
        headers={"Accept-Encoding": "gzip, br"},
    )
    assert answer.status_code == 200, answer.text
    assert fresh.a.journal.last.headers.getall("Accept-Encoding") == ["identity"]


def test_ollama_chat_looks_like_openai(fresh: Stack) -> None:
    reply = fresh.client.chat.completions.create(
        model=OLLAMA, messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert reply.object == "chat.completion"
    assert reply.model == OLLAMA
    assert reply.choices[0].message.content == SimSettings().reply(5).text
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5
    sent = fresh.ollama.journal.last
    assert sent.path == "/api/chat"
    assert sent.json is not None
    assert sent.json["options"]["num_predict"] == 5


def test_ollama_stream_looks_like_openai(fresh: Stack) -> None:
    chunks = list(
        fresh.client.chat.completions.create(
            model=OLLAMA,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == SimSettings(reply_tokens=8).reply().text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8


def test_ollama_completions_and_embeddings(fresh: Stack) -> None:
    text = fresh.client.completions.create(model=OLLAMA, prompt="Say").choices[0].text
    assert text == SimSettings(reply_tokens=8).reply().text
    vectors = fresh.client.embeddings.create(model=OLLAMA, input="x", encoding_format="float")
    assert vectors.data[0].embedding == pytest.approx(embed("x", 32), abs=1e-6)
    assert fresh.ollama.journal.last.path == "/api/embed"
