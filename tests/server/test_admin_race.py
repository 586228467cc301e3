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
    cli = {(f"cli-{i}", f"http://127.0.0.1:{20000 + i}") for i in range(EACH)}
    api: set[tuple[str, str]] = set()
    statuses: list[int] = []
    config = load_config(path, adapters=capabilities())
    with run_router(config, config_path=path) as router:
        command = [str(JAIROUTER), "backends", "add", "--config", str(path), "chat"]
        processes = [
            subprocess.Popen(
                [*command, model, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for model, url in sorted(cli)
        ]

        def post(worker: int) -> None:
            """Admin writes, one after another, for as long as the CLI processes run."""
            with httpx.Client(base_url=router.url, timeout=60) as client:
                for n in itertools.count():
                    if n >= EACH and all(p.poll() is not None for p in processes):
                        return
                    model, url = f"api-{worker}-{n}", f"http://127.0.0.1:{30000 + 100 * worker + n}"
                    body = {"service": "chat", "model": model, "url": url}
                    statuses.append(client.post("/admin/instances", json=body).status_code)
                    api.add((model, url))
                    time.sleep(0.02)

        threads = [threading.Thread(target=post, args=(worker,)) for worker in range(2)]
        for thread in threads:
            thread.start()
        outputs = [process.communicate(timeout=60) for process in processes]
        for thread in threads:
            thread.join(timeout=60)
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, out + err
        assert statuses == [201] * len(api)

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# shared by the CLI and the admin API\n")
    assert "- model: first   # stays\n" in text
    instances = parse_config(text, str(path), env={}).services[ServiceType.CHAT].instances
    listed = {(inst.model, inst.url) for inst in instances}
    assert listed == {("first", "http://127.0.0.1:9")} | cli | api  # not one change lost

    changes = len(cli) + len(api)
    versions = list_versions(path)
    kept = min(changes, KEEP)
    assert [v.number for v in versions] == list(range(changes - kept + 1, changes + 1))
    sources = [v.description.split(" ")[0] for v in versions]
    if changes <= KEEP:  # the writers really interleaved: an API write between two CLI ones
        first, last = sources.index("backends"), len(sources) - 1 - sources[::-1].index("backends")
        assert "admin:" in sources[first:last], sources
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
