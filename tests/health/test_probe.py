from __future__ import annotations

import time

import pytest

from jairouter.health import ProbeResult, new_client, probe, probe_all
from jairouter.simulate import ServerThread
from tests.health.conftest import KEY, OLLAMA_MODEL, Faults, make_target


async def test_an_openai_server_lists_its_models(openai_sim: ServerThread) -> None:
    target = make_target(openai_sim.url + "/v1", api_key=KEY)
    async with new_client() as client:
        result = await probe(client, target)
    assert result.ok
    assert result.status == 200
    assert result.models == ("sim-chat", "sim-embed")
    assert result.lists("sim-chat")
    assert result.lists("gpt-4o") is False
    assert result.error is None
    assert 0 < result.latency < 5
    assert openai_sim.journal.entries[-1].path == "/v1/models"
    assert openai_sim.journal.entries[-1].headers["Authorization"] == f"Bearer {KEY}"


async def test_an_ollama_server_lists_its_tags(ollama_sim: ServerThread) -> None:
    target = make_target(ollama_sim.url, model=OLLAMA_MODEL, adapter="ollama")
    [result] = await probe_all([target])
    assert result.ok
    assert result.models == ("llama3.2:latest",)
    assert result.lists("llama3.2")  # untagged means :latest
    assert result.lists("llama3.2:latest")
    assert not result.lists("qwen2.5")
    assert ollama_sim.journal.entries[-1].path == "/api/tags"


async def test_a_missing_key_fails_with_the_servers_message(openai_sim: ServerThread) -> None:
    [result] = await probe_all([make_target(openai_sim.url)])
    assert not result.ok
    assert result.status == 401
    assert result.error == "HTTP 401: Incorrect API key provided."


async def test_a_closed_port_is_connection_refused(closed_port_url: str) -> None:
    [result] = await probe_all([make_target(closed_port_url)])
    assert result == ProbeResult(False, result.latency, error="connection refused")


async def test_a_server_error_fails(faulty_sim: ServerThread, faults: Faults) -> None:
    faults.mode = "503"
    [result] = await probe_all([make_target(faulty_sim.url)])
    assert (result.ok, result.status) == (False, 503)
    assert result.error == "HTTP 503: model is loading"


async def test_an_answer_that_is_no_model_list_fails(
    faulty_sim: ServerThread, faults: Faults
) -> None:
    faults.mode = "html"
    [result] = await probe_all([make_target(faulty_sim.url)])
    assert (result.ok, result.status) == (False, 200)
    assert result.error == "the answer is not a model list"


async def test_a_configured_path_needs_only_a_2xx(ollama_sim: ServerThread) -> None:
    target = make_target(ollama_sim.url, adapter="ollama", check={"path": "/api/version"})
    [result] = await probe_all([target])
    assert result.ok
    assert result.models is None
    assert result.lists(OLLAMA_MODEL) is None


async def test_a_stalled_server_times_out(faulty_sim: ServerThread, faults: Faults) -> None:
    faults.mode = "stall"
    target = make_target(faulty_sim.url, check={"timeout": 0.2})
    [result] = await probe_all([target])
    assert result.error == "timed out after 0.2s"
    assert 0.2 <= result.latency < 2


async def test_probes_run_concurrently(
    faulty_sim: ServerThread, faults: Faults, openai_sim: ServerThread
) -> None:
    faults.mode = "stall"
    stalled = [make_target(faulty_sim.url, model=f"m{i}") for i in range(5)]
    healthy = make_target(openai_sim.url, api_key=KEY)
    started = time.perf_counter()
    results = await probe_all([*stalled, healthy], time_limit=0.5)
    assert time.perf_counter() - started < 1.5  # not 5 x 0.5 s one after another
    assert [r.ok for r in results] == [False] * 5 + [True]  # in the order asked


@pytest.mark.parametrize(
    ("models", "name", "listed"),
    [
        (("a", "b"), "a", True),
        (("a:latest",), "a", True),
        (("a",), "a:latest", True),
        (("a:7b",), "a", False),
        ((), "a", False),
        (None, "a", None),
    ],
)
def test_lists(models: tuple[str, ...] | None, name: str, listed: bool | None) -> None:
    assert ProbeResult(True, 0.0, 200, models).lists(name) is listed
