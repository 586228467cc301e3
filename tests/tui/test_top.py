"""`jairouter top` driven by Pilot against a real router with simulated backends: the tables,
rates, pause, filter and sort, details with recent errors, instance actions behind a
confirmation, and a router that goes away and comes back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML
from textual.pilot import Pilot
from textual.widgets import Static

from jairouter.config.models import Config
from jairouter.core.breaker import State
from jairouter.simulate import ServerThread, SimSettings, openai_app
from jairouter.tui.app import INSTANCE_KEYS, TopApp
from jairouter.tui.screens import ConfirmScreen, InstanceScreen
from jairouter.tui.source import StatusSource
from tests.routers import RouterThread, run_router

FAST = SimSettings(models=("alpha", "beta"), token_delay=0.0, reply_tokens=3)
INTERVAL = 0.1
DEAD = "http://127.0.0.1:9"  # discard port: nothing listens, connecting fails at once


def config_text(a: str, b: str) -> str:
    return f"""\
services:
  chat:
    instances:
      - model: alpha
        url: {a}
      - model: alpha
        url: {b}
      - model: beta
        url: {b}
      - model: gamma
        url: {DEAD}
"""


def config(a: str, b: str) -> Config:
    return Config.model_validate(YAML(typ="safe").load(config_text(a, b)))


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[str, str]]:
    with ServerThread(openai_app(FAST)) as a, ServerThread(openai_app(FAST)) as b:
        yield a.url, b.url


@pytest.fixture
def router(backends: tuple[str, str], tmp_path: Path) -> Iterator[RouterThread]:
    # from a file, so the instance actions (config writes) work
    path = tmp_path / "jairouter.yaml"
    path.write_text(config_text(*backends))
    with run_router(config(*backends), config_path=path) as router:
        yield router


def top(url: str) -> TopApp:
    return TopApp(StatusSource(url), interval=INTERVAL)


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never reached the expected state")


def column(app: TopApp, key: str, table: str = "instances") -> list[str]:
    rows = app.instances if table == "instances" else app.services
    return [str(rows.get_cell(row.key, key)) for row in rows.ordered_rows]


def header(app: TopApp) -> str:
    return str(app.header.render())


async def listed(app: TopApp, pilot: Pilot[None], rows: int = 4) -> None:
    await until(pilot, lambda: app.instances.row_count == rows)


async def chat(url: str, model: str, times: int, stream: bool = False) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(times):
            answer = await client.post("/v1/chat/completions", json=body)
            assert answer.status_code == (502 if model == "gamma" else 200)


async def test_tables_show_instances_and_services(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test(size=(200, 40)) as pilot:
        await listed(app, pilot)
        assert sorted(column(app, "model")) == ["alpha", "alpha", "beta", "gamma"]
        assert set(column(app, "circuit")) == {"● closed"}
        assert column(app, "service", "services") == ["chat"]
        assert column(app, "strategy", "services") == ["round-robin"]
        assert column(app, "serving", "services") == ["4/4"]
        assert "jairouter" in header(app)
        assert "config v" in header(app)


async def test_requests_move_the_rates_and_latencies(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test(size=(200, 40)) as pilot:
        await listed(app, pilot)
        # Traffic goes on until a rate shows: a burst could fall between two refreshes.
        sent = 0
        while not (_rates(app) and max(_rates(app)) > 0):
            assert sent < 1000, "no rate ever showed"
            await chat(router.url, "beta", 1, stream=True)
            sent += 1
        await until(pilot, lambda: requests(app, "beta") == sent)
        beta = column(app, "model").index("beta")
        assert column(app, "ttft")[beta] != "-"  # streams give a time to first token
        assert column(app, "p50")[beta] != "-"
        assert column(app, "trend")[beta].strip()


def _rates(app: TopApp) -> list[float]:
    return [float(rate) for rate in column(app, "rps") if rate != "-"]


def requests(app: TopApp, model: str) -> int:
    assert app.frame is not None
    return sum(i.requests for i in app.frame.instances if i.model == model)


async def test_pause_stops_updates(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await listed(app, pilot)
        await pilot.press("p")
        await pilot.pause(2 * INTERVAL)
        frozen = app.frame
        await chat(router.url, "alpha", 2)
        await pilot.pause(5 * INTERVAL)
        assert app.frame is frozen
        assert "PAUSED" in header(app)
        await pilot.press("p")
        await until(pilot, lambda: app.frame is not frozen)


async def test_filter_and_sort(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test() as pilot:
        await listed(app, pilot)
        steps_back = INSTANCE_KEYS.index("rps") - INSTANCE_KEYS.index("model")
        await pilot.press(*["S"] * steps_back)  # from req/s back to model: A to Z
        assert "sort: model ▲" in header(app)
        assert column(app, "model") == ["alpha", "alpha", "beta", "gamma"]
        await pilot.press("down", "down")  # on beta
        await pilot.press("o")
        assert column(app, "model") == ["gamma", "beta", "alpha", "alpha"]
        selected = app.selected()
        assert selected is not None
        assert selected.model == "beta"  # the cursor moved with its row
        await pilot.press("slash", "b", "e", "t", "a", "enter")
        await until(pilot, lambda: app.instances.row_count == 1)
        assert column(app, "model") == ["beta"]
        await pilot.pause(3 * INTERVAL)  # later snapshots keep the filter
        assert column(app, "model") == ["beta"]
        await pilot.press("slash", *["backspace"] * 4, "escape")
        await listed(app, pilot)
        await pilot.press("f")
        assert "service: chat" in header(app)
        await pilot.press("f")
        assert "service:" not in header(app)
        await pilot.press("q")


async def select(app: TopApp, pilot: Pilot[None], model: str) -> None:
    await pilot.press("slash", *model, "enter")
    await until(pilot, lambda: column(app, "model") == [model])


async def test_details_show_recent_errors(router: RouterThread) -> None:
    await chat(router.url, "gamma", 2)
    app = top(router.url)
    async with app.run_test(size=(160, 50)) as pilot:
        await listed(app, pilot)
        await select(app, pilot, "gamma")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InstanceScreen))
        assert isinstance(app.screen, InstanceScreen)
        text = str(app.screen.details.render())
        assert "recent errors (newest first)" in text
        assert "connect:" in text
        assert DEAD in text
        await pilot.press("escape")
        assert not isinstance(app.screen, InstanceScreen)


async def test_disable_and_enable_ask_first(router: RouterThread) -> None:
    app = top(router.url)
    async with app.run_test(size=(160, 40)) as pilot:
        await listed(app, pilot)
        await select(app, pilot, "beta")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # changed mind: nothing sent
        await pilot.pause(3 * INTERVAL)
        assert column(app, "health") != ["⊘ disabled"]
        await pilot.press("d", "y")
        await until(pilot, lambda: column(app, "health") == ["⊘ disabled"])
        assert str(app.message.render()).startswith("✓ disable beta at")
        assert router.router.config_path is not None
        assert "enabled: false" in router.router.config_path.read_text()
        await pilot.press("e", "y")
        await until(pilot, lambda: column(app, "health") == ["? unprobed"])
        assert column(app, "circuit") == ["● closed"]


async def test_reset_closes_an_open_circuit(router: RouterThread) -> None:
    (target,) = [t for t in router.router.routes.targets() if t.config.model == "beta"]
    while target.breaker.state is State.CLOSED:
        trial = target.breaker.allow()
        assert trial is not None
        trial.failure("down")
    app = top(router.url)
    async with app.run_test(size=(160, 40)) as pilot:
        await listed(app, pilot)
        await select(app, pilot, "beta")
        assert column(app, "circuit")[0].startswith("○ open ")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InstanceScreen))
        await pilot.press("r")  # from the details screen
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: column(app, "circuit") == ["● closed"])
        assert target.breaker.state is State.CLOSED


async def test_a_refused_action_says_why(backends: tuple[str, str]) -> None:
    with run_router(config(*backends)) as router:  # no config file: writes answer 503
        app = top(router.url)
        async with app.run_test(size=(160, 40)) as pilot:
            await listed(app, pilot)
            await pilot.press("d", "y")
            line = app.message
            await until(pilot, lambda: "failed" in str(line.render()))
            assert "✗ disable failed: /admin/instances/disable: HTTP 503" in str(line.render())
            assert "not started from a config file" in str(line.render())


async def test_disconnect_keeps_rows_and_reconnects(backends: tuple[str, str]) -> None:
    with run_router(config(*backends)) as router:
        app = top(router.url)
        async with app.run_test() as pilot:
            await listed(app, pilot)
            router.server.should_exit = True
            banner = app.query_one("#banner", Static)
            await until(pilot, lambda: banner.has_class("shown"), seconds=15)
            assert "✗ disconnected from " in str(banner.render())
            assert "showing the last data; reconnecting every 0.1s" in str(banner.render())
            assert app.instances.row_count == 4
            assert app.instances.has_class("stale")
            with run_router(config(*backends)) as again:
                # the same app keeps trying; a router answering again clears the banner
                gone, app.source = app.source, StatusSource(again.url)
                await gone.aclose()
                await until(pilot, lambda: not banner.has_class("shown"))
                assert not app.instances.has_class("stale")
                assert app.instances.row_count == 4
