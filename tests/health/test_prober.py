from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from jairouter.core.health import Health
from jairouter.health import Prober, ProbeResult, ProbeTarget, new_client
from jairouter.health.prober import TASK_NAME
from jairouter.simulate import ServerThread
from tests.health.conftest import KEY, OLLAMA_MODEL, Faults, make_target

FAST = {"interval": 10, "jitter": 2, "rise": 2, "fall": 3, "timeout": 2}


class Sleeps:
    """An injected sleep: records each requested delay and returns at once.

    With `probes`, a single target's loop parks for good once it has probed that many times
    (its first sleep is the initial jitter, then one sleep follows each probe).
    """

    def __init__(self, probes: int | None = None) -> None:
        self.delays: list[float] = []
        self._limit = None if probes is None else probes + 1
        self.parked = False

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._limit is not None and len(self.delays) >= self._limit:
            self.parked = True
            await asyncio.Event().wait()  # until cancelled
        await asyncio.sleep(0)  # let the event loop (and the other probes) run


async def until(condition: Callable[[], bool]) -> None:
    """Wait (up to 10 s) for the probes to make `condition` true."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the probes never got there")


def target(url: str, **fields: Any) -> ProbeTarget:
    return make_target(url, check={**FAST, **fields.pop("check", {})}, **fields)


async def test_healthy_backends_stay_healthy(
    openai_sim: ServerThread, ollama_sim: ServerThread
) -> None:
    targets = [
        target(openai_sim.url, api_key=KEY),
        target(ollama_sim.url, model=OLLAMA_MODEL, adapter="ollama"),
    ]
    results: list[tuple[str, ProbeResult]] = []
    prober = Prober(targets, sleep=Sleeps(), on_result=lambda t, r: results.append((t.key, r)))
    prober.start()
    await until(lambda: len(results) >= 10)
    await prober.stop()
    assert all(result.ok for _, result in results)
    assert {key for key, _ in results} == {t.key for t in targets}
    assert all(prober.serving(t.key) for t in targets)
    assert prober.last[targets[1].key].models == ("llama3.2:latest",)


async def test_a_closed_port_turns_unhealthy_after_fall_probes(closed_port_url: str) -> None:
    down = target(closed_port_url)
    changes: list[tuple[Health, Health, str]] = []
    sleeps = Sleeps(probes=2)
    prober = Prober(
        [down], sleep=sleeps, on_change=lambda t, old, new, why: changes.append((old, new, why))
    )
    prober.start()
    await until(lambda: sleeps.parked)
    assert prober.serving(down.key)  # two failures are not enough
    await prober.stop()
    sleeps = Sleeps(probes=3)
    prober = Prober(
        [down], sleep=sleeps, on_change=lambda t, old, new, why: changes.append((old, new, why))
    )
    prober.start()
    await until(lambda: sleeps.parked)
    await prober.stop()
    assert prober.health[down.key].failures == 3
    assert changes == [
        (Health.HEALTHY, Health.UNHEALTHY, "unhealthy: 3 failed probes: connection refused")
    ]
    assert prober.reason(down.key) == "unhealthy: 3 failed probes: connection refused"


async def test_the_key_decides_on_a_protected_backend(openai_sim: ServerThread) -> None:
    with_key = target(openai_sim.url, api_key=KEY)
    without = target(openai_sim.url, model="sim-embed", check={"fall": 1})
    prober = Prober([with_key, without], sleep=Sleeps())
    prober.start()
    await until(lambda: not prober.serving(without.key) and with_key.key in prober.last)
    await prober.stop()
    assert prober.serving(with_key.key)
    assert prober.last[with_key.key].ok
    reason = prober.reason(without.key)
    assert reason is not None
    assert reason.endswith(": HTTP 401: Incorrect API key provided.")


async def test_a_backend_leaves_and_returns_with_hysteresis(
    faulty_sim: ServerThread, faults: Faults
) -> None:
    flaky = target(faulty_sim.url)
    changes: list[tuple[Health, str]] = []
    prober = Prober(
        [flaky], sleep=Sleeps(), on_change=lambda t, old, new, why: changes.append((new, why))
    )
    prober.start()
    await until(lambda: prober.health[flaky.key].successes >= 3)
    faults.mode = "503"
    await until(lambda: not prober.serving(flaky.key))
    faults.mode = "ok"
    await until(lambda: prober.serving(flaky.key))
    await prober.stop()
    assert changes == [
        (Health.UNHEALTHY, "unhealthy: 3 failed probes: HTTP 503: model is loading"),
        (Health.HEALTHY, "2 probes in a row succeeded"),
    ]


async def test_a_hanging_backend_delays_nobody_else(
    faulty_sim: ServerThread, faults: Faults, openai_sim: ServerThread
) -> None:
    faults.mode = "stall"
    hanging = target(faulty_sim.url, check={"timeout": 30})
    healthy = target(openai_sim.url, api_key=KEY)
    seen: list[str] = []
    prober = Prober([hanging, healthy], sleep=Sleeps(), on_result=lambda t, r: seen.append(t.key))
    prober.start()
    await until(lambda: len(seen) >= 5)
    await prober.stop()
    assert set(seen) == {healthy.key}


async def test_intervals_and_jitter_go_through_the_injected_sleep(
    openai_sim: ServerThread,
) -> None:
    sleeps = Sleeps()
    probed = target(openai_sim.url, api_key=KEY, check={"interval": 10, "jitter": 2})
    prober = Prober([probed], sleep=sleeps, rng=random.Random(7))
    prober.start()
    await until(lambda: len(sleeps.delays) >= 6)
    await prober.stop()
    first, *later = sleeps.delays
    assert 0 <= first <= 2  # the first probe is spread over the jitter only
    assert all(10 <= delay <= 12 for delay in later)
    assert len(set(later)) > 1


async def test_disabled_targets_are_not_probed(openai_sim: ServerThread) -> None:
    off = target(openai_sim.url, api_key=KEY, check={"enabled": False})
    prober = Prober([off], sleep=Sleeps())
    await prober.run()  # nothing to do: returns at once
    assert prober.targets == []
    assert prober.serving(off.key)
    assert prober.reason(off.key) is None
    assert len(openai_sim.journal.entries) == 0


async def test_stop_cancels_the_named_task_and_its_probes(openai_sim: ServerThread) -> None:
    probed = target(openai_sim.url, api_key=KEY)
    prober = Prober([probed], sleep=Sleeps())
    task = prober.start()
    assert task.get_name() == TASK_NAME
    assert prober.start() is task  # already running: the same task
    await until(lambda: probed.key in prober.last)
    await prober.stop()
    assert task.cancelled()
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("probe ")]
    assert leftovers == []
    await prober.stop()  # stopping twice is harmless


async def test_a_shared_client_is_left_open(openai_sim: ServerThread) -> None:
    async with new_client() as client:
        probed = target(openai_sim.url, api_key=KEY)
        prober = Prober([probed], client=client, sleep=Sleeps())
        prober.start()
        await until(lambda: probed.key in prober.last)
        await prober.stop()
        assert not client.is_closed
        assert (await client.get(openai_sim.url + "/v1/models")).status_code == 401


async def test_a_bug_in_a_hook_does_not_stop_probing(openai_sim: ServerThread) -> None:
    probed = target(openai_sim.url, api_key=KEY)
    calls: list[int] = []

    def broken(t: ProbeTarget, r: ProbeResult) -> None:
        calls.append(1)
        raise RuntimeError("hook bug")

    prober = Prober([probed], sleep=Sleeps(), on_result=broken)
    prober.start()
    await until(lambda: len(calls) >= 3)
    await prober.stop()
