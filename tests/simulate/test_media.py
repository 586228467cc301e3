from __future__ import annotations

import io
import struct
import wave
import zlib

import pytest

from jairouter.simulate.media import SAMPLE_RATE, SECONDS_PER_WORD, png, speech


def test_wav_is_a_playable_mono_16bit_file_a_quarter_second_per_word() -> None:
    audio = b"".join(speech("one two three four", "wav"))
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        assert wav.getnframes() == 4 * SECONDS_PER_WORD * SAMPLE_RATE


def test_pcm_is_the_bare_samples() -> None:
    audio = b"".join(speech("one two", "pcm"))
    assert len(audio) == 2 * SECONDS_PER_WORD * SAMPLE_RATE * 2
    assert not audio.startswith(b"RIFF")


def test_mp3_is_a_run_of_silent_frames_covering_the_text() -> None:
    audio = b"".join(speech("one two three four", "mp3"))
    frames = [audio[i : i + 96] for i in range(0, len(audio), 96)]
    assert all(frame[:4] == b"\xff\xfb\x14\xc0" and len(frame) == 96 for frame in frames)
    assert len(frames) * 1152 / 48_000 >= 4 * SECONDS_PER_WORD


@pytest.mark.parametrize("fmt", ["wav", "pcm", "mp3"])
def test_audio_comes_in_bounded_chunks(fmt: str) -> None:
    chunks = list(speech("word " * 40, fmt, chunk_size=1000))
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + length
    return chunks


def test_png_has_the_size_asked_and_carries_the_prompt() -> None:
    chunks = _png_chunks(png(40, 30, "a red cat"))
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (40, 30)
    assert chunks[b"tEXt"] == b"prompt\x00a red cat"
    assert len(zlib.decompress(chunks[b"IDAT"])) == 30 * (1 + 40 * 3)
    assert chunks[b"IEND"] == b""
