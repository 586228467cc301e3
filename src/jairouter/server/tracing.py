"""OpenTelemetry tracing: a server span per request, a client span per upstream try.

Imported only when `tracing.enabled` is true (server/observers.py), so a router without the
`otel` extra never loads OpenTelemetry. Spans are started explicitly from their parent (no
contextvars on the hot path). The W3C trace context (`traceparent`, `tracestate`) and `baggage`
a caller sends are read and forwarded upstream by OTel's own propagators.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from jairouter.config.observability import TracingConfig
from jairouter.types import Endpoint, ProxyRequest


def provider_for(config: TracingConfig) -> TracerProvider:
    """An SDK provider exporting over OTLP/HTTP in batches, from a background thread."""
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=config.endpoint)))
    return provider


class Tracing:
    """Starts request spans on `provider`'s tracer; shuts the provider down only if `owned`."""

    def __init__(self, provider: TracerProvider, *, owned: bool) -> None:
        self.provider = provider
        self._owned = owned
        self._tracer = provider.get_tracer("jairouter")
        self._propagator = CompositePropagator(
            [TraceContextTextMapPropagator(), W3CBaggagePropagator()]
        )

    def begin(
        self, endpoint: Endpoint, request_id: str, carrier: Mapping[str, str] | None
    ) -> RequestSpan:
        """The request's span; a child of the caller's span when the `carrier` (its
        `traceparent`, `tracestate`, `baggage` headers) holds a valid `traceparent`."""
        parent = self._propagator.extract(carrier) if carrier is not None else None
        span = self._tracer.start_span(
            f"POST {endpoint.path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "url.path": endpoint.path,
                "jairouter.service": endpoint.service.value,
                "jairouter.request_id": request_id,
            },
        )
        return RequestSpan(self._tracer, self._propagator, span, parent)

    def close(self) -> None:
        """Export what is pending, then stop the exporter's thread (if this router made it)."""
        if self._owned:
            self.provider.shutdown()
        else:
            self.provider.force_flush()


class RequestSpan:
    """One request's span; `attempt` starts its children (pipeline/trace.py `Spans`)."""

    __slots__ = ("_context", "_propagator", "_span", "_tracer", "trace_id")

    def __init__(
        self,
        tracer: Tracer,
        propagator: CompositePropagator,
        span: Span,
        parent: Context | None,
    ) -> None:
        self._tracer = tracer
        self._propagator = propagator
        self._span = span
        # The caller's context (its baggage) with this span in it: what the tries continue.
        self._context = set_span_in_context(span, parent)
        self.trace_id = f"{span.get_span_context().trace_id:032x}"

    def attempt(self, instance: str, number: int) -> AttemptSpan:
        span = self._tracer.start_span(
            f"upstream {instance}",
            context=self._context,
            kind=SpanKind.CLIENT,
            attributes={"jairouter.instance": instance, "jairouter.attempt": number},
        )
        headers: dict[str, str] = {}
        self._propagator.inject(headers, context=set_span_in_context(span, self._context))
        return AttemptSpan(span, headers)

    def end(self, status: int, error: str, req: ProxyRequest | None) -> None:
        span = self._span
        span.set_attribute("http.response.status_code", status)
        if req is not None:
            span.set_attribute("gen_ai.request.model", req.model)
            span.set_attribute("jairouter.stream", req.stream)
        if error:
            span.set_attribute("jairouter.error", error)
        # A 4xx (and a client gone, 499) is the caller's doing: the span stays unset, as OTel's
        # HTTP conventions have it; a 5xx, or a 200 cut short, is the router's.
        if status >= 500 or (error and status < 400):
            _fail(span, error or f"HTTP {status}")
        span.end()


class AttemptSpan:
    """One upstream try's span and the trace context headers that name it upstream:
    `traceparent`, with the caller's `tracestate` (the span keeps it) and `baggage` if any."""

    __slots__ = ("_span", "headers")

    def __init__(self, span: Span, headers: dict[str, str]) -> None:
        self._span = span
        self.headers = headers

    def end(self, status: int | None, error: str | None) -> None:
        if status is not None:
            self._span.set_attribute("http.response.status_code", status)
        if error is not None:
            _fail(self._span, error)
        elif status is not None and status >= 500:
            _fail(self._span, f"HTTP {status}")
        self._span.end()


def _fail(span: Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))
