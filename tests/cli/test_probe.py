from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from jairouter.simulate import Call, ServerThread, SimSettings, ollama_app, openai_app

Invoke = Callable[..., Result]
KEY = "sk-cli-probe"


@pytest.fixture
def backends() -> Iterator[tuple[str, str]]:
    """An OpenAI-compatible backend that wants KEY and an Ollama backend, both healthy."""
    settings = SimSettings(models=("chat-a", "embed-a"), token_delay=0, api_key=KEY)
    with (
        ServerThread(openai_app(settings)) as openai_sim,
        ServerThread(ollama_app(SimSettings(models=("llama3.2",), token_delay=0))) as ollama_sim,
    ):
        yield openai_sim.url, ollama_sim.url


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def write_config(path: Path, openai_url: str, ollama_url: str, *extra: str) -> None:
    lines = [
        "services:",
        "  chat:",
        "    instances:",
        f"      - {{model: chat-a, url: {openai_url}/v1, api_key: {KEY}}}",
        f"      - {{model: llama3.2, url: {ollama_url}, adapter: ollama}}",
        *(f"      - {line}" for line in extra),
        "  embedding:",
        "    instances:",
        f"      - {{model: embed, url: {openai_url}, api_key: {KEY}, upstream_model: embed-a}}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_all_healthy_exits_0(
    jairouter: Invoke, config_path: Path, backends: tuple[str, str]
) -> None:
    write_config(config_path, *backends)
    result = jairouter("probe")
    assert result.exit_code == 0, result.output
    assert "all healthy" in result.stdout
    assert "unhealthy" not in result.stdout


def test_one_down_exits_1_and_says_why(
    jairouter: Invoke, config_path: Path, backends: tuple[str, str]
) -> None:
    gone = closed_port_url()
    write_config(config_path, *backends, f"{{model: gone, url: {gone}}}")
    result = jairouter("probe")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert f"gone@{gone} (chat): connection refused" in lines
    assert lines[-1] == "1 instance of 4 unhealthy"


def test_json_reports_every_instance(
    jairouter: Invoke, config_path: Path, backends: tuple[str, str]
) -> None:
    openai_url, ollama_url = backends
    write_config(
        config_path,
        openai_url,
        ollama_url,
        f"{{model: nokey, url: {openai_url}}}",
        f"{{model: missing, url: {openai_url}, api_key: {KEY}}}",
    )
    result = jairouter("probe", "--json")
    assert result.exit_code == 1, result.output
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["chat-a", "llama3.2", "nokey", "missing", "embed"]
    chat = rows["chat-a"]
    assert chat["healthy"] is True
    assert chat["http_status"] == 200
    assert chat["models"] == ["chat-a", "embed-a"]
    assert chat["serves_model"] is True
    assert chat["error"] is None
    assert chat["latency_ms"] > 0
    assert (chat["service"], chat["adapter"]) == ("chat", "openai")
    assert rows["llama3.2"]["models"] == ["llama3.2:latest"]
    assert rows["llama3.2"]["serves_model"] is True
    assert rows["nokey"]["healthy"] is False
    assert rows["nokey"]["error"] == "HTTP 401: Incorrect API key provided."
    assert rows["nokey"]["serves_model"] is None
    assert rows["missing"]["healthy"] is True  # the server is up, without that model
    assert rows["missing"]["serves_model"] is False
    assert rows["embed"]["upstream_model"] == "embed-a"
    assert rows["embed"]["serves_model"] is True


def test_json_exits_0_when_all_are_healthy(
    jairouter: Invoke, config_path: Path, backends: tuple[str, str]
) -> None:
    write_config(config_path, *backends)
    result = jairouter("probe", "--json")
    assert result.exit_code == 0, result.output
    assert all(row["healthy"] for row in json.loads(result.stdout))


def test_a_server_without_the_model_is_pointed_out(
    jairouter: Invoke, config_path: Path, backends: tuple[str, str]
) -> None:
    openai_url, ollama_url = backends
    write_config(
        config_path, openai_url, ollama_url, f"{{model: x, url: {ollama_url}, adapter: ollama}}"
    )
    result = jairouter("probe")
    assert result.exit_code == 0, result.output
    assert "all healthy; 1 server did not list the model it is configured for" in result.stdout


def test_timeout_bounds_each_probe(jairouter: Invoke, config_path: Path) -> None:
    async def stall(call: Call) -> None:
        await asyncio.sleep(30)

    settings = SimSettings(models=("m",), token_delay=0, hook=stall)
    with ServerThread(openai_app(settings)) as slow:
        config_path.write_text(
            f"services:\n  chat:\n    instances:\n      - {{model: m, url: {slow.url}}}\n",
            encoding="utf-8",
        )
        result = jairouter("probe", "--json", "--timeout", "0.2")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)[0]["error"] == "timed out after 0.2s"


def test_no_instances_is_not_a_failure(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("services: {}\n", encoding="utf-8")
    result = jairouter("probe")
    assert result.exit_code == 0, result.output
    assert "lists no instances" in result.stdout
    assert json.loads(jairouter("probe", "--json").stdout) == []


def test_an_invalid_config_exits_1_with_its_location(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(
        "services:\n  chat:\n    instances:\n      - model: m\n        url: ftp://x\n",
        encoding="utf-8",
    )
    result = jairouter("probe")
    assert result.exit_code == 1
    assert f"{config_path}:5:14: services.chat.instances[0].url" in result.stderr


@pytest.mark.parametrize("args", [("--timeout", "0"), ("--timeout", "soon"), ("--bogus",)])
def test_usage_errors_exit_2(jairouter: Invoke, args: tuple[str, ...]) -> None:
    assert jairouter("probe", *args).exit_code == 2
