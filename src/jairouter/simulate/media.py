"""Real, playable/viewable files made cheaply: speech audio (WAV, raw PCM, MP3) and PNG images.

The bytes are valid for their format so a client or player can open them, but carry no content
worth the CPU: a tone, silence, a solid colour. Costly parts are built once and reused.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from functools import lru_cache

SAMPLE_RATE = 24_000  # OpenAI's `pcm` format: 24 kHz, 16-bit signed little-endian, mono
SECONDS_PER_WORD = 0.25

# One period of a 400 Hz tone at 24 kHz is exactly 60 samples, so periods tile without clicks.
_TONE_PERIOD = struct.pack(
    "<60h", *(round(6000 * math.sin(2 * math.pi * i / 60)) for i in range(60))
)

# A silent MPEG-1 Layer III frame: 32 kbit/s, 48 kHz, mono. With all-zero side information a
# decoder reads no main data and outputs 1152 samples (24 ms) of silence. 144*32000/48000 = 96 B.
_MP3_FRAME = b"\xff\xfb\x14\xc0" + bytes(92)
_MP3_FRAME_SECONDS = 1152 / 48_000

SPEECH_FORMATS: dict[str, str] = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}
"""Speech `response_format`s the simulator can produce, with their content types."""


def speech(text: str, response_format: str, chunk_size: int = 8192) -> Iterator[bytes]:
    """The audio for `text` (a quarter second per word) in chunks of at most `chunk_size`."""
    seconds = max(len(text.split()), 1) * SECONDS_PER_WORD
    if response_format == "mp3":
        audio = _MP3_FRAME * math.ceil(seconds / _MP3_FRAME_SECONDS)
    else:
        periods = round(seconds * SAMPLE_RATE / 60)
        audio = _TONE_PERIOD * periods
        if response_format == "wav":
            audio = _wav_header(len(audio)) + audio
    view = memoryview(audio)
    for start in range(0, len(audio), chunk_size):
        yield bytes(view[start : start + chunk_size])


def _wav_header(data_size: int) -> bytes:
    byte_rate = SAMPLE_RATE * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, byte_rate, 2, 16)
        + b"data"
        + struct.pack("<I", data_size)
    )


def png(width: int, height: int, text: str) -> bytes:
    """A solid-colour PNG of the given size, `text` stored in a tEXt chunk under "prompt"."""
    text_chunk = _chunk(b"tEXt", b"prompt\x00" + text.encode("latin-1", "replace"))
    return _png_frame(width, height) + text_chunk + _png_pixels(width, height) + _PNG_END


@lru_cache(maxsize=16)
def _png_frame(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)


@lru_cache(maxsize=16)
def _png_pixels(width: int, height: int) -> bytes:
    # Compressing a 1024x1024 image takes milliseconds: do it once per size.
    row = b"\x00" + b"\x3c\x78\xc8" * width  # filter byte "none", then RGB pixels
    return _chunk(b"IDAT", zlib.compress(row * height))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_PNG_END = _chunk(b"IEND", b"")
