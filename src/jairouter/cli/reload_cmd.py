"""`jairouter reload`: ask a running router to reload its config file."""

from __future__ import annotations

from jairouter.cli.options import (
    TOKEN_ENV,
    ConfigOption,
    RouterUrlOption,
    TokenOption,
    admin_token,
    router_address,
)
from jairouter.cli.problems import fail, stdout


def reload(
    config: ConfigOption = None, url: RouterUrlOption = None, token: TokenOption = None
) -> None:
    """Reload the running router's config (as SIGHUP would); exit 1 if it was rejected."""
    import httpx

    url = router_address(url, config)
    token = admin_token(token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.post(url + "/admin/reload", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        fail(f"no router answered at {url}: {exc}")
    if answer.status_code == 401:
        fail(f"the router refused the admin request: set --token or ${TOKEN_ENV}")
    body = answer.json()
    if not body.get("reloaded"):
        kept, why = body.get("generation"), body.get("error")
        fail(f"the router kept its config (generation {kept}):\n{why}")
    stdout().print(f"reloaded: the router now serves config generation {body['generation']}")
    if body.get("restart_needed"):
        changed = ", ".join(body["restart_needed"])
        stdout().print(f"[yellow]restart the router to apply {changed}[/] (a reload cannot)")
