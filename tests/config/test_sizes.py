"""Sizes in bytes (`server.max_body_size`, `fallback.cache.max_body_size`) take units too."""

from __future__ import annotations

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import parse_config
from jairouter.errors import ConfigError

ADAPTERS = capabilities()


def with_sizes(request_body: str, cached_answer: str) -> str:
    return f"""\
server:
  max_body_size: {request_body}
services:
  embedding:
    fallback:
      cache:
        max_body_size: {cached_answer}
    instances:
      - model: e
        url: http://10.0.0.5:8000
"""


@pytest.mark.parametrize(
    ("written", "size"),
    [("32MiB", 32 * 1024 * 1024), ("512KB", 512_000), ("1.5 KiB", 1536), ("4096", 4096)],
)
def test_sizes_take_a_unit_or_a_byte_count(written: str, size: int) -> None:
    config = parse_config(with_sizes(written, written), "f.yaml", adapters=ADAPTERS, env={})
    cache = config.services["embedding"].fallback
    assert cache is not None
    assert cache.cache is not None
    assert (config.server.max_body_size, cache.cache.max_body_size) == (size, size)


@pytest.mark.parametrize("bad", ["32 megs", "lots", "0", "-1KB"])
def test_a_bad_size_is_reported_at_its_line_with_how_to_write_one(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_sizes("1MiB", bad), "f.yaml", adapters=ADAPTERS, env={})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("f.yaml", 7, 24)
    assert problem.key == "services.embedding.fallback.cache.max_body_size"
    assert "MiB" in (problem.hint or "")  # says how a good size looks
