"""`jairouter top` driven by Pilot against a real router with simulated backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from jairouter.tui.app import TopApp
from jairouter.tui.data import StatusSource
from tests.routers import RouterThread, run_router

FAST = SimSettings(models=("alpha", "beta"), token_delay=0.0, reply_tokens=3)
INTERVAL = 0.1


def config(a: str, b: str) -> Config:
    instances = [
        {"model": "alpha", "url": a},
        {"model": "alpha", "url": b},
        {"model": "beta", "url": b},
    ]
    return Config.model_validate({"services": {"chat": {"instances": instances}}})


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[str, str]]:
    with ServerThread(openai_app(FAST)) as a, ServerThread(openai_app(FAST)) as b:
        yield a.url, b.url


@pytest.fixture
def router(backends: tuple[str, str]) -> Iterator[RouterThread]:
    with run_router(config(*backends)) as router:
        yield router


def top(url: str) -> TopApp:
    return TopApp(StatusSource(url), interval=INTERVAL)


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never reached the expected state")


def column(app: TopApp, key: str) -> list[str]:
    table = app.query_one(DataTable)
    return [str(table.get_cell(row.key, key)) for row in table.ordered_rows]


async def chat(url: str, model: str, times: int) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(times):
            answer = await client.post("/v1/chat/completions", json=body)
            assert answer.status_code == 200


async def test_table_shows_one_row_per_instance(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
        assert sorted(column(app, "model")) == ["alpha", "alpha", "beta"]
        assert set(column(app, "service")) == {"chat"}
        assert set(column(app, "circuit")) == {"closed"}
        header = str(app.query_one("#header", Static).render())
        assert "jairouter" in header
        assert "config generation" in header


async def test_requests_move_the_rates(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
        traffic = asyncio.create_task(chat(router.url, "beta", 30))
        await until(pilot, lambda: _rates(app) and max(_rates(app)) > 0)
        await traffic
        await until(pilot, lambda: requests(app, "beta") == 30)
        assert "req/s" in str(app.query_one("#header", Static).render())


def _rates(app: TopApp) -> list[float]:
    return [float(rate) for rate in column(app, "rps") if rate != "-"]


def requests(app: TopApp, model: str) -> int:
    assert app.frame is not None
    return sum(i.requests for i in app.frame.instances if i.model == model)


async def test_pause_stops_updates(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
        await pilot.press("p")
        await pilot.pause(2 * INTERVAL)
        frozen = app.frame
        await chat(router.url, "alpha", 2)
        await pilot.pause(5 * INTERVAL)
        assert app.frame is frozen
        assert "PAUSED" in str(app.query_one("#header", Static).render())
        await pilot.press("p")
        await until(pilot, lambda: app.frame is not frozen)


async def test_filter_and_sort(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
        await pilot.press("s")  # service -> model, ascending
        assert column(app, "model") == ["alpha", "alpha", "beta"]
        await pilot.press("slash", "b", "e", "t", "a", "enter")
        await until(pilot, lambda: app.query_one(DataTable).row_count == 1)
        assert column(app, "model") == ["beta"]
        await pilot.pause(3 * INTERVAL)  # later polls keep the filter
        assert column(app, "model") == ["beta"]
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace", "escape")
        await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
        await pilot.press("q")


async def test_disconnect_keeps_rows_and_reconnects(backends: tuple[str, str]) -> None:
    with run_router(config(*backends)) as router:
        app = top(router.url)
        async with app.run_test() as pilot:
            await until(pilot, lambda: app.query_one(DataTable).row_count == 3)
            router.server.should_exit = True
            banner = app.query_one("#banner", Static)
            await until(pilot, lambda: banner.has_class("shown"), seconds=15)
            assert "disconnected: " in str(banner.render())
            assert str(banner.render()).endswith(", retrying")
            assert app.query_one(DataTable).row_count == 3
            assert app.query_one(DataTable).has_class("stale")
            with run_router(config(*backends)) as again:
                # the same app keeps polling; a router answering again clears the banner
                gone, app.source = app.source, StatusSource(again.url)
                await gone.aclose()
                await until(pilot, lambda: not banner.has_class("shown"))
                assert not app.query_one(DataTable).has_class("stale")
                assert app.query_one(DataTable).row_count == 3
