"""One worker asking its siblings over their Unix sockets, with a sibling that stops halfway
through an answer: it counts as gone, so its counters come from its last written file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jairouter.server.snapshot import Snapshot, encode
from jairouter.server.workers import Workers

SIBLING = "4242"  # a pid no test process has: the files below are a sibling's, not ours
KEPT: Snapshot = {"jairouter_requests": {("chat", "m", "http://a", "2xx"): 3.0}}


async def test_a_sibling_cut_off_mid_answer_counts_from_its_file(tmp_path: Path) -> None:
    (tmp_path / f"{SIBLING}.json").write_bytes(encode(KEPT))

    async def cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(encode(KEPT)[:10])  # no newline: it stopped while answering
        await writer.drain()
        writer.close()

    here = Workers(tmp_path, dict, {})
    sibling = await asyncio.start_unix_server(cut_off, path=str(tmp_path / f"{SIBLING}.sock"))
    async with sibling:
        live, departed = await here.snapshots()
        answers = await here.broadcast({"command": "reload"})
    assert (live, departed) == ([], [KEPT])
    assert answers == []
