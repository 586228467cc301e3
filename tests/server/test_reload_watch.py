"""What the config watcher notices (a Kubernetes-style symlink swap) and what it leaves alone
(contents already applied), and what a reload cannot apply live (`server.host`,
`server.port`) and so reports as needing a restart."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from jairouter.adapters.registry import capabilities
from jairouter.cli.main import app
from jairouter.config.loader import load_config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, run_router
from tests.server.test_reload import config_text, wait_for


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[ServerThread, ServerThread]]:
    settings = SimSettings(models=("m",), token_delay=0.0)
    with ServerThread(openai_app(settings)) as a, ServerThread(openai_app(settings)) as b:
        yield a, b


class ConfigMap:
    """A directory laid out as the kubelet mounts a ConfigMap, updated the way it does it:
    `jairouter.yaml -> ..data/jairouter.yaml`, `..data -> ..<timestamp>`, and an update writes
    a new timestamped directory, re-points `..data` at it by an atomic rename, and deletes the
    old one. The file's own directory entry never changes."""

    def __init__(self, root: Path, text: str) -> None:
        self.root = root
        self.path = root / "jairouter.yaml"
        self.versions = 0
        self.current = self._write(text)
        (root / "..data").symlink_to(self.current.name)
        self.path.symlink_to("..data/jairouter.yaml")

    def update(self, text: str) -> None:
        old, self.current = self.current, self._write(text)
        (self.root / "..data_tmp").symlink_to(self.current.name)
        os.replace(self.root / "..data_tmp", self.root / "..data")
        shutil.rmtree(old)

    def _write(self, text: str) -> Path:
        self.versions += 1
        folder = self.root / f"..2026_11_26_14_00_{self.versions:02d}.000000001"
        folder.mkdir()
        (folder / "jairouter.yaml").write_text(text)
        return folder


def served_urls(router: RouterThread) -> list[str]:
    status = httpx.get(router.url + "/admin/status", timeout=5).json()
    return [instance["url"] for instance in status["services"]["chat"]]


def test_a_configmap_style_symlink_swap_is_reloaded(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread]
) -> None:
    a, b = backends
    configmap = ConfigMap(tmp_path, config_text(a.url))
    config = load_config(configmap.path, adapters=capabilities())
    with run_router(config, config_path=configmap.path) as router:
        configmap.update(config_text(b.url))
        wait_for(router, 2)
        assert served_urls(router) == [b.url]

        # A file coming and going beside it, same contents: nothing to reload.
        (tmp_path / "unrelated.txt").write_text("x")
        configmap.update(config_text(b.url))
        configmap.update(config_text(a.url, b.url))  # the second swap is seen as well
        assert wait_for(router, 3)["generation"] == 3
        assert served_urls(router) == [a.url, b.url]


@contextmanager
def reload_records(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> Iterator[None]:
    """Capture the reload logger's records (from `level` up if given); call once uvicorn has
    set up logging (which makes the router's loggers stop propagating to the root, where caplog
    listens)."""
    logger = logging.getLogger("jairouter.reload")
    logger.addHandler(caplog.handler)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
        logger.removeHandler(caplog.handler)


def wait_for_record(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Waits (bounded) until a captured record's message contains `text`."""
    for _ in range(400):
        if any(text in record.getMessage() for record in caplog.records):
            return
        threading.Event().wait(0.025)
    raise AssertionError(f"never logged: {text!r}")


def test_the_watcher_does_not_reload_contents_already_applied(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    """One generation per change: an admin write applies its own edit, and the watcher, seeing
    the same new contents, does not apply them a second time."""
    a, b = backends
    path = tmp_path / "jairouter.yaml"
    path.write_text(config_text(a.url))
    config = load_config(path, adapters=capabilities())
    with run_router(config, config_path=path) as router, reload_records(caplog, logging.DEBUG):
        added = {"service": "chat", "model": "m", "url": b.url}
        written = httpx.post(router.url + "/admin/instances", json=added, timeout=5).json()
        assert (written["applied"], written["generation"]) == (True, 2)
        wait_for_record(caplog, "config file unchanged from generation 2")
        assert wait_for(router, 2)["generation"] == 2
        assert served_urls(router) == [a.url, b.url]

        # A rejected edit, undone: the file holds what is served again; the rejection is over.
        applied = path.read_bytes()
        path.write_text("services: [\n")
        assert wait_for(router, 2, rejected=True)["generation"] == 2
        caplog.clear()
        path.write_bytes(applied)
        wait_for_record(caplog, "config file unchanged from generation 2")
        undone = wait_for(router, 2)
        assert (undone["generation"], undone["reload_error"]) == (2, None)

        path.write_text(config_text(b.url))  # a change by hand: exactly one more
        assert wait_for(router, 3)["generation"] == 3
        assert served_urls(router) == [b.url]


def test_a_changed_listener_is_reported_as_needing_a_restart(
    tmp_path: Path, backends: tuple[ServerThread, ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = backends
    path = tmp_path / "jairouter.yaml"
    server = "server:\n  host: 127.0.0.1\n  port: {port}\n  max_body_size: {size}\n"
    path.write_text(server.format(port=8080, size="1MiB") + config_text(a.url))
    config = load_config(path, adapters=capabilities())
    with run_router(config, config_path=path) as router, reload_records(caplog):
        path.write_text(server.format(port=9999, size="1KiB") + config_text(b.url))
        status = wait_for(router, 2)
        assert status["restart_needed"] == ["server.port"]
        assert served_urls(router) == [b.url]  # the rest applied
        big = {"model": "m", "messages": [{"role": "user", "content": "x" * 2000}]}
        answer = httpx.post(router.url + "/v1/chat/completions", json=big, timeout=5)
        assert answer.status_code == 413  # max_body_size applies live
        (warning,) = (r for r in caplog.records if r.levelno >= logging.WARNING)
        assert "except server.port: restart the router" in warning.getMessage()

        done = CliRunner().invoke(app, ["reload", "--url", router.url])
        assert done.exit_code == 0, done.output
        assert "restart the router to apply server.port" in done.output

        path.write_text(server.format(port=8080, size="1MiB") + config_text(b.url))
        assert wait_for(router, 4)["restart_needed"] == []  # back to what it listens with
