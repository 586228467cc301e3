"""`jairouter serve` and `jairouter demo` as users run them: the console script in a subprocess.

Every wait is bounded, and every process is killed in a `finally` if it outlived its test.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import openai
import orjson
import pytest

from jairouter.simulate import ServerThread, SimSettings, openai_app

JAIROUTER = Path(sys.executable).with_name("jairouter")
TIMEOUT = 20.0  # seconds any single step may take, startup of a fresh interpreter included
MODEL = "cli-model"
SLOW = SimSettings(models=(MODEL,), token_delay=0.02, reply_tokens=50)  # a one-second stream
# serve binds first, then prints this: connections made from then on are served.
LISTENING = re.compile(r"jairouter listening on http://127\.0\.0\.1:(\d+)/v1")


class Lines:
    """The lines a stream of a subprocess printed so far, collected by a thread."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                with self._changed:
                    self.lines.append(line)
                    self._changed.notify_all()
        finally:
            with self._changed:
                self.closed = True
                self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        """The first match of `pattern` in a printed line, waiting for it to be printed."""
        regex = re.compile(pattern)

        def search() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := regex.search(line))), None)

        with self._changed:
            self._changed.wait_for(lambda: search() is not None or self.closed, timeout)
            match = search()
        assert match is not None, f"{regex.pattern!r} not printed:\n{self.text}"
        return match

    def join(self) -> None:
        self._thread.join(TIMEOUT)


class Jairouter:
    """A running `jairouter` command with its output."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.stdout = Lines(proc.stdout)
        self.stderr = Lines(proc.stderr)

    def stop(self, sig: signal.Signals) -> int:
        """Sends `sig` and returns the exit status, once the process has exited."""
        self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        status = self.proc.wait(TIMEOUT)
        self.stdout.join()
        self.stderr.join()
        return status


def _env(columns: int = 200) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAIROUTER_CONFIG"}
    env["COLUMNS"] = str(columns)  # rich's width when stdout is a pipe, as here
    return env


@contextmanager
def jairouter(*args: str, cwd: Path, columns: int = 200) -> Iterator[Jairouter]:
    proc = subprocess.Popen(
        [str(JAIROUTER), *args],
        cwd=cwd,
        env=_env(columns),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Jairouter(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def backend() -> Iterator[ServerThread]:
    with ServerThread(openai_app(SLOW)) as sim:
        yield sim


@pytest.fixture
def config(tmp_path: Path, backend: ServerThread) -> Path:
    path = tmp_path / "jairouter.yaml"
    path.write_text(
        f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {backend.url}\n"
    )
    return path


def _sse_text(raw: bytes) -> str:
    """The content of a complete chat completion stream; fails unless it ends with [DONE]."""
    *events, done = raw.removesuffix(b"\n\n").split(b"\n\n")
    assert done == b"data: [DONE]", raw[-300:]
    parts = []
    for event in events:
        choices = orjson.loads(event.removeprefix(b"data: "))["choices"]
        parts.extend(c["delta"].get("content") or "" for c in choices)
    return "".join(parts)


def _chat(stream: bool) -> dict[str, object]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def test_serve_answers_and_drains_a_stream_on_sigterm(config: Path, backend: ServerThread) -> None:
    with jairouter("serve", "--config", str(config), "--port", "0", cwd=config.parent) as router:
        port = int(router.stdout.wait_for(LISTENING)[1])
        url = f"http://127.0.0.1:{port}"
        router.stdout.wait_for(rf"services \({re.escape(str(config))}\)")
        router.stdout.wait_for(rf"│ chat +│ round-robin +│ {MODEL} +│ {re.escape(backend.url)} ")

        whole = httpx.post(url + "/v1/chat/completions", json=_chat(False), timeout=TIMEOUT)
        assert whole.status_code == 200, whole.text
        assert whole.json()["choices"][0]["message"]["content"] == SLOW.reply().text

        with (
            httpx.Client(base_url=url, timeout=TIMEOUT) as client,
            client.stream("POST", "/v1/chat/completions", json=_chat(True)) as resp,
        ):
            chunks = resp.iter_raw()
            received = [next(chunks)]
            router.proc.send_signal(signal.SIGTERM)
            # Draining: the listener is closed, but the stream in flight goes on to its end.
            router.stderr.wait_for("Waiting for connections to close")
            with pytest.raises(httpx.ConnectError):
                httpx.get(url + "/health", timeout=TIMEOUT)
            received.extend(chunks)
        assert _sse_text(b"".join(received)) == SLOW.reply().text
        assert router.wait() == 0
    backend.journal.wait_until(lambda j: j.last.finished)
    assert backend.journal.last.completed
    assert "Traceback" not in router.stderr.text + router.stdout.text


def test_serve_exits_0_on_sigint(config: Path) -> None:
    with jairouter("serve", "--config", str(config), "--port", "0", cwd=config.parent) as router:
        port = int(router.stdout.wait_for(LISTENING)[1])
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT).json() == {
            "status": "ok"
        }
        assert router.stop(signal.SIGINT) == 0
    router.stderr.wait_for("Finished server process")
    assert "Traceback" not in router.stderr.text


def test_serve_prints_the_port_it_bound(config: Path) -> None:
    with jairouter("serve", "--config", str(config), "--port", "0", cwd=config.parent) as router:
        port = int(router.stdout.wait_for(LISTENING)[1])
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT).status_code == 200
        assert router.stop(signal.SIGTERM) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serve_with_an_invalid_config_exits_1_and_does_not_listen(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "services:\n  chat:\n    instances:\n      - model: m\n        url: ftp://x\n"
        "        weight: 0\n"
    )
    port = _free_port()
    result = subprocess.run(
        [str(JAIROUTER), "serve", "--config", str(path), "--port", str(port)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 1, result.stderr
    assert f"{path}:5:14: services.chat.instances[0].url: must be an http://" in result.stderr
    assert f"{path}:6:17: services.chat.instances[0].weight: " in result.stderr
    assert f"2 problems in {path}; the router was not started" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Uvicorn running" not in result.stderr
    assert result.stdout == ""  # no services table, no "listening on"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT)


DEMO_URL = r"jairouter demo is running at (http://127\.0\.0\.1:(\d+))/v1"


def _ask(client: openai.OpenAI, model: str) -> tuple[str, str]:
    """A model's whole reply and its streamed reply, through the official client."""
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "Hi"}
    ]
    whole = client.chat.completions.create(model=model, messages=messages)
    stream = client.chat.completions.create(model=model, messages=messages, stream=True)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    return whole.choices[0].message.content or "", streamed


def _demo_reply(backend: str) -> str:
    words = f"Hello from simulated backend {backend}: every word you see arrives as one streamed"
    return SimSettings(words=(*words.split(), "token.")).reply().text


def test_demo_serves_both_backends_and_exits_0_on_sigint(tmp_path: Path) -> None:
    with jairouter("demo", "--port", "0", "--token-delay", "0.005", cwd=tmp_path) as demo:
        url = demo.stdout.wait_for(DEMO_URL)[1]
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        with client:
            chat_whole, chat_stream = _ask(client, "demo-chat")
            ollama_whole, ollama_stream = _ask(client, "llama3.2")
        # demo-chat spreads over backends A and B: either may have answered each request.
        assert {chat_whole, chat_stream} <= {_demo_reply("A"), _demo_reply("B")}
        assert ollama_whole == ollama_stream == _demo_reply("Ollama")
        assert demo.stop(signal.SIGINT) == 0
    assert "demo stopped" in demo.stdout.text
    assert "Traceback" not in demo.stderr.text


def test_demo_reads_well_in_80_columns_without_a_tty(tmp_path: Path) -> None:
    with jairouter("demo", "--port", "0", cwd=tmp_path, columns=80) as demo:
        url = demo.stdout.wait_for(DEMO_URL)[1]
        demo.stdout.wait_for("^List every model: curl -s " + re.escape(url) + "/v1/models$")
        backends = dict(
            re.findall(r"^ +(A|B|Ollama) +(http://127\.0\.0\.1:\d+) ", demo.stdout.text, re.M)
        )
        assert list(backends) == ["A", "B", "Ollama"]
        for name, path in (("A", "/v1/models"), ("B", "/v1/models"), ("Ollama", "/api/tags")):
            assert httpx.get(backends[name] + path, timeout=TIMEOUT).status_code == 200
        assert demo.stop(signal.SIGINT) == 0
    lines = demo.stdout.text.splitlines()
    assert [line for line in lines if len(line) > 80] == []
    assert f"curl -s {url}/v1/chat/completions \\" in lines
    assert f'client = OpenAI(base_url="{url}/v1", api_key="unused")' in lines
    chat = next(line for line in lines if line.lstrip().startswith("chat "))
    assert chat.split() == ["chat", "demo-chat", "A,", "B", "least-connections"]


def test_demo_moves_to_a_free_port_when_the_given_one_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with jairouter("demo", "--port", str(busy), cwd=tmp_path) as demo:
            url, port = demo.stdout.wait_for(DEMO_URL).groups()
            assert int(port) != busy
            models = httpx.get(url + "/v1/models", timeout=TIMEOUT).json()
            assert {"demo-chat", "llama3.2"} <= {m["id"] for m in models["data"]}
            assert demo.stop(signal.SIGTERM) == 0
