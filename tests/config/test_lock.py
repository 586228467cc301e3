from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jairouter.config.lock import lock_path, locked, write_atomic

HOLD = """\
import sys
from pathlib import Path
from jairouter.config.lock import locked
with locked(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes it
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the edit lock of tmp_path/jairouter.yaml until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "jairouter.yaml")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "locked\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def test_the_lock_file_sits_beside_the_config_and_stays(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    assert lock_path(path) == tmp_path / ".jairouter.yaml.lock"
    with locked(path):
        assert lock_path(path).exists()
    assert os.listdir(tmp_path) == [".jairouter.yaml.lock"]


def test_another_process_holding_the_lock_makes_a_writer_wait_then_give_up(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    path = tmp_path / "jairouter.yaml"
    started = time.monotonic()
    held = r"another writer has held .*\.jairouter\.yaml\.lock"
    with pytest.raises(TimeoutError, match=held), locked(path, timeout=0.2):
        pass
    assert time.monotonic() - started >= 0.2
    assert holder.stdin is not None
    holder.stdin.close()  # the holder finishes its edit
    holder.wait(timeout=10)
    with locked(path, timeout=5):
        pass


def test_a_holder_that_dies_releases_the_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with locked(tmp_path / "jairouter.yaml", timeout=1):
        pass


def test_threads_take_turns(tmp_path: Path) -> None:
    """Read-modify-write of a counter by many threads loses no increment under the lock."""
    path = tmp_path / "counter"
    path.write_text("0", encoding="utf-8")

    def increment(_: int) -> None:
        with locked(path):
            value = int(path.read_text(encoding="utf-8"))
            time.sleep(0.001)  # widen the window a lost update would need
            write_atomic(path, str(value + 1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(increment, range(40)))
    assert path.read_text(encoding="utf-8") == "40"


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    with pytest.raises(RuntimeError), locked(path):
        raise RuntimeError("boom")
    done = threading.Event()

    def relock() -> None:
        with locked(path, timeout=1):
            done.set()

    thread = threading.Thread(target=relock)
    thread.start()
    thread.join(timeout=5)
    assert done.is_set()


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), locked(tmp_path / "nope" / "jairouter.yaml"):
        pass
