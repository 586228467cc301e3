"""Which client request ids are kept, and what a made-up one looks like."""

from __future__ import annotations

import re

import pytest

from jairouter.server.request_id import accepted, new_request_id


@pytest.mark.parametrize(
    "given",
    [b"a", b"0f8fad5b-d9cb-469f-a165-70867728950e", b"01ARZ3NDEKTSV4RRFFQ69G5FAV", b"x" * 128],
)
def test_sane_client_ids_are_kept(given: bytes) -> None:
    assert accepted(given) == given.decode()


@pytest.mark.parametrize("given", [None, b"", b"x" * 129, b"two words", b"tab\there", b"caf\xe9"])
def test_other_ids_are_refused(given: bytes | None) -> None:
    assert accepted(given) is None


def test_made_up_ids_are_16_hex_digits_and_differ() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{16}", rid) for rid in ids)
