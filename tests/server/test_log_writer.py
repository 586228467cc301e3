"""The access log's writer thread, and the pieces of a line that need no server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import pytest

from jairouter.server import log_writer
from jairouter.server.access_text import completion_text
from jairouter.server.log_writer import FLUSH_EVERY, LineWriter


def test_every_queued_line_is_written_in_order_by_close(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"kept\n")
    writer = LineWriter(str(path))
    lines = [f"line {i} {'x' * (i % 97)}\n".encode() for i in range(5000)]
    for line in lines:
        writer.write(line)
    writer.close()
    assert path.read_bytes() == b"kept\n" + b"".join(lines)


def test_completion_text_of_a_body_and_of_a_stream() -> None:
    body = b'{"choices":[{"message":{"role":"assistant","content":"Hello there"}}]}'
    stream = (
        b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    legacy = b'{"choices":[{"text":"once upon"}]}'
    assert completion_text(body, stream=False) == "Hello there"
    assert completion_text(stream, stream=True) == "Hello"
    assert completion_text(legacy, stream=False) == "once upon"
    assert completion_text(b"not json", stream=False) is None


def test_reopen_lets_go_of_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    writer = LineWriter(str(path))
    writer.write(b"before\n")
    path.rename(tmp_path / "access.log.1")
    writer.reopen()
    writer.write(b"after\n")
    writer.close()
    assert (tmp_path / "access.log.1").read_bytes() == b"before\n"
    assert path.read_bytes() == b"after\n"


async def test_on_a_loop_lines_reach_the_file_in_batches_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    writer = LineWriter(str(path))
    first = [f"early {i}\n".encode() for i in range(100)]
    for line in first:
        writer.write(line)
    for _ in range(200):  # the batch goes to the thread within FLUSH_EVERY
        if path.read_bytes() == b"".join(first):
            break
        await asyncio.sleep(FLUSH_EVERY / 4)
    assert path.read_bytes() == b"".join(first)
    writer.write(b"late\n")  # still waiting on the loop: close writes it too
    writer.close()
    assert path.read_bytes() == b"".join(first) + b"late\n"


def test_a_blocked_output_drops_lines_past_the_backlog_instead_of_growing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stdout into a pipe nobody reads: the thread blocks; lines past the cap are dropped and
    counted, and writing resumes once the reader catches up."""
    monkeypatch.setattr(log_writer, "MAX_BACKLOG", 50)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    filler = 0
    with contextlib.suppress(BlockingIOError):  # fill the pipe: the thread's first write blocks
        while True:
            filler += os.write(write_end, b"." * 4096)
    os.set_blocking(write_end, True)
    os.set_blocking(read_end, False)
    monkeypatch.setitem(log_writer._STREAMS, "blocked", write_end)
    writer = LineWriter("blocked")
    line = b"x" * 1000 + b"\n"
    for _ in range(200):
        writer.write(line)
    assert writer.dropped == 200 - 50  # nothing drained meanwhile: exactly the cap was kept
    received = 0
    for _ in range(1000):  # read until the thread has written everything it kept
        try:
            received += len(os.read(read_end, 1 << 16))
        except BlockingIOError:
            if writer._backlog == 0:
                break
            time.sleep(0.01)
    assert received == filler + 50 * len(line)
    writer.write(b"after\n")  # room again: written, and the drop is reported
    writer.close()
    assert writer.dropped == 0
    assert os.read(read_end, 100) == b"after\n"
    os.close(read_end)
    os.close(write_end)
