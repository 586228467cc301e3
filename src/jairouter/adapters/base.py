"""What every adapter is: one object per configured instance that knows its product's wire format.

An adapter turns a `ProxyRequest` into the upstream call (`prepare`) and, when the product does not
speak OpenAI's format, turns the upstream answer back into OpenAI's (`translator`,
`translate_error`). Adapters never do I/O: the pipeline sends and relays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from jairouter.config.models import InstanceConfig
from jairouter.types import ProxyRequest, ServiceType


class UpstreamCall:
    """Everything needed to send one request upstream."""

    __slots__ = ("body", "headers", "url")

    def __init__(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        self.url = url
        self.headers = headers
        self.body = body


class Translator(Protocol):
    """Rewrites a successful upstream response body into OpenAI's format, incrementally.

    `feed` gets each chunk as it arrives and returns the bytes to send to the client now (possibly
    empty); `finish` returns whatever is left once the upstream body has ended. A non-stream
    translator may buffer in `feed` and emit everything in `finish`.
    """

    content_type: str

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Adapter(Protocol):
    name: ClassVar[str]
    services: ClassVar[frozenset[ServiceType]]
    """Service types this product can serve; config validation rejects the others."""

    def prepare(self, req: ProxyRequest) -> UpstreamCall:
        """URL, headers (auth included) and body for this request on this instance."""
        ...

    def translator(self, req: ProxyRequest) -> Translator | None:
        """None when the upstream's 2xx body is already OpenAI's and is relayed untouched."""
        ...

    def translate_error(self, status: int, body: bytes) -> bytes:
        """The upstream's error body in OpenAI's `{"error": {...}}` shape (unchanged if it is)."""
        ...


class AdapterFactory(Protocol):
    """An adapter class: `factory(instance)` builds the adapter of one configured instance.

    Read-only properties rather than ClassVars, because a class object can only match those.
    """

    @property
    def name(self) -> str: ...

    @property
    def services(self) -> frozenset[ServiceType]: ...

    def __call__(self, instance: InstanceConfig) -> Adapter: ...
