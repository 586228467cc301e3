"""A fast simulated OpenAI upstream for benchmarks: canned chat JSON and 20-chunk SSE streams.

Deliberately minimal (asyncio protocol + httptools on uvloop) so that it is never what a benchmark
measures. One process listens on several ports, one per simulated instance.

    python bench/upstream.py --instances 4      # prints {"ports": [...]} once listening

A request whose JSON body has `"stream": true` gets an SSE stream: `--chunks` events, then
`data: [DONE]`, each event written with its own send and a yield to the event loop in between
(`"bench_gap_ms": N` in the body spaces them N ms apart, for slow-stream soaks). Anything else gets
one canned chat completion. GET .../models answers a model list (the router's health probes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import cast

import httptools
import orjson
import uvloop

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }
)
JSON_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(COMPLETION)).encode()
    + b"\r\n\r\n"
)
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
MODELS = orjson.dumps({"object": "list", "data": [{"id": "bench-model", "object": "model"}]})
MODELS_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(MODELS)).encode()
    + b"\r\n\r\n"
    + MODELS
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
CHUNK_END = b"0\r\n\r\n"


def sse_event(index: int) -> bytes:
    """One OpenAI chat.completion.chunk event, framed as an HTTP/1.1 chunk."""
    delta = {"role": "assistant", "content": ""} if index == 0 else {"content": f" tok{index}"}
    payload = orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
    )
    return http_chunk(b"data: " + payload + b"\n\n")


def http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


DONE = http_chunk(b"data: [DONE]\n\n") + CHUNK_END


class Upstream(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive, one request at a time."""

    def __init__(self, events: list[bytes]) -> None:
        self.events = events
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but implement it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        assert transport is not None
        body = b"".join(self.body)
        url, self.url, self.body = self.url, b"", []
        if url.endswith(b"/models"):  # the router's health probes
            transport.write(MODELS_RESPONSE)
        elif not url.endswith(b"/chat/completions"):
            transport.write(NOT_FOUND)
        elif b'"stream":true' in body or b'"stream": true' in body:
            gap = _gap_seconds(body)
            asyncio.get_running_loop().create_task(self.stream(transport, gap))
        else:
            transport.write(JSON_HEAD + COMPLETION)

    async def stream(self, transport: asyncio.Transport, gap: float) -> None:
        transport.write(SSE_HEAD + self.events[0])
        for event in self.events[1:]:
            await asyncio.sleep(gap)
            if transport.is_closing():
                return
            transport.write(event)
        await asyncio.sleep(gap)
        if not transport.is_closing():
            transport.write(DONE)


def _gap_seconds(body: bytes) -> float:
    if b"bench_gap_ms" not in body:
        return 0.0
    return float(orjson.loads(body).get("bench_gap_ms", 0)) / 1000


async def serve(instances: int, chunks: int) -> None:
    loop = asyncio.get_running_loop()
    events = [sse_event(i) for i in range(chunks)]
    servers = [
        await loop.create_server(lambda: Upstream(events), "127.0.0.1", 0, backlog=4096)
        for _ in range(instances)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps({"ports": ports}), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4, help="ports to listen on")
    parser.add_argument("--chunks", type=int, default=20, help="SSE events per stream")
    args = parser.parse_args()
    uvloop.run(serve(args.instances, args.chunks))


if __name__ == "__main__":
    main()
