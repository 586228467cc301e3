"""`jairouter serve --workers 2` seen through the admin API: a status stream ends as soon as
its worker starts draining. The real console script in a subprocess."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson

from jairouter.server.run import DRAIN_SECONDS
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.cli.test_serve_demo import LISTENING, TIMEOUT, jairouter
from tests.server.test_metrics_workers import TRIES, _wait_started

MODEL = "workers-model"


def first_event(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            snapshot = orjson.loads(line[6:])
            assert isinstance(snapshot, dict)
            return snapshot
    raise AssertionError("the stream ended before its first event")


def test_sigterm_ends_the_status_streams_of_every_worker_at_once(tmp_path: Path) -> None:
    """With a stream open on each worker, `serve` stops well within the drain limit, and each
    stream ends cleanly instead of being cut when the limit runs out."""
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = tmp_path / "jairouter.yaml"
        config.write_text(
            f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {sim.url}\n"
        )
        args = ("serve", "--config", str(config), "--port", "0", "--workers", "2")
        with jairouter(*args, cwd=tmp_path) as router, ExitStack() as streams:
            port = int(router.stdout.wait_for(LISTENING)[1])
            _wait_started(router, workers=2)
            # No event comes by itself in the test: the interval is beyond the drain limit.
            url = f"http://127.0.0.1:{port}/admin/status/stream?interval=60"
            open_on: dict[int, Iterator[str]] = {}
            for _ in range(TRIES):
                client = streams.enter_context(httpx.Client(timeout=TIMEOUT))
                lines = streams.enter_context(client.stream("GET", url)).iter_lines()
                open_on.setdefault(first_event(lines)["pid"], lines)
                if len(open_on) == 2:
                    break
            assert len(open_on) == 2, "the streams all reached one worker"
            router.proc.send_signal(signal.SIGTERM)
            rests = [list(lines) for lines in open_on.values()]  # each returns once it ends
            assert router.proc.wait(DRAIN_SECONDS / 2) == 0
            router.wait()
        assert all(not any(line.startswith("data: ") for line in rest) for rest in rests)
        assert "Traceback" not in router.stderr.text
