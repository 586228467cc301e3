from __future__ import annotations

import base64
import math
import struct

from jairouter.simulate.vectors import count_tokens, embed, relevance, to_base64


def test_embeddings_are_deterministic_unit_vectors_of_the_asked_length() -> None:
    vector = embed("why is the sky blue?", 64)
    assert len(vector) == 64
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
    assert embed("why is the sky blue?", 64) == vector
    assert embed("why is the grass green?", 64) != vector


def test_base64_carries_the_same_float32_numbers() -> None:
    vector = embed("hello", 8)
    decoded = struct.unpack("<8f", base64.b64decode(to_base64(vector)))
    assert list(decoded) == vector


def test_relevance_is_the_share_of_query_words_found() -> None:
    assert relevance("red apple", "A RED apple pie") == 1.0
    assert relevance("red apple", "apple") == 0.5
    assert relevance("red apple", "green pear") == 0.0
    assert relevance("", "anything") == 0.0


def test_one_token_per_word() -> None:
    assert count_tokens("  one two\nthree ") == 3
