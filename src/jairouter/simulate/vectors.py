"""Deterministic stand-ins for model math: embeddings and rerank scores derived from the text.

Same text, same vector, on every server and run, so tests can compute what to expect.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from array import array

_WORD = re.compile(r"\w+")


def count_tokens(text: str) -> int:
    """The simulated tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def embed(text: str, dimensions: int) -> list[float]:
    """A unit-length vector for `text`, its components already rounded to float32.

    Rounding to float32 makes the `float` and `base64` encodings carry identical numbers.
    """
    raw = struct.unpack(f"<{dimensions}h", hashlib.shake_256(text.encode()).digest(2 * dimensions))
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return array("f", (x / norm for x in raw)).tolist()


def to_base64(vector: list[float]) -> str:
    """OpenAI's `encoding_format: base64`: little-endian float32s, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def relevance(query: str, document: str) -> float:
    """Share of the query's distinct words found in the document, from 0.0 to 1.0."""
    wanted = set(_WORD.findall(query.lower()))
    if not wanted:
        return 0.0
    return len(wanted & set(_WORD.findall(document.lower()))) / len(wanted)
