"""Load generators: wrk for throughput and latency, a lean Python client for time-to-first-token.

wrk cannot tell when the first SSE event of a stream arrived, so streams also go through
`python bench/load.py`, a raw asyncio-protocol + httptools client on uvloop (no aiohttp: it must
stay far from being the bottleneck, and `run.py` shows how far by running it against the upstream
directly). Both run pinned to the load core and print one JSON result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import httptools
import uvloop

HERE = Path(__file__).resolve().parent
CHAT_PATH = "/v1/chat/completions"
MODEL = "bench-model"
PEER_HEADER = ("X-Forwarded-For", "203.0.113.7")  # exercises trusted-proxy resolution


def request_body(stream: bool, gap_ms: int = 0) -> str:
    """A small realistic chat request; `gap_ms` asks the mock for slow streams (soak)."""
    payload: dict[str, object] = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Say hello and offer to help with the weekly report."},
        ],
        "temperature": 0.2,
        "max_tokens": 64,
        "stream": stream,
    }
    if gap_ms:
        payload["bench_gap_ms"] = gap_ms
    return json.dumps(payload, separators=(",", ":"))


@dataclass(frozen=True)
class Result:
    """One measurement window. Latencies in ms; `ttft_*` only from the Python client."""

    tool: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class LoadError(RuntimeError):
    """A generator failed or saw errors; the figures of that window mean nothing."""


# ---------------------------------------------------------------- wrk


def run_wrk(url: str, body: str, concurrency: int, seconds: float, cpu: str) -> Result:
    """wrk, one thread, `concurrency` keep-alive connections, for `seconds`."""
    cmd = [
        "taskset", "-c", cpu,
        "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
        "-s", str(HERE / "post.lua"), url + CHAT_PATH,
    ]  # fmt: skip
    env = {**os.environ, "BENCH_BODY": body}
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")
    raw = json.loads(line[6:])
    errors = sum(v for k, v in raw.items() if k.startswith("err_"))
    secs = raw["duration_us"] / 1e6
    return Result(
        tool="wrk",
        concurrency=concurrency,
        requests=raw["requests"],
        seconds=secs,
        rps=raw["requests"] / secs,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=errors,
    )


# ---------------------------------------------------------------- Python client


def run_client(
    url: str,
    body: str,
    concurrency: int,
    seconds: float,
    cpu: str,
    *,
    per_conn: int = 0,
    warmup: float = 0.2,
) -> Result:
    """This module's own client in a pinned subprocess (see `main`)."""
    proc = start_client(url, body, concurrency, seconds, cpu, per_conn=per_conn, warmup=warmup)
    return client_result(proc, seconds + 120)


def start_client(
    url: str,
    body: str,
    concurrency: int,
    seconds: float,
    cpu: str,
    *,
    per_conn: int = 0,
    warmup: float = 0.2,
) -> subprocess.Popen[str]:
    """Start the client without waiting for it; `client_result` collects it."""
    cmd = [
        "taskset", "-c", cpu, sys.executable, str(HERE / "load.py"),
        "--url", url, "--body", body, "-c", str(concurrency), "-d", str(seconds),
        "--per-conn", str(per_conn), "--warmup", str(warmup),
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def client_result(proc: subprocess.Popen[str], timeout: float) -> Result:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise LoadError(f"load client still running after {timeout:.0f} s") from None
    except BaseException:  # Ctrl-C or SIGTERM while waiting: take the client down with us
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise LoadError(f"load client failed ({proc.returncode}): {err.strip()[-2000:]}")
    return Result(**json.loads(out.strip().splitlines()[-1]))


class _Conn(asyncio.Protocol):
    """One keep-alive client connection timing each response's first body byte and its end."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.first = 0.0
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's implements it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("server closed the connection"))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, _body: bytes) -> None:
        if not self.first:
            self.first = time.perf_counter()

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def request(self, raw: bytes) -> tuple[float, float, int]:
        """Send one request; (seconds to first body byte, seconds to the end, status)."""
        assert self.transport is not None
        self.first = 0.0
        self.waiter = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        self.transport.write(raw)
        await self.waiter
        end = time.perf_counter()
        return (self.first or end) - start, end - start, self.status


async def _connection(
    host: str,
    port: int,
    raw: bytes,
    window: tuple[float, float],
    per_conn: int,
    samples: list[tuple[float, float]],
    errors: list[int],
) -> None:
    warm_until, deadline = window
    loop = asyncio.get_running_loop()
    try:
        transport, conn = await loop.create_connection(_Conn, host, port)
    except OSError:
        errors[0] += 1
        return
    sent = 0
    try:
        while time.perf_counter() < deadline and (per_conn == 0 or sent < per_conn):
            start = time.perf_counter()
            try:
                ttfb, total, status = await conn.request(raw)
            except (OSError, httptools.HttpParserError):
                errors[0] += 1
                return
            sent += 1
            if status != 200:
                errors[0] += 1
            elif start >= warm_until:
                samples.append((ttfb, total))
    finally:
        transport.close()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def generate(
    url: str, body: str, concurrency: int, seconds: float, per_conn: int, warmup: float
) -> Result:
    """`concurrency` connections, each sending requests back to back until `seconds` pass (or
    `per_conn` requests are done); samples from the first `warmup` seconds are dropped."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    data = body.encode()
    raw = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\n{PEER_HEADER[0]}: {PEER_HEADER[1]}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data
    samples: list[tuple[float, float]] = []
    errors = [0]
    begin = time.perf_counter()
    window = (begin + warmup, begin + warmup + seconds)
    async with asyncio.timeout(warmup + seconds + 90):  # a stuck server cannot hold us forever
        await asyncio.gather(
            *(
                _connection(host, port, raw, window, per_conn, samples, errors)
                for _ in range(concurrency)
            )
        )
    elapsed = max(time.perf_counter() - window[0], 1e-9)
    ttfb = [s[0] * 1000 for s in samples]
    total = [s[1] * 1000 for s in samples]
    return Result(
        tool="pyclient",
        concurrency=concurrency,
        requests=len(samples),
        seconds=elapsed,
        rps=len(samples) / elapsed,
        p50_ms=_percentile(total, 50),
        p90_ms=_percentile(total, 90),
        p99_ms=_percentile(total, 99),
        errors=errors[0],
        ttft_p50_ms=_percentile(ttfb, 50),
        ttft_p99_ms=_percentile(ttfb, 99),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Timed chat-completion load; prints JSON.")
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8080")
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("-d", "--duration", type=float, default=3.0, help="seconds measured")
    parser.add_argument("--per-conn", type=int, default=0, help="requests per connection; 0: any")
    parser.add_argument("--warmup", type=float, default=0.2, help="seconds not measured")
    args = parser.parse_args()
    result = uvloop.run(
        generate(args.url, args.body, args.concurrency, args.duration, args.per_conn, args.warmup)
    )
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
