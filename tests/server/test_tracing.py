"""OpenTelemetry tracing end to end: spans read from the SDK's in-memory exporter, the
`traceparent` each upstream received read from the simulated server's journal."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from jairouter.config.models import Config
from jairouter.server.observers import Observers, TracingUnavailable, observer_for
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import run_router

MODEL = "traced-model"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def sim() -> Iterator[ServerThread]:
    with ServerThread(openai_app(SimSettings(models=(MODEL,), token_delay=0.0))) as server:
        yield server


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def traced_config(*urls: str) -> Config:
    return Config.model_validate(
        {
            "tracing": {"enabled": True},
            "services": {
                "chat": {
                    "retry": {"attempts": 2, "backoff_base": 0.001, "backoff_max": 0.001},
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                }
            },
        }
    )


def chat(url: str, **headers: str) -> None:
    with openai.OpenAI(
        base_url=url + "/v1", api_key="k", max_retries=0, default_headers=headers
    ) as client:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])


def by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is kind]


def ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


def test_an_incoming_traceparent_is_continued_and_sent_upstream(
    sim: ServerThread, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    caller = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    with run_router(traced_config(sim.url), tracer_provider=provider) as router:
        chat(router.url, traceparent=caller, **{"X-Request-ID": "traced-1"})
    spans = exporter.get_finished_spans()
    [server] = by_kind(spans, SpanKind.SERVER)
    [client] = by_kind(spans, SpanKind.CLIENT)
    assert server.name == "POST /v1/chat/completions"
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN
    assert ids(server)[0] == ids(client)[0] == CALLER_TRACE
    assert client.parent is not None
    assert client.parent.span_id == ids_int(server)
    assert server.attributes is not None
    assert client.attributes is not None
    assert server.attributes["jairouter.request_id"] == "traced-1"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["gen_ai.request.model"] == MODEL
    assert client.attributes["jairouter.instance"] == f"{MODEL}@{sim.url}"
    trace_id, span_id = ids(client)
    assert sim.journal.last.headers["traceparent"] == f"00-{trace_id}-{span_id}-01"


def ids_int(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def test_without_a_traceparent_each_request_starts_a_trace(
    sim: ServerThread, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    with run_router(traced_config(sim.url), tracer_provider=provider) as router:
        chat(router.url)
        chat(router.url)
    servers = by_kind(exporter.get_finished_spans(), SpanKind.SERVER)
    assert [span.parent for span in servers] == [None, None]
    assert len({ids(span)[0] for span in servers}) == 2
    sent = [entry.headers["traceparent"].split("-")[1] for entry in sim.journal.entries]
    assert sent == [ids(span)[0] for span in servers]


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_each_upstream_try_is_a_child_span(
    sim: ServerThread, refused_url: str, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    with run_router(traced_config(refused_url, sim.url), tracer_provider=provider) as router:
        chat(router.url)  # round-robin starts on the refusing instance, then retries
    spans = exporter.get_finished_spans()
    [server] = by_kind(spans, SpanKind.SERVER)
    failed, answered = by_kind(spans, SpanKind.CLIENT)
    assert all(
        span.parent is not None and span.parent.span_id == ids_int(server)
        for span in (failed, answered)
    )
    assert failed.status.status_code is StatusCode.ERROR
    assert "connect" in (failed.status.description or "")
    assert failed.attributes is not None
    assert answered.attributes is not None
    assert (failed.attributes["jairouter.attempt"], answered.attributes["jairouter.attempt"]) == (
        1,
        2,
    )
    assert answered.attributes["http.response.status_code"] == 200
    assert server.status.status_code is StatusCode.UNSET
    assert sim.journal.last.headers["traceparent"].split("-")[2] == ids(answered)[1]


def test_tracing_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "jairouter.server.tracing", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # an import now fails
    with pytest.raises(TracingUnavailable, match=r"pip install 'jairouter\[otel\]'"):
        observer_for(traced_config("http://127.0.0.1:1"), "text")


def test_tracing_off_never_imports_opentelemetry() -> None:
    script = (
        "import asyncio, sys\n"
        "from jairouter.config.models import Config\n"
        "from jairouter.server.app import create_app\n"
        "from jairouter.server.observers import observer_for\n"
        "config = Config.model_validate({'logging': {'access_log': {'output': 'stderr'}}})\n"
        "create_app(config)\n"
        "asyncio.run(observer_for(config, 'json').close())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_reload_turning_tracing_on_without_the_extra_keeps_the_old_observer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    logged = Config.model_validate({"logging": {"access_log": {"output": str(tmp_path / "a")}}})
    traced = logged.model_copy(update={"tracing": traced_config("http://127.0.0.1:1").tracing})
    observers = Observers("json")
    current = observers.start(logged)
    monkeypatch.delitem(sys.modules, "jairouter.server.tracing", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    assert observers.update(logged, traced) is current
    asyncio.run(observers.close())


def test_tracestate_and_baggage_are_forwarded_with_the_traceparent(
    sim: ServerThread, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    caller = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    with run_router(traced_config(sim.url), tracer_provider=provider) as router:
        chat(router.url, traceparent=caller, tracestate="vendor=abc,other=1", baggage="user=42")
        chat(router.url, traceparent=caller)
    with_state, plain = sim.journal.entries
    [first, _] = by_kind(exporter.get_finished_spans(), SpanKind.CLIENT)
    trace_id, span_id = ids(first)
    assert with_state.headers["traceparent"] == f"00-{trace_id}-{span_id}-01"
    assert with_state.headers["tracestate"] == "vendor=abc,other=1"
    assert with_state.headers["baggage"] == "user=42"
    assert "tracestate" not in plain.headers
    assert "baggage" not in plain.headers
