"""X-Request-ID and the access log, end to end: the official openai client in front of the real
router, simulated upstreams behind it. Log files are read once the router has stopped, when
every line is written."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from aiohttp import web

from jairouter.config.loader import load_config
from jairouter.config.models import Config
from jairouter.simulate import Call, RequestHook, ServerThread, SimSettings, openai_app
from tests.routers import run_router

MODEL = "log-model"
SECRET = "the-launch-code-is-4242"
REPLY_WORDS = ("confidential", "answer")
HEX_ID = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def sim() -> Iterator[ServerThread]:
    settings = SimSettings(models=(MODEL,), token_delay=0.0, reply_tokens=4, words=REPLY_WORDS)
    with ServerThread(openai_app(settings)) as server:
        yield server


def logged_config(log: Path, *urls: str, **access_log: Any) -> Config:
    return Config.model_validate(
        {
            "logging": {"access_log": {"output": str(log), **access_log}},
            "services": {
                "chat": {
                    "retry": {"attempts": 2, "backoff_base": 0.001, "backoff_max": 0.001},
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                }
            },
        }
    )


def client_for(url: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, default_headers=headers)


def ask(client: openai.OpenAI, **extra: Any) -> Any:
    """The raw response, its body read to the end (a stream's too)."""
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": SECRET}], **extra
    )
    raw.http_response.read()
    return raw


def json_lines(log: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_bytes().splitlines()]


def proxied(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines of proxied requests (admin calls made by a test are logged too)."""
    return [line for line in lines if line["route"] == "proxy"]


def test_a_client_request_id_is_returned_forwarded_and_logged(
    sim: ServerThread, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url), log_format="json") as router,
        client_for(router.url, **{"X-Request-ID": "trace-me-42"}) as client,
    ):
        raw = ask(client)
    assert raw.headers["x-request-id"] == "trace-me-42"
    assert sim.journal.last.headers["X-Request-ID"] == "trace-me-42"
    [line] = json_lines(log)
    assert line["request_id"] == "trace-me-42"
    assert line["client"] == "127.0.0.1"
    assert (line["method"], line["path"], line["service"]) == (
        "POST",
        "/v1/chat/completions",
        "chat",
    )
    assert (line["model"], line["stream"], line["status"]) == (MODEL, False, 200)
    assert line["instance"] == f"{MODEL}@{sim.url}"
    assert (line["upstream_status"], line["attempts"], line["retries"]) == (200, 1, 0)
    assert line["fallback"] is None
    assert line["error"] is None
    assert line["prompt_tokens"] == raw.parse().usage.prompt_tokens
    assert line["completion_tokens"] == 4
    assert line["bytes_sent"] == len(raw.content)
    assert 0 < line["first_byte_ms"] <= line["duration_ms"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_without_a_request_id_the_router_makes_one(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url), log_format="json") as router,
        client_for(router.url) as client,
    ):
        first, second = ask(client), ask(client)
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(HEX_ID.fullmatch(rid) for rid in ids)
    assert ids[0] != ids[1]
    assert [entry.headers["X-Request-ID"] for entry in sim.journal.entries] == ids
    assert [line["request_id"] for line in json_lines(log)] == ids


@pytest.mark.parametrize("given", ["has space", "x" * 129, "tab\there"])
def test_an_unusable_request_id_is_replaced(sim: ServerThread, given: str) -> None:
    with run_router(logged_config(Path("/dev/null"), sim.url)) as router:
        resp = httpx.post(
            router.url + "/v1/chat/completions",
            json={"model": MODEL, "messages": []},
            headers={"X-Request-ID": given},
        )
    assert resp.status_code == 200
    assert HEX_ID.fullmatch(resp.headers["x-request-id"])
    assert sim.journal.last.headers["X-Request-ID"] == resp.headers["x-request-id"]


def test_errors_carry_the_request_id_and_are_logged(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url), log_format="json") as router,
        client_for(router.url, **{"X-Request-ID": "lost-model"}) as client,
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="no-such-model", messages=[])
        bad = httpx.post(router.url + "/v1/chat/completions", content=b"{not json")
    assert caught.value.response.headers["x-request-id"] == "lost-model"
    assert bad.status_code == 400
    assert HEX_ID.fullmatch(bad.headers["x-request-id"])
    missing, broken = json_lines(log)
    assert (missing["request_id"], missing["status"], missing["model"]) == (
        "lost-model",
        404,
        "no-such-model",
    )
    assert "no-such-model" in missing["error"]
    assert missing["instance"] is None
    assert (broken["status"], broken["model"]) == (400, None)
    assert "not valid JSON" in broken["error"]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL whose port refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_retries_and_streamed_tokens_are_logged(
    sim: ServerThread, refused_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    config = logged_config(log, refused_url, sim.url)
    with run_router(config, log_format="json") as router, client_for(router.url) as client:
        for _ in range(2):  # round-robin (the default): one of the two starts on the refusing one
            stream = client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            assert next(c.usage for c in stream if c.usage).completion_tokens == 4
    lines = json_lines(log)
    assert sorted(line["retries"] for line in lines) == [0, 1]
    assert {line["instance"] for line in lines} == {f"{MODEL}@{sim.url}"}
    assert all(line["stream"] and line["status"] == 200 for line in lines)
    assert [line["completion_tokens"] for line in lines] == [4, 4]


def test_the_text_format_is_one_readable_line(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url, format="text"), log_format="json") as router,
        client_for(router.url, **{"X-Request-ID": "readable-1"}) as client,
    ):
        ask(client)
    [line] = log.read_text().splitlines()
    pattern = (
        r"\S+Z 127\.0\.0\.1 readable-1 \"POST /v1/chat/completions\" 200 chat model=log-model "
        rf"instance=log-model@{re.escape(sim.url)} upstream=200 time=[\d.]+ms bytes=\d+ "
        r"tokens=\d+\+4"
    )
    assert re.fullmatch(pattern, line), line


def test_a_model_name_cannot_split_or_forge_a_text_line(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    forged = 'x"\n2026-01-01T00:00:00.000Z 10.0.0.1 forged "POST /v1/chat/completions" 200'
    with run_router(logged_config(log, sim.url, format="text")) as router:
        resp = httpx.post(
            router.url + "/v1/chat/completions", json={"model": forged, "messages": []}
        )
    assert resp.status_code == 404
    [line] = log.read_text().splitlines()
    assert f" 404 chat model={orjson.dumps(forged).decode()} " in line


def test_a_path_cannot_split_or_forge_a_text_line(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with run_router(logged_config(log, sim.url, format="text")) as router:
        # Percent-decoded, the path holds a quote and a newline.
        resp = httpx.get(router.url + '/x%22%0A2026-01-01T00:00:00.000Z 10.0.0.1 forged "GET /')
    assert resp.status_code == 404
    [line] = log.read_text().splitlines()
    assert ' "GET /x\\"\\n2026-01-01T00:00:00.000Z 10.0.0.1 forged \\"GET /" 404 ' in line


def test_prompt_and_completion_text_stay_out_of_the_log(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url), log_format="json") as router,
        client_for(router.url) as client,
    ):
        ask(client)
        ask(client, stream=True)
    text = log.read_text()
    assert len(text.splitlines()) == 2
    assert SECRET not in text
    assert "confidential" not in text
    assert all("prompt" not in line and "completion" not in line for line in json_lines(log))


@pytest.mark.parametrize("stream", [False, True])
def test_include_text_logs_prompt_and_completion(
    sim: ServerThread, tmp_path: Path, stream: bool
) -> None:
    log = tmp_path / "access.log"
    config = logged_config(log, sim.url, include_text=True)
    with run_router(config, log_format="json") as router, client_for(router.url) as client:
        ask(client, stream=stream)
    [line] = json_lines(log)
    assert line["prompt"] == {"messages": [{"role": "user", "content": SECRET}]}
    assert line["completion"].split() == ["confidential", "answer", "confidential", "answer"]


def test_the_access_log_can_be_turned_off(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with run_router(logged_config(log, sim.url, enabled=False)) as router:
        with client_for(router.url) as client:
            raw = ask(client)
        assert router.router._proxy is not None
        assert router.router._proxy.observer is None
    assert HEX_ID.fullmatch(raw.headers["x-request-id"])  # ids are kept: they cost ~0.4 µs
    assert not log.exists()


def test_a_reload_reopens_a_rotated_log_file(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    path = tmp_path / "jairouter.yaml"
    path.write_text(
        f"logging:\n  access_log:\n    output: {log}\n    format: json\n"
        f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {sim.url}\n"
    )
    with (
        run_router(load_config(path), config_path=path) as router,
        client_for(router.url) as client,
    ):
        first = ask(client).headers["x-request-id"]
        log.rename(tmp_path / "access.log.1")
        assert httpx.post(router.url + "/admin/reload").json()["reloaded"] is True
        second = ask(client).headers["x-request-id"]
    assert [line["request_id"] for line in json_lines(tmp_path / "access.log.1")] == [first]
    assert [line["request_id"] for line in proxied(json_lines(log))] == [second]


def test_a_reload_applies_a_changed_logging_block(sim: ServerThread, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    path = tmp_path / "jairouter.yaml"
    services = (
        f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {sim.url}\n"
    )
    path.write_text(f"logging:\n  access_log:\n    enabled: false\n{services}")
    with (
        run_router(load_config(path), config_path=path) as router,
        client_for(router.url) as client,
    ):
        ask(client)  # not logged
        path.write_text(f"logging:\n  access_log:\n    output: {log}\n    format: json\n{services}")
        assert httpx.post(router.url + "/admin/reload").json()["reloaded"] is True
        logged = ask(client).headers["x-request-id"]
        path.write_text(f"logging:\n  access_log:\n    output: {log}\n    format: text\n{services}")
        assert httpx.post(router.url + "/admin/reload").json()["reloaded"] is True
        as_text = ask(client).headers["x-request-id"]
    # Each request is logged once, in the format of the log it began under. The router also
    # watches the file, so a reload call may begin under the log its own write already
    # brought: the calls' lines may be in either format. The two logs' writer threads batch
    # on their own, so their lines meet in the file in either order.
    lines = log.read_text().splitlines()
    as_json = [orjson.loads(line) for line in lines if line.startswith("{")]
    text = [line for line in lines if not line.startswith("{")]
    assert [entry["request_id"] for entry in as_json if entry["route"] == "proxy"] == [logged]
    assert {entry["path"] for entry in as_json if entry["route"] != "proxy"} <= {"/admin/reload"}
    asked = [line for line in text if " chat " in line]
    assert len(asked) == 1
    assert f" {as_text} " in asked[0]
    assert all('"POST /admin/reload"' in line for line in text if line not in asked)


STALLED = "stalled-model"


async def _stall(call: Call) -> None:
    if (await call.json()).get("model") == STALLED:
        await asyncio.Event().wait()  # until cancelled: the router closed the connection


def test_a_client_that_leaves_is_logged_as_499_or_as_a_cut_stream(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    settings = SimSettings(models=(MODEL, STALLED), token_delay=0.05, reply_tokens=40, hook=_stall)
    with ServerThread(openai_app(settings)) as sim:
        config = Config.model_validate(
            {
                "logging": {"access_log": {"output": str(log)}},
                "services": {
                    "chat": {
                        "instances": [
                            {"model": MODEL, "url": sim.url},
                            {"model": STALLED, "url": sim.url},
                        ]
                    }
                },
            }
        )
        with run_router(config, log_format="json") as router:
            body = {"model": STALLED, "messages": []}
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(
                    router.url + "/v1/chat/completions",
                    json=body,
                    timeout=httpx.Timeout(10, read=0.3),
                )
            sim.journal.wait_until(lambda j: j.disconnected == 1)
            stream = {"model": MODEL, "messages": [], "stream": True}
            with (
                httpx.Client(base_url=router.url, timeout=10) as client,
                client.stream("POST", "/v1/chat/completions", json=stream) as resp,
            ):
                assert next(resp.iter_raw()).startswith(b"data: {")
            sim.journal.wait_until(lambda j: j.disconnected == 2)
    gave_up, left = json_lines(log)
    assert (gave_up["status"], gave_up["model"], gave_up["upstream_status"]) == (499, STALLED, None)
    assert gave_up["error"] == "client disconnected"
    assert (left["status"], left["upstream_status"], left["error"]) == (
        200,
        200,
        "client disconnected",
    )
    assert left["bytes_sent"] > 0


# Every other route: (method, path, status, route in the access log).
OTHER_ROUTES = [
    ("GET", "/v1/models", 200, "models"),
    ("GET", "/health", 200, "health"),
    ("GET", "/metrics", 200, "metrics"),
    ("GET", "/admin/status", 200, "admin"),
    ("POST", "/admin/reload", 422, "admin"),  # not started from a file
    ("GET", "/v1/chat/completions", 405, "proxy"),
    ("POST", "/v1/models", 405, "models"),
    ("GET", "/no/such/path", 404, None),
]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_every_route_answers_with_a_request_id_and_is_logged(
    sim: ServerThread, tmp_path: Path, fmt: str
) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url, format=fmt)) as router,
        httpx.Client(base_url=router.url) as http,
    ):
        given = http.get("/health", headers={"X-Request-ID": "probe-7"})
        answers = [http.request(method, path) for method, path, _, _ in OTHER_ROUTES]
    assert given.headers["x-request-id"] == "probe-7"
    assert [answer.status_code for answer in answers] == [row[2] for row in OTHER_ROUTES]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert all(HEX_ID.fullmatch(rid) for rid in ids)
    assert len(set(ids)) == len(ids)
    if fmt == "text":
        lines = log.read_text().splitlines()
        assert " probe-7 " in lines[0]
        for line, rid, (method, path, status, route) in zip(
            lines[1:], ids, OTHER_ROUTES, strict=True
        ):
            label = "chat" if route == "proxy" else route or "-"  # a proxied path's service
            assert f' {rid} "{method} {path}" {status} {label} ' in line
        return
    first, *lines = json_lines(log)
    assert (first["request_id"], first["route"], first["status"]) == ("probe-7", "health", 200)
    seen = [
        (line["request_id"], line["method"], line["path"], line["status"], line["route"])
        for line in lines
    ]
    assert seen == [(rid, *row) for rid, row in zip(ids, OTHER_ROUTES, strict=True)]
    assert all(line.keys() == first.keys() for line in lines)
    metrics = lines[2]
    assert (metrics["service"], metrics["model"], metrics["instance"]) == (None, None, None)
    assert metrics["bytes_sent"] == len(answers[2].content)
    not_allowed = lines[5]
    assert not_allowed["service"] == "chat"
    assert "only accepts POST" in not_allowed["error"]


def test_without_the_access_log_every_route_still_answers_with_a_request_id(
    sim: ServerThread, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    with (
        run_router(logged_config(log, sim.url, enabled=False)) as router,
        httpx.Client(base_url=router.url) as http,
    ):
        answers = [http.request(method, path) for method, path, _, _ in OTHER_ROUTES]
        kept = http.get("/admin/status", headers={"X-Request-ID": "ops-1"})
    assert all(HEX_ID.fullmatch(answer.headers["x-request-id"]) for answer in answers)
    assert kept.headers["x-request-id"] == "ops-1"
    assert not log.exists()


def _writer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "jairouter-access-log"}


def _config_logging_to(log: Path, sim_url: str) -> str:
    return (
        f"logging:\n  access_log:\n    output: {log}\n    format: json\n"
        f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {sim_url}\n"
    )


def _closed(threads: set[threading.Thread]) -> bool:
    """Whether `threads` end; the join only bounds how long a broken close may take."""
    for thread in threads:
        thread.join(timeout=10)
    return not any(thread.is_alive() for thread in threads)


def test_reloads_close_the_writers_they_replace(sim: ServerThread, tmp_path: Path) -> None:
    logs = [tmp_path / f"access-{n}.log" for n in range(4)]
    path = tmp_path / "jairouter.yaml"
    path.write_text(_config_logging_to(logs[0], sim.url))
    before = _writer_threads()
    asked: list[list[str]] = []
    with (
        run_router(load_config(path), config_path=path) as router,
        client_for(router.url) as client,
    ):
        for n, log in enumerate(logs):
            if n:
                writer = _writer_threads() - before
                path.write_text(_config_logging_to(log, sim.url))
                assert httpx.post(router.url + "/admin/reload").json()["reloaded"] is True
                # The reload call itself ended through the old writer: nothing holds it now.
                assert _closed(writer)
                assert len(_writer_threads() - before) == 1
            asked.append([ask(client).headers["x-request-id"] for _ in range(n + 1)])
    for log, ids in zip(logs, asked, strict=True):
        assert [line["request_id"] for line in proxied(json_lines(log))] == ids
    assert _writer_threads() <= before


HELD = "held-model"


def _held_stream(release: threading.Event) -> RequestHook:
    """A stream that sends one chunk, then waits for `release` before it ends."""

    async def hook(call: Call) -> web.StreamResponse | None:
        if (await call.json()).get("model") != HELD:
            return None
        chunk = {
            "id": "held",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": HELD,
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
        }
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(call.request)
        await response.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        await asyncio.to_thread(release.wait, 30)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    return hook


def test_a_stream_across_a_reload_ends_in_the_old_log_which_then_closes(tmp_path: Path) -> None:
    old_log, new_log = tmp_path / "old.log", tmp_path / "new.log"
    release = threading.Event()
    settings = SimSettings(models=(HELD,), hook=_held_stream(release))
    path = tmp_path / "jairouter.yaml"
    before = _writer_threads()
    with ServerThread(openai_app(settings)) as held_sim:
        path.write_text(_config_logging_to(old_log, held_sim.url).replace(MODEL, HELD))
        with (
            run_router(load_config(path), config_path=path) as router,
            httpx.Client(base_url=router.url, timeout=10) as client,
        ):
            old_writer = _writer_threads() - before
            stream = {"model": HELD, "messages": [], "stream": True}
            with client.stream("POST", "/v1/chat/completions", json=stream) as resp:
                chunks = resp.iter_raw()
                assert next(chunks).startswith(b"data: {")
                path.write_text(_config_logging_to(new_log, held_sim.url).replace(MODEL, HELD))
                assert client.post("/admin/reload").json()["reloaded"] is True
                # The stream began under the old writer and has not ended: it stays open.
                assert all(thread.is_alive() for thread in old_writer)
                release.set()
                rest = b"".join(chunks)
                request_id = resp.headers["x-request-id"]
            assert rest.endswith(b"data: [DONE]\n\n")
            assert _closed(old_writer)
            old_lines = proxied(json_lines(old_log))
            assert [line["request_id"] for line in old_lines] == [request_id]
            assert old_lines[0]["status"] == 200
        assert proxied(json_lines(new_log)) == []
