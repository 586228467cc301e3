"""Embeddings, rerank, speech, transcription and images through the SDK and on the wire."""

from __future__ import annotations

import base64
import hashlib
import io
import wave

import httpx
import openai
import pytest

from jairouter.simulate import ServerThread, Upload, embed, transcript


def test_embeddings_in_the_sdk_default_base64_encoding(client: openai.OpenAI) -> None:
    answer = client.embeddings.create(model="sim-embed", input=["first text", "second"])
    assert [d.index for d in answer.data] == [0, 1]
    assert answer.data[0].embedding == embed("first text", 32)
    assert answer.data[1].embedding == embed("second", 32)
    assert answer.usage.prompt_tokens == 3


def test_embeddings_as_floats_with_dimensions(client: openai.OpenAI) -> None:
    answer = client.embeddings.create(
        model="sim-embed", input="hello", dimensions=8, encoding_format="float"
    )
    assert answer.data[0].embedding == embed("hello", 8)
    assert answer.model == "sim-embed"


def test_embeddings_reject_a_missing_input(openai_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(openai_sim.url + "/v1/embeddings", json={"model": "sim-embed"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Expected 'input'")


def test_rerank_orders_by_relevance_in_the_jina_cohere_shape(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    request = {
        "model": "sim-chat",
        "query": "red apple",
        "documents": ["green pear", "red apple pie", {"text": "an apple"}],
        "top_n": 2,
    }
    body = http.post(openai_sim.url + "/v1/rerank", json=request).json()
    assert list(body) == ["id", "model", "results", "usage"]
    assert body["results"] == [
        {"index": 1, "relevance_score": 1.0, "document": {"text": "red apple pie"}},
        {"index": 2, "relevance_score": 0.5, "document": {"text": "an apple"}},
    ]
    assert body["usage"]["total_tokens"] > 0


def test_rerank_can_leave_documents_out(openai_sim: ServerThread, http: httpx.Client) -> None:
    request = {
        "model": "sim-chat",
        "query": "x",
        "documents": ["a", "x"],
        "return_documents": False,
    }
    body = http.post(openai_sim.url + "/v1/rerank", json=request).json()
    assert body["results"] == [
        {"index": 1, "relevance_score": 1.0},
        {"index": 0, "relevance_score": 0.0},
    ]


def test_speech_wav_is_streamed_chunked_and_playable(client: openai.OpenAI) -> None:
    with client.audio.speech.with_streaming_response.create(
        model="sim-chat", input="hello there world", voice="alloy", response_format="wav"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["transfer-encoding"] == "chunked"
        audio = response.read()
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getnframes() > 0


@pytest.mark.parametrize(("fmt", "content_type"), [("mp3", "audio/mpeg"), ("pcm", "audio/pcm")])
def test_speech_formats_carry_their_content_type(
    client: openai.OpenAI, fmt: str, content_type: str
) -> None:
    answer = client.audio.speech.create(
        model="sim-chat",
        input="hello",
        voice="alloy",
        response_format=fmt,  # type: ignore[arg-type]
    )
    assert answer.response.headers["content-type"] == content_type
    assert len(answer.content) > 0


def test_speech_rejects_formats_it_cannot_make(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    request = {"model": "sim-chat", "input": "hi", "response_format": "flac"}
    response = http.post(openai_sim.url + "/v1/audio/speech", json=request)
    assert response.status_code == 400


AUDIO = bytes(range(256)) * 40  # binary on purpose: every byte value must survive the upload


def test_transcription_reports_the_upload_it_received(
    client: openai.OpenAI, openai_sim: ServerThread
) -> None:
    answer = client.audio.transcriptions.create(model="sim-chat", file=("talk.wav", AUDIO))
    digest = hashlib.sha256(AUDIO).hexdigest()
    assert answer.text == transcript(Upload("talk.wav", "audio/x-wav", len(AUDIO), digest))
    assert f"{len(AUDIO)} bytes" in answer.text
    assert digest in answer.text
    form = openai_sim.journal.last.form
    assert form["model"] == "sim-chat"
    upload = form["file"]
    assert isinstance(upload, Upload)
    assert (upload.filename, upload.size, upload.sha256) == ("talk.wav", len(AUDIO), digest)


def test_transcription_as_text_is_plain_text(client: openai.OpenAI) -> None:
    answer = client.audio.transcriptions.create(
        model="sim-chat", file=("talk.wav", AUDIO), response_format="text"
    )
    assert isinstance(answer, str)
    assert answer.startswith("Simulated transcript of talk.wav")


def test_transcription_verbose_json_parses(client: openai.OpenAI) -> None:
    answer = client.audio.transcriptions.create(
        model="sim-chat", file=("talk.wav", AUDIO), response_format="verbose_json"
    )
    assert answer.language == "english"
    assert answer.duration > 0


def test_transcription_needs_a_file(openai_sim: ServerThread, http: httpx.Client) -> None:
    response = http.post(
        openai_sim.url + "/v1/audio/transcriptions", files={"model": (None, "sim-chat")}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Expected 'file' to be an uploaded file"


def _png(encoded: str | None) -> bytes:
    assert encoded is not None
    data = base64.b64decode(encoded)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return data


def test_image_generation_as_b64_json(client: openai.OpenAI) -> None:
    answer = client.images.generate(
        model="sim-chat", prompt="a red cat", n=2, size="256x256", response_format="b64_json"
    )
    assert answer.data is not None
    assert len(answer.data) == 2
    image = _png(answer.data[0].b64_json)
    assert b"prompt\x00a red cat" in image
    assert image[16:24] == (256).to_bytes(4, "big") * 2  # IHDR width, height


def test_image_generation_as_url(client: openai.OpenAI) -> None:
    answer = client.images.generate(model="sim-chat", prompt="a cat", size="16x16")
    assert answer.data is not None
    assert answer.data[0].url is not None
    prefix, _, encoded = answer.data[0].url.partition(",")
    assert prefix == "data:image/png;base64"
    _png(encoded)


def test_image_generation_rejects_a_bad_size(openai_sim: ServerThread, http: httpx.Client) -> None:
    request = {"model": "sim-chat", "prompt": "x", "size": "big"}
    response = http.post(openai_sim.url + "/v1/images/generations", json=request)
    assert response.status_code == 400


def test_image_edit_takes_the_upload_and_prompt(
    client: openai.OpenAI, openai_sim: ServerThread
) -> None:
    picture = b"\x89PNG fake image bytes"
    answer = client.images.edit(
        model="sim-chat",
        image=("photo.png", picture, "image/png"),
        prompt="add a hat",
        size="32x32",
        response_format="b64_json",
    )
    assert answer.data is not None
    image = _png(answer.data[0].b64_json)
    assert b"add a hat [edit of photo.png (21 bytes)]" in image
    upload = openai_sim.journal.last.form["image"]
    assert isinstance(upload, Upload)
    assert upload.sha256 == hashlib.sha256(picture).hexdigest()
    assert upload.content_type == "image/png"
