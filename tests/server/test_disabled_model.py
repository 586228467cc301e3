"""A model whose instances are all disabled answers 503 saying so, and how to enable one."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from typer.testing import CliRunner

from jairouter.adapters.registry import capabilities
from jairouter.cli.main import app
from jairouter.config.loader import load_config
from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import run_router


@pytest.fixture(scope="module")
def sim() -> Iterator[ServerThread]:
    with ServerThread(openai_app(SimSettings(models=("m", "n"), token_delay=0))) as server:
        yield server


def test_all_disabled_is_503_naming_the_command_that_enables_one(
    sim: ServerThread, tmp_path: Path
) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text(
        "services:\n"
        "  chat:\n"
        "    instances:\n"
        f"      - model: m\n        url: {sim.url}\n        enabled: false\n"
        f"      - model: n\n        url: {sim.url}\n"
    )
    with run_router(load_config(path, adapters=capabilities()), config_path=path) as router:
        client = openai.OpenAI(base_url=router.url + "/v1", api_key="-", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        error = caught.value
        assert error.status_code == 503
        assert (error.code, error.type, error.param) == (
            "model_disabled",
            "service_unavailable",
            "model",
        )
        assert "every instance of the chat model 'm' is disabled" in error.message
        assert sim.journal.received == 0

        # The command the message names is the fix.
        command = error.message.split("`")[1]
        assert command == f"jairouter backends enable chat m {sim.url}"
        args = [*shlex.split(command)[1:], "--config", str(path)]
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
        assert httpx.post(router.url + "/admin/reload", timeout=10).status_code == 200
        answer = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert answer.choices[0].message.content


def test_an_unknown_model_is_still_404(sim: ServerThread) -> None:
    instance = {"model": "m", "url": sim.url, "enabled": False}
    config = Config.model_validate({"services": {"chat": {"instances": [instance]}}})
    with run_router(config) as router:
        answer = httpx.post(
            router.url + "/v1/chat/completions", json={"model": "zzz", "messages": []}, timeout=10
        )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "model_not_found"
