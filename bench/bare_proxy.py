"""The floor jairouter is measured against: the fastest proxy PERFORMANCE-NOTES found, no routing.

A raw ASGI handler on uvicorn (uvloop, httptools) and one shared aiohttp session, round robin
over the mock's instances, the body streamed back as it arrives. No limits, breaker, health,
retry, fallback, metrics, header rewriting or error mapping: what is left is the cost every
Python proxy on this stack pays, so `jairouter - bare` is what the pipeline itself costs.

    python bench/bare_proxy.py PORT UPSTREAM_PORT [UPSTREAM_PORT ...]
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import aiohttp
import uvicorn

_SKIP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"date", b"server"})


def make_app(upstream_ports: list[int]) -> Any:
    bases = itertools.cycle([f"http://127.0.0.1:{p}" for p in upstream_ports])
    session: aiohttp.ClientSession | None = None

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal session
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
                    session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
                    await send({"type": "lifespan.startup.complete"})
            if session is not None:
                await session.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert session is not None
        if scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        url = next(bases) + scope["path"]
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as resp:
            headers = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in _SKIP]
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            async for chunk in resp.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    port, *upstreams = (int(a) for a in sys.argv[1:])
    uvicorn.run(
        make_app(upstreams),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
