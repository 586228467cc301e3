"""Hot reload: config changes apply while traffic flows, invalid files change nothing, and the
admin API is guarded."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import load_config
from jairouter.config.models import Config
from jairouter.server.app import create_app
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, run_router

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
FAST = SimSettings(models=("m",), token_delay=0.0, reply_tokens=3)


def config_text(*urls: str, extra: str = "") -> str:
    instances = "".join(f"      - model: m\n        url: {url}\n" for url in urls)
    return f"services:\n  chat:\n{extra}    instances:\n{instances}"


class Traffic:
    """Requests in a loop from a thread until stopped; counts every answer by status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    self.statuses.append(client.post("/v1/chat/completions", json=CHAT).status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def backends() -> Iterator[tuple[ServerThread, ServerThread]]:
    with ServerThread(openai_app(FAST)) as a, ServerThread(openai_app(FAST)) as b:
        yield a, b


def start(path: Path, text: str) -> Config:
    path.write_text(text)
    return load_config(path, adapters=capabilities())


def wait_for(router: RouterThread, generation: int, *, rejected: bool = False) -> dict[str, Any]:
    """Polls the status API (bounded) until config `generation` is applied, or with `rejected`,
    until a reload was rejected; returns the status's `config` part."""
    with httpx.Client(base_url=router.url, timeout=5) as client:
        for _ in range(400):
            config: dict[str, Any] = client.get("/admin/status").json()["config"]
            if (
                (config["reload_error"] is not None)
                if rejected
                else config["generation"] >= generation
            ):
                return config
            threading.Event().wait(0.025)
    raise AssertionError(f"config generation {generation} never applied")


def test_reload_under_load_drops_nothing(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread]
) -> None:
    a, b = backends
    path = tmp_path / "jairouter.yaml"
    with (
        run_router(start(path, config_text(a.url)), config_path=path) as router,
        Traffic(router.url) as traffic,
    ):
        a.journal.wait_until(lambda j: j.received >= 20)
        path.write_text(config_text(a.url, b.url))  # b joins
        wait_for(router, 2)
        b.journal.wait_until(lambda j: j.received >= 20)

        path.write_text(config_text(b.url, extra="    load_balance: nonsense\n"))  # invalid
        config = wait_for(router, 3, rejected=True)
        assert config["generation"] == 2
        assert "load_balance" in config["reload_error"]

        path.write_text(config_text(b.url))  # fixed: a leaves
        assert wait_for(router, 3)["reload_error"] is None
        seen_by_a = a.journal.received
        b.journal.wait_until(lambda j: j.received >= 60)
    assert traffic.errors == []
    assert set(traffic.statuses) == {200}
    assert a.journal.received == seen_by_a  # nothing new after it was removed
    assert all(t.inflight == 0 for t in router.router.routes.targets())


def test_unchanged_instances_keep_their_state(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread]
) -> None:
    a, b = backends
    path = tmp_path / "jairouter.yaml"
    with run_router(start(path, config_text(a.url)), config_path=path) as router:
        (before,) = router.router.routes.targets()
        path.write_text(config_text(a.url, b.url))
        wait_for(router, 2)
        kept = [t for t in router.router.routes.targets() if t.config.url == a.url]
        assert kept == [before]  # the same live object: breaker, limits, counters


def test_reload_over_the_admin_api(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread]
) -> None:
    a, _ = backends
    path = tmp_path / "jairouter.yaml"
    config = start(path, config_text(a.url))
    with run_router(config) as router:  # no watcher: only an explicit reload applies
        assert httpx.post(router.url + "/admin/reload").status_code == 422
    with run_router(config, config_path=path) as router:
        answer = httpx.post(router.url + "/admin/reload")
        assert answer.status_code == 200
        assert answer.json()["reloaded"] is True


@pytest.fixture
def admin_app(tmp_path: Path) -> Config:
    return start(tmp_path / "c.yaml", config_text("http://127.0.0.1:9"))


def test_admin_without_a_token_serves_only_loopback(admin_app: Config) -> None:
    # TestClient's peer is "testclient", not a loopback address: a real socket cannot be
    # made to come from off this machine in a test.
    with TestClient(create_app(admin_app)) as client:
        assert client.get("/admin/status").status_code == 401
    with run_router(admin_app) as router:
        assert httpx.get(router.url + "/admin/status").status_code == 200


def test_admin_token_is_required_once_set(
    admin_app: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAIROUTER_ADMIN_TOKEN", "s3cret")
    with run_router(admin_app) as router:
        url = router.url + "/admin/status"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(url, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        instance = ok.json()["services"]["chat"][0]
        assert instance["circuit"] == "closed"
        assert {"requests", "errors", "p50_ms", "p95_ms"} <= set(instance)
    assert os.environ["JAIROUTER_ADMIN_TOKEN"] == "s3cret"


def test_reload_command(tmp_path: Path, backends: tuple[ServerThread, ServerThread]) -> None:
    from typer.testing import CliRunner

    from jairouter.cli.main import app

    a, _ = backends
    path = tmp_path / "jairouter.yaml"
    with run_router(start(path, config_text(a.url)), config_path=path) as router:
        runner = CliRunner()
        done = runner.invoke(app, ["reload", "--url", router.url])
        assert done.exit_code == 0, done.output
        assert "config generation 2" in done.output
        path.write_text("services: [")
        refused = runner.invoke(app, ["reload", "--url", router.url])
        assert refused.exit_code == 1
        assert "kept its config" in refused.output
    gone = CliRunner().invoke(app, ["reload", "--url", "http://127.0.0.1:9"])
    assert gone.exit_code == 1


def test_status_never_shows_a_password_from_an_instance_url(tmp_path: Path) -> None:
    config = start(tmp_path / "c.yaml", config_text("http://user:hunter2@127.0.0.1:9"))
    with run_router(config) as router:
        status = httpx.get(router.url + "/admin/status").text
    assert "hunter2" not in status
    assert "user:***@127.0.0.1:9" in status
    with run_router(config) as router:
        metrics = httpx.get(router.url + "/metrics").text
    assert "hunter2" not in metrics
    assert 'instance="http://user:***@127.0.0.1:9"' in metrics
