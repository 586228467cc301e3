from __future__ import annotations

import socket

import httpx
import pytest

from jairouter.simulate import ServerThread, SimSettings, openai_app, start


async def test_start_serves_on_a_free_port_and_close_releases_it() -> None:
    sim = await start(openai_app(SimSettings(token_delay=0)))
    assert sim.port > 0
    assert sim.url == f"http://127.0.0.1:{sim.port}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(sim.url + "/v1/models")).status_code == 200
        await sim.close()
        with pytest.raises(httpx.ConnectError):
            await client.get(sim.url + "/v1/models")


def test_server_thread_accepts_connections_once_entered() -> None:
    with ServerThread(openai_app(SimSettings(token_delay=0))) as sim:
        with socket.create_connection(("127.0.0.1", sim.port), timeout=1):
            pass
        assert httpx.get(sim.url + "/v1/models").json()["data"][0]["id"] == "sim-model"
        assert sim.journal.received == 1
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", sim.port), timeout=1),
    ):
        pass


def test_server_thread_reports_a_port_it_cannot_bind() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"), ServerThread(openai_app(), port=port):
            pass


def test_server_thread_has_no_url_before_it_runs() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = ServerThread(openai_app()).url
