"""`jairouter serve --log-format/--log-level` as users run them, and tracing without its extra."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import Result

from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.cli.test_serve_demo import LISTENING, TIMEOUT, jairouter

MODEL = "log-cli-model"


def _config(path: Path, url: str, extra: str = "") -> Path:
    path.write_text(
        f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {url}\n{extra}"
    )
    return path


def _chat(port: int, request_id: str) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        json=body,
        headers={"X-Request-ID": request_id},
        timeout=TIMEOUT,
    )


def test_log_format_json_prints_only_json_lines(tmp_path: Path) -> None:
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = _config(tmp_path / "jairouter.yaml", sim.url)
        args = ("serve", "--config", str(config), "--port", "0", "--log-format", "json")
        with jairouter(*args, cwd=tmp_path) as router:
            listening = router.stdout.wait_for(r'"message":"listening".*"url":"([^"]+)"')
            port = int(listening[1].rsplit(":", 1)[1].removesuffix("/v1"))
            assert _chat(port, "json-cli-1").status_code == 200
            router.stdout.wait_for('"request_id":"json-cli-1"')
            assert router.stop(signal.SIGINT) == 0
    stdout = [orjson.loads(line) for line in router.stdout.lines]
    stderr = [orjson.loads(line) for line in router.stderr.lines]
    [instance] = [line for line in stdout if line.get("message") == "instance"]
    assert (instance["service"], instance["model"], instance["url"]) == ("chat", MODEL, sim.url)
    [access] = [line for line in stdout if "request_id" in line]
    assert (access["status"], access["model"], access["instance"]) == (
        200,
        MODEL,
        f"{MODEL}@{sim.url}",
    )
    assert any(line["message"].startswith("Started server process") for line in stderr)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in stderr)


def test_text_is_the_default_with_a_table_and_readable_access_lines(tmp_path: Path) -> None:
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = _config(tmp_path / "jairouter.yaml", sim.url)
        with jairouter("serve", "--config", str(config), "--port", "0", cwd=tmp_path) as router:
            port = int(router.stdout.wait_for(LISTENING)[1])
            router.stdout.wait_for(rf"│ chat +│ round-robin +│ {MODEL} ")
            assert _chat(port, "text-cli-1").status_code == 200
            router.stdout.wait_for(
                rf'127\.0\.0\.1 text-cli-1 "POST /v1/chat/completions" 200 chat model={MODEL} '
            )
            assert router.stop(signal.SIGINT) == 0


def test_log_level_warning_hides_the_startup_messages(tmp_path: Path) -> None:
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = _config(tmp_path / "jairouter.yaml", sim.url)
        args = ("serve", "--config", str(config), "--port", "0", "--log-level", "WARNING")
        with jairouter(*args, cwd=tmp_path) as router:
            port = int(router.stdout.wait_for(LISTENING)[1])
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT).status_code == 200
            assert router.stop(signal.SIGINT) == 0
    assert "Started server process" not in router.stderr.text
    assert not re.search(r"Traceback|ERROR", router.stderr.text)


def test_an_unknown_log_format_is_a_usage_error(
    jairouter: Callable[..., Result], config_path: Path
) -> None:
    config_path.write_text("services: {}\n")
    result = jairouter("serve", "--log-format", "xml")
    assert result.exit_code == 2
    assert "Invalid value for '--log-format'" in result.output
    assert "'xml' is not one of" in " ".join(result.output.replace("│", "").split())


def test_tracing_without_the_extra_says_how_to_install_it(
    jairouter: Callable[..., Result], config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text("tracing:\n  enabled: true\nservices: {}\n")
    monkeypatch.delitem(sys.modules, "jairouter.server.tracing", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # an import now fails
    result = jairouter("serve", "--port", "0")
    assert result.exit_code == 1
    assert f"{config_path}:2:12: tracing.enabled: tracing is on but OpenTelemetry" in result.stderr
    assert "pip install 'jairouter[otel]'" in result.stderr
    assert "tracing.enabled: false" in result.stderr
    assert "the router was not started" in result.stderr


def test_an_access_log_file_that_cannot_be_written_stops_serve_before_it_binds(
    jairouter: Callable[..., Result], config_path: Path
) -> None:
    config_path.write_text("logging:\n  access_log:\n    output: /nonexistent/dir/a.log\n")
    result = jairouter("serve", "--port", "0")
    assert result.exit_code == 1
    assert f"{config_path}:3:13: logging.access_log.output: cannot append to" in result.stderr
    assert "No such file or directory" in result.stderr


def test_workers_log_in_the_format_asked(tmp_path: Path) -> None:
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = _config(tmp_path / "jairouter.yaml", sim.url)
        args = ("serve", "-c", str(config), "--port", "0", "--workers", "2", "--log-format", "json")
        with jairouter(*args, cwd=tmp_path) as router:
            listening = router.stdout.wait_for(r'"message":"listening".*"url":"([^"]+)"')
            port = int(listening[1].rsplit(":", 1)[1].removesuffix("/v1"))
            router.stderr.wait_for("Application startup complete")  # a worker is serving
            assert _chat(port, "worker-json-1").status_code == 200
            line = router.stdout.wait_for(r'^\{.*"request_id":"worker-json-1".*\}$')
            assert router.stop(signal.SIGINT) == 0
    assert orjson.loads(line[0])["status"] == 200
    assert all(orjson.loads(text) for text in router.stderr.lines)
