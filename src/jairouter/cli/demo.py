"""`jairouter demo`: the router over built-in simulated backends, nothing else needed.

What it prints reads well in 80 columns, piped to a file as much as in a terminal: one short
line per backend with its URL whole, and commands broken into lines that fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from jairouter.cli.problems import fail

if TYPE_CHECKING:
    from rich.table import Table

    from jairouter.config.models import Config
    from jairouter.server.demo import Backends

_CURL = """curl -s {url}/v1/chat/completions \\
  -H 'Content-Type: application/json' \\
  -d '{{"model": "{model}", "stream": true,
       "messages": [{{"role": "user", "content": "Hi"}}]}}'"""

_PYTHON = """from openai import OpenAI

client = OpenAI(base_url="{url}/v1", api_key="unused")
stream = client.chat.completions.create(
    model="{model}", messages=[{{"role": "user", "content": "Hi"}}], stream=True
)
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="", flush=True)
print()"""

_KINDS = {"openai": "OpenAI-compatible", "ollama": "Ollama's native API"}


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

    from rich.syntax import Syntax

    from jairouter.cli.problems import stdout
    from jairouter.server.demo import CHAT_MODEL, OLLAMA_MODEL, run_demo
    from jairouter.server.run import bind, quiet_signal_exit

    try:
        sock = bind(host, port, fallback_to_free=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; try --port 0")
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    console = stdout()

    def code(text: str, language: str) -> Syntax | str:
        # Colours only on a terminal: elsewhere Syntax would just pad each line with blanks.
        return Syntax(text, language, word_wrap=True) if console.is_terminal else text

    def on_ready(config: Config, backends: Backends) -> None:
        console.print("Simulated backends:")
        console.print(backends_table(config, backends))
        console.print("\nServed models:")
        console.print(services_table(config, backends))
        console.print(f"\njairouter demo is running at {url}/v1 (Ctrl-C stops it)\n")
        console.print("Stream a chat reply (the two demo-chat backends take turns):")
        console.print(code(_CURL.format(url=url, model=CHAT_MODEL), "bash"))
        console.print(
            f"\nThe same through Ollama's native API (model {OLLAMA_MODEL}), from Python:"
        )
        console.print(code(_PYTHON.format(url=url, model=OLLAMA_MODEL), "python"))
        console.print(f"\nList every model: curl -s {url}/v1/models")

    with quiet_signal_exit():
        asyncio.run(run_demo(sock, token_delay, on_ready))
    sock.close()
    console.print("demo stopped")


def backends_table(config: Config, backends: Backends) -> Table:
    """One row per simulated backend: its name, whole URL and the protocol it speaks."""
    adapters = {
        inst.url: inst.adapter for service in config.services.values() for inst in service.instances
    }
    table = _plain_table()
    table.add_column("name")
    table.add_column("url", overflow="fold", min_width=max(map(len, backends.values())))
    table.add_column("kind")
    for name, url in backends.items():
        table.add_row(name, url, _KINDS.get(adapters[url], adapters[url]))
    return table


def services_table(config: Config, backends: Backends) -> Table:
    """Each service's models, the backends serving each one, and how requests spread."""
    names = {url: name for name, url in backends.items()}
    table = _plain_table(show_header=True)
    for column in ("service", "model", "backends", "load balancing"):
        table.add_column(column)
    for service, settings in config.services.items():
        by_model: dict[str, list[str]] = {}
        for inst in settings.instances:
            by_model.setdefault(inst.model, []).append(names.get(inst.url, inst.url))
        strategy = config.load_balance_of(service)
        for row, (model, serving) in enumerate(by_model.items()):
            first = row == 0
            table.add_row(
                service.value if first else "", model, ", ".join(serving), strategy if first else ""
            )
    return table


def _plain_table(*, show_header: bool = False) -> Table:
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE_HEAD if show_header else None, show_header=show_header)
