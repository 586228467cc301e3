"""The knobs of a simulated model server, and the deterministic reply it generates from them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import cycle, islice
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from aiohttp import web

    from jairouter.simulate.exchange import Call

RequestHook = Callable[["Call"], Awaitable["web.StreamResponse | None"]]
"""Runs before every handler (after the API key check). Returning a response answers the request
with it instead; returning None lets the simulated product answer. This is the seam for fault
injection (errors, stalls, dropped connections)."""

DEFAULT_WORDS: tuple[str, ...] = (
    "This", "is", "a", "simulated", "reply", "from", "a", "jairouter", "test", "server",
    "and", "every", "word", "is", "one", "token",
)  # fmt: skip


class Reply(NamedTuple):
    """What the simulated model "generates" for one request."""

    tokens: tuple[str, ...]
    finish_reason: Literal["stop", "length"]

    @property
    def text(self) -> str:
        return "".join(self.tokens)


@dataclass(frozen=True)
class SimSettings:
    """How a simulated server behaves. Frozen: build a new app to change behaviour."""

    models: tuple[str, ...] = ("sim-model",)
    """Model names served; any other name gets the product's 404."""
    token_delay: float = 0.02
    """Seconds before each streamed token (and each audio chunk); 0 for benchmarks."""
    reply_tokens: int = 16
    """Tokens in a reply unless the request's max_tokens / num_predict is lower."""
    words: tuple[str, ...] = DEFAULT_WORDS
    """The reply is these words in order, repeated as needed, one token per word."""
    api_key: str | None = None
    """When set, requests must carry `Authorization: Bearer <api_key>` or get a 401."""
    journal_size: int = 100
    """How many recent requests the journal keeps."""
    embedding_dim: int = 32
    """Length of embedding vectors when the request does not ask for `dimensions`."""
    hook: RequestHook | None = field(default=None, compare=False)
    """See `RequestHook`."""

    def __post_init__(self) -> None:
        if not self.models or not all(self.models):
            raise ValueError("models must name at least one model, none empty")
        if self.token_delay < 0:
            raise ValueError("token_delay must be >= 0")
        if self.reply_tokens < 0:
            raise ValueError("reply_tokens must be >= 0")
        if not self.words or not all(self.words):
            raise ValueError("words must hold at least one non-empty word")
        if self.journal_size < 1:
            raise ValueError("journal_size must be >= 1")
        if self.embedding_dim < 1:
            raise ValueError("embedding_dim must be >= 1")

    @cached_property
    def _full_reply(self) -> tuple[str, ...]:
        # Computed once per settings object so a request only slices it.
        words = islice(cycle(self.words), self.reply_tokens)
        return tuple(word if i == 0 else " " + word for i, word in enumerate(words))

    def reply(self, limit: int | None = None) -> Reply:
        """The reply to a request that allows at most `limit` tokens (None: no limit)."""
        if limit is not None and limit < self.reply_tokens:
            return Reply(self._full_reply[: max(limit, 0)], "length")
        return Reply(self._full_reply, "stop")
