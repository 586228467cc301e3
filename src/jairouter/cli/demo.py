"""`jairouter demo`: the router over built-in simulated backends, nothing else needed."""

from __future__ import annotations

from typing import Annotated

import typer

from jairouter.cli.problems import fail

_CURL = """curl -s {url}/v1/chat/completions -H 'Content-Type: application/json' \\
  -d '{{"model": "{model}", "messages": [{{"role": "user", "content": "Hi"}}], "stream": true}}'"""

_PYTHON = """from openai import OpenAI

client = OpenAI(base_url="{url}/v1", api_key="unused")
stream = client.chat.completions.create(
    model="{model}", messages=[{{"role": "user", "content": "Hi"}}], stream=True
)
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="", flush=True)
print()"""


def demo(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="Port to try first; a free one if taken."),
    ] = 8080,
    token_delay: Annotated[
        float, typer.Option("--token-delay", min=0.0, help="Seconds between streamed tokens.")
    ] = 0.05,
) -> None:
    """Run the router over simulated OpenAI-compatible and Ollama backends; Ctrl-C stops all."""
    import asyncio

    from rich.panel import Panel
    from rich.syntax import Syntax

    from jairouter.cli.instances import instance_rows, instances_table
    from jairouter.cli.problems import stdout
    from jairouter.config.models import Config
    from jairouter.server.demo import CHAT_MODEL, OLLAMA_MODEL, run_demo
    from jairouter.server.run import bind, quiet_signal_exit

    try:
        sock = bind(host, port, fallback_to_free=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; try --port 0")
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    console = stdout()

    def on_ready(config: Config) -> None:
        console.print(instances_table(instance_rows(config), "simulated backends"))
        console.print(
            f"\njairouter demo is running at [bold]{url}/v1[/bold]  (Ctrl-C stops it)\n",
            markup=True,
        )
        console.print("Stream a chat reply (the two demo-chat backends take turns):")
        console.print(Syntax(_CURL.format(url=url, model=CHAT_MODEL), "bash", word_wrap=True))
        console.print(
            f"\nThe same through Ollama's native API (model {OLLAMA_MODEL}), from Python:"
        )
        console.print(Syntax(_PYTHON.format(url=url, model=OLLAMA_MODEL), "python"))
        console.print(Panel.fit(f"curl -s {url}/v1/models   lists every model", border_style="dim"))

    with quiet_signal_exit():
        asyncio.run(run_demo(sock, token_delay, on_ready))
    sock.close()
    console.print("demo stopped")
