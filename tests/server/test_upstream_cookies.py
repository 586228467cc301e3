"""The router keeps no cookie jar: what one upstream answer sets never rides on later requests.

A proxy shared by many clients must not carry state from one client's answer into another's
request (aiohttp's default jar would, for upstreams reached by host name).
"""

from __future__ import annotations

import httpx
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import ServerThread
from tests.routers import run_router


def test_an_upstream_cookie_is_not_sent_back_on_later_requests() -> None:
    cookies_seen: list[str | None] = []

    async def chat(request: web.Request) -> web.Response:
        cookies_seen.append(request.headers.get("Cookie"))
        resp = web.json_response({"choices": [{"index": 0, "message": {"content": "ok"}}]})
        resp.set_cookie("session", "client-a-secret", path="/")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    with ServerThread(app) as upstream:
        # By host name: aiohttp's default cookie jar ignores cookies from bare IP addresses.
        url = upstream.url.replace("127.0.0.1", "localhost")
        config = Config.model_validate(
            {"services": {"chat": {"instances": [{"model": "m", "url": url}]}}}
        )
        with run_router(config) as served:
            for _ in range(3):
                answer = httpx.post(
                    served.url + "/v1/chat/completions",
                    json={"model": "m", "messages": []},
                    timeout=10,
                )
                assert answer.status_code == 200, answer.text
    assert cookies_seen == [None, None, None]
