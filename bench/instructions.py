"""Instructions per request under callgrind: what a change costs, whatever the machine's speed.

Timed figures on this shared VM drift by ±25 % within an hour (docs/performance.md); a count of
executed instructions does not: three windows of 1,000 requests read 955k-958k per request.
valgrind's callgrind runs the router some 50 times slower and counts every user-space
instruction; this sends requests one after another over one keep-alive connection, between a
zeroing and a dump of the counters, and divides. It does not see what costs cycles without
instructions (cache and TLB misses, system calls), which is what load adds: use it to judge how
much work a change removes, and compare.py to see what that buys under load. Background work
only adds to a window (a round of health probes, every 10 s, ~30k per request in a window of
500), so the least count of the windows is the request's own.

    python bench/instructions.py json base=/tmp/old/src new=src
    python bench/instructions.py stream all=src nolimits=src:without=limits --requests 300

Variants as in compare.py (NAME=SRC[:OPTION,...]); `preload=json` runs 5 s at 64 clients
first, which changes cycles per request but not instructions. Needs valgrind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import compare
import load
import services

_LENGTH = re.compile(rb"^content-length:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


def send_requests(port: int, body: str, count: int) -> None:
    """`count` requests in turn on one keep-alive connection, each answer read to its end."""
    request = (
        f"POST {load.CHAT_PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"{load.PEER_HEADER[0]}: {load.PEER_HEADER[1]}\r\nContent-Length: {len(body)}\r\n\r\n"
        f"{body}"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        for _ in range(count):
            sock.sendall(request)
            buffer = b""
            while not _complete(buffer):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the router closed the connection mid-answer")
                buffer += chunk


def _complete(buffer: bytes) -> bool:
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = _LENGTH.search(head)
    if length is not None:
        return len(rest) >= int(length.group(1))
    return rest.endswith(b"0\r\n\r\n")  # chunked: the last chunk


def _instructions(dump: Path) -> int:
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no instruction total in {dump}")


def measure(
    procs: services.Services,
    variant: compare.Variant,
    config: Path,
    ports: list[int],
    mode: str,
    requests: int,
    rounds: int,
) -> list[float]:
    """Instructions per request of one router, `rounds` windows of `requests` each."""
    out = procs.workdir / f"callgrind-{variant.name}.out"
    launcher = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    # Under valgrind start-up takes minutes, not seconds.
    router = compare.start_variant(procs, variant, config, ports, launcher, timeout=300)
    port = router.port
    body = compare.body_of(mode)
    counts = []
    try:
        send_requests(port, body, 100)  # warm up: imports, caches, the upstream pool
        for number in range(1, rounds + 1):
            _control("-z", router.pid)
            send_requests(port, body, requests)
            _control("-d", router.pid)
            counts.append(_instructions(Path(f"{out}.{number}")) / requests)
            print(f"r{number} {variant.name:12} {counts[-1]:>12,.0f} instructions/req", flush=True)
    finally:
        services.stop(router)
        procs.started.remove(router)
    return counts


def _control(flag: str, pid: int) -> None:
    subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=compare.MODES)
    parser.add_argument("variants", nargs="+", help="NAME=SRC[:OPTION,...]; the first is the base")
    parser.add_argument("--requests", type=int, default=500, help="per window")
    parser.add_argument("--rounds", type=int, default=4, help="windows per variant")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is missing: apt-get install valgrind")
        return 2
    variants = [compare.parse_variant(v) for v in args.variants]
    workdir = Path(tempfile.mkdtemp(prefix="jairouter-instructions-"))
    procs = services.Services(workdir)
    least: dict[str, float] = {}
    try:
        _upstream, ports = services.start_upstream(procs, 4)
        (workdir / "config").mkdir()  # apart from the logs: the config watcher reacts to it
        for v in variants:
            config = workdir / "config" / f"{compare.config_name(v)}.yaml"
            config.write_text(compare.config_text(v, ports))
            counts = measure(procs, v, config, ports, args.mode, args.requests, args.rounds)
            least[v.name] = min(counts)
    finally:
        procs.close()
        shutil.rmtree(workdir, ignore_errors=True)
    base = least[variants[0].name]
    print(f"\n{args.mode}, {args.rounds} windows of {args.requests} requests; the least:")
    for name, count in least.items():
        print(f"  {name:12} {count:>12,.0f} instructions/req  {count - base:+10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
