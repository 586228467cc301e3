"""The workers of one `jairouter serve --workers N` acting as one router.

The parent creates a run directory and names it in $JAIROUTER_RUN_DIR. In it each worker
keeps `<pid>.sock`, a Unix socket its siblings ask for its metrics snapshot or send commands
(reload, breaker reset) to, and `<pid>.json`, its counters written about every second and at
shutdown: once a worker has exited (or died) its file still counts, so totals never go back.

A scrape asks every running sibling over its socket, so the merged counts are exact at that
moment; files are read only for workers that no longer answer. File I/O runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from jairouter.server.snapshot import Snapshot, decode, encode

RUN_DIR_ENV = "JAIROUTER_RUN_DIR"
WRITE_EVERY = 1.0
ASK_TIMEOUT = 5.0  # a sibling's loop may be busy, never this long

log = logging.getLogger("jairouter.workers")

Command = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


class Workers:
    """This worker's part: it serves `snapshot()` and `commands` to its siblings, and asks
    theirs. `commands[name](request)` runs a request `{"command": name, ...}` here."""

    def __init__(
        self, run_dir: Path, snapshot: Callable[[], Snapshot], commands: Mapping[str, Command]
    ) -> None:
        self.run_dir = run_dir
        self.pid = os.getpid()
        self._snapshot = snapshot
        self._commands = commands
        self._socket = run_dir / f"{self.pid}.sock"
        self._file = run_dir / f"{self.pid}.json"
        self._server: asyncio.Server | None = None
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._write()  # before the socket: a sibling that sees one finds the other
        self._server = await asyncio.start_unix_server(self._answer, path=str(self._socket))
        self._writer = asyncio.get_running_loop().create_task(
            self._write_every(), name="jairouter-worker-snapshot"
        )

    async def stop(self) -> None:
        """Write the final counts, then stop answering (in that order: see `snapshots`)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self._write()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._socket.unlink(missing_ok=True)

    async def snapshots(self) -> tuple[list[Snapshot], list[Snapshot]]:
        """Running siblings' snapshots, asked now, and the last ones of exited workers."""
        sockets, files = await asyncio.to_thread(self._siblings)
        answers = await asyncio.gather(*(_ask(path, {"command": "snapshot"}) for path in sockets))
        live: list[Snapshot] = []
        gone: list[Path] = []
        for path, answer in zip(sockets, answers, strict=True):
            if answer is None:
                gone.append(path.with_suffix(".json"))
            else:
                live.append(decode(answer))
        gone.extend(files)
        departed = await asyncio.to_thread(_read_all, gone)
        return live, departed

    async def broadcast(self, request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Run `request` on every running sibling; their answers (none from those that did
        not answer: stopping, or dead)."""
        sockets, _ = await asyncio.to_thread(self._siblings)
        answers = await asyncio.gather(*(_ask(path, request) for path in sockets))
        return [orjson.loads(answer) for answer in answers if answer is not None]

    def _siblings(self) -> tuple[list[Path], list[Path]]:
        """Other workers' sockets, and the files of workers without one."""
        sockets: list[Path] = []
        files: list[Path] = []
        for path in self.run_dir.iterdir():
            if path.stem == str(self.pid):
                continue
            if path.suffix == ".sock":
                sockets.append(path)
            elif path.suffix == ".json" and not path.with_suffix(".sock").exists():
                files.append(path)
        return sockets, files

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = orjson.loads(await reader.readline())
            name = str(request.get("command")) if isinstance(request, dict) else ""
            if name == "snapshot":
                answer = encode(self._snapshot())
            elif name in self._commands:
                answer = orjson.dumps(await self._commands[name](request))
            else:
                answer = orjson.dumps({"error": f"unknown command {name!r}"})
            writer.write(answer + b"\n")
            await writer.drain()
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("a sibling worker's request failed: %r", exc)
        finally:
            writer.close()

    async def _write_every(self) -> None:
        while True:
            await asyncio.sleep(WRITE_EVERY)
            await self._write()

    async def _write(self) -> None:
        data = encode(self._snapshot())  # read on the loop, where the counters change
        await asyncio.to_thread(_replace, self._file, data)


def on_stop_signal(callback: Callable[[], None]) -> None:
    """Run `callback` on the loop at SIGINT or SIGTERM, then the handler installed before it
    (uvicorn's, which starts the drain).

    uvicorn's supervisor builds each worker's server, so a worker cannot learn of the drain
    the way `run.RouterServer` does; it is told by the SIGTERM the supervisor sends (Ctrl-C
    reaches every process of the group as SIGINT). uvicorn restores the handlers it found
    when it exits. Only the main thread may set handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)

        def chained(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, chained)


async def _ask(socket: Path, request: Mapping[str, Any]) -> bytes | None:
    """The sibling's one-line answer, or None if it gives none whole (gone, or stopping)."""
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            reader, writer = await asyncio.open_unix_connection(str(socket))
            try:
                writer.write(orjson.dumps(request) + b"\n")
                await writer.drain()
                answer = await reader.readline()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None
    # Without its newline the answer was cut off: the sibling stopped while answering.
    return answer if answer.endswith(b"\n") else None


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a reader sees the old file or the new one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _read_all(paths: list[Path]) -> list[Snapshot]:
    snapshots = []
    for path in paths:
        try:
            snapshots.append(decode(path.read_bytes()))
        except (OSError, ValueError) as exc:
            log.warning("cannot read the counters of exited worker %s: %r", path.stem, exc)
    return snapshots
