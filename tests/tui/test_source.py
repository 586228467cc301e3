"""`StatusSource` over real loopback: the router's status stream, polling a router that has
none, refusals and a router that is not there, each as a clear `Disconnected`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import ServerThread
from jairouter.tui.source import ActionFailed, Disconnected, Snapshot, StatusSource
from tests.routers import run_router
from tests.tui.fixed import snapshot

CONFIG = Config.model_validate(
    {"services": {"chat": {"instances": [{"model": "m", "url": "http://127.0.0.1:9"}]}}}
)


async def take(snapshots: AsyncGenerator[Snapshot], count: int) -> list[Snapshot]:
    taken = []
    async with aclosing(snapshots):
        async for item in snapshots:
            taken.append(item)
            if len(taken) == count:
                break
    return taken


async def test_follows_the_status_stream() -> None:
    with run_router(CONFIG) as router:
        source = StatusSource(router.url)
        try:
            taken = await take(source.snapshots(0.1), 3)
        finally:
            await source.aclose()
    assert source.streaming
    assert [s["services"]["chat"][0]["model"] for s in taken] == ["m", "m", "m"]


def older_router() -> web.Application:
    """A router from before the status stream: GET /admin/status only."""

    async def status(_request: web.Request) -> web.Response:
        return web.json_response(snapshot(1))

    app = web.Application()
    app.router.add_get("/admin/status", status)
    return app


async def test_polls_a_router_without_the_stream() -> None:
    with ServerThread(older_router()) as server:
        source = StatusSource(server.url)
        try:
            taken = await take(source.snapshots(0.1), 2)
        finally:
            await source.aclose()
    assert not source.streaming
    assert [s["uptime"] for s in taken] == [snapshot(1)["uptime"]] * 2


async def test_a_refusal_says_to_send_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAIROUTER_ADMIN_TOKEN", "s3cret")
    with run_router(CONFIG) as router:
        source = StatusSource(router.url, token="wrong")
        try:
            with pytest.raises(Disconnected, match=r"set --token or \$JAIROUTER_ADMIN_TOKEN"):
                await take(source.snapshots(0.1), 1)
            with pytest.raises(ActionFailed, match="HTTP 401: the admin API needs"):
                await source.act("/admin/breakers/reset", {"service": "chat"})
        finally:
            await source.aclose()


async def test_no_router_is_a_disconnect() -> None:
    source = StatusSource("http://127.0.0.1:9")
    try:
        with pytest.raises(Disconnected, match="ConnectError"):
            await take(source.snapshots(0.1), 1)
    finally:
        await source.aclose()
