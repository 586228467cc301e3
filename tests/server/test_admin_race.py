"""CLI edits (`jairouter backends add` in other processes) racing admin API writes against one
config file: the edit lock orders them, so none is lost and nothing is left half-written."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import load_config, parse_config
from jairouter.config.syntax import load_yaml
from jairouter.config.versions import KEEP, list_versions, versions_dir
from jairouter.types import ServiceType
from tests.routers import run_router

JAIROUTER = Path(sys.executable).with_name("jairouter")
EACH = 6
START = """\
# shared by the CLI and the admin API
services:
  chat:
    instances:
      - model: first   # stays
        url: http://127.0.0.1:9
"""


def test_cli_and_admin_writes_race_without_losing_any(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text(START, encoding="utf-8")
    cli = sorted((f"cli-{i}", f"http://127.0.0.1:{20000 + i}") for i in range(EACH))
    # Two waves of concurrent CLI processes, so that at least one admin write provably lands
    # between two CLI writes however the lock happens to be handed out under load.
    waves = (cli[: EACH // 2], cli[EACH // 2 :])
    api: set[tuple[str, str]] = set()
    statuses: list[int] = []
    posted = threading.Condition()
    cli_done = threading.Event()
    config = load_config(path, adapters=capabilities())
    with run_router(config, config_path=path) as router:
        command = [str(JAIROUTER), "backends", "add", "--config", str(path), "chat"]

        def post(worker: int) -> None:
            """Admin writes, one after another, for as long as the CLI processes run."""
            with httpx.Client(base_url=router.url, timeout=60) as client:
                for n in itertools.count():
                    if n >= EACH and cli_done.is_set():
                        return
                    model, url = f"api-{worker}-{n}", f"http://127.0.0.1:{30000 + 100 * worker + n}"
                    body = {"service": "chat", "model": model, "url": url}
                    status = client.post("/admin/instances", json=body).status_code
                    with posted:
                        statuses.append(status)
                        api.add((model, url))
                        posted.notify_all()
                    time.sleep(0.02)

        def wait_for_answers(count: int) -> None:
            with posted:
                assert posted.wait_for(lambda: len(statuses) >= count, timeout=60)

        threads = [threading.Thread(target=post, args=(worker,)) for worker in range(2)]
        for thread in threads:
            thread.start()
        answers_before_wave = 0
        try:
            for wave in waves:
                wait_for_answers(answers_before_wave)
                processes = [
                    subprocess.Popen(
                        [*command, model, url],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    for model, url in wave
                ]
                for process in processes:
                    out, err = process.communicate(timeout=60)
                    assert process.returncode == 0, out + err
                # Each writer has at most one request in flight when a wave ends, so the
                # third answer after it is for a write made after the wave's last one.
                with posted:
                    answers_before_wave = len(statuses) + len(threads) + 1
        finally:
            cli_done.set()
            for thread in threads:
                thread.join(timeout=60)
        assert statuses == [201] * len(api)

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# shared by the CLI and the admin API\n")
    assert "- model: first   # stays\n" in text
    instances = parse_config(text, str(path), env={}).services[ServiceType.CHAT].instances
    listed = {(inst.model, inst.url) for inst in instances}
    assert listed == {("first", "http://127.0.0.1:9")} | set(cli) | api  # not one change lost
    # Each write appends, so the file's order is the order the writes took the lock in.
    order = [inst.model.split("-")[0] for inst in instances]
    first, last = order.index("cli"), len(order) - 1 - order[::-1].index("cli")
    assert "api" in order[first:last], order  # the writers really interleaved

    changes = len(cli) + len(api)
    versions = list_versions(path)
    kept = min(changes, KEEP)
    assert [v.number for v in versions] == list(range(changes - kept + 1, changes + 1))
    files = sorted(versions_dir(path).glob("*.yaml"))
    assert len(files) == kept
    sizes = []
    for file in files:
        saved = file.read_text(encoding="utf-8")
        assert isinstance(load_yaml(saved, str(file)), dict)
        parse_config(saved, str(file), env={})  # every kept text is a valid config too
        sizes.append(saved.count("- model:"))
    assert sizes == list(range(changes - kept + 1, changes + 1))  # one change after the other

    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
