"""`jairouter reload`: ask a running router to reload its config file."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, load_or_exit, stdout

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"


def reload(
    config: ConfigOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="The router's address; defaults to server.host:port of the config."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help=f"Admin token; defaults to ${TOKEN_ENV}.", show_default=False),
    ] = None,
) -> None:
    """Reload the running router's config (as SIGHUP would); exit 1 if it was rejected."""
    import httpx

    if url is None:
        server = load_or_exit(resolve_config_path(config)).server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
        url = f"http://[{host}]:{server.port}" if ":" in host else f"http://{host}:{server.port}"
    token = token or os.environ.get(TOKEN_ENV)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.post(url.rstrip("/") + "/admin/reload", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        fail(f"no router answered at {url}: {exc}")
    if answer.status_code == 401:
        fail(f"the router refused the admin request: set --token or ${TOKEN_ENV}")
    body = answer.json()
    if not body.get("reloaded"):
        kept, why = body.get("generation"), body.get("error")
        fail(f"the router kept its config (generation {kept}):\n{why}")
    stdout().print(f"reloaded: the router now serves config generation {body['generation']}")
