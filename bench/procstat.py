"""What a process tree costs, read from /proc: CPU time, RSS, open fds and TCP connections.

A tree because `--workers N` makes the router a supervisor with worker children; every figure is
summed over the process and all its descendants.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_ESTABLISHED = "01"


def tree(pid: int) -> list[int]:
    """`pid` and its descendants that are alive now (this kernel has no /proc/*/children)."""
    children: dict[int, list[int]] = {}
    for entry in _listdir("/proc"):
        if entry.isdigit():
            fields = _read(f"/proc/{entry}/stat").rsplit(")", 1)[-1].split()
            if len(fields) > 1:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found = [pid] if Path(f"/proc/{pid}").exists() else []
    for p in found:  # grows while it is walked: breadth-first over a finite process table
        found.extend(children.get(p, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the tree so far (clock-tick resolution, usually 10 ms)."""
    return sum(cpu_seconds_single(p) for p in tree(pid))


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds of each process of the tree, to see how work spreads over workers."""
    return {p: cpu_seconds_single(p) for p in tree(pid)}


def cpu_seconds_single(pid: int) -> float:
    """User + system CPU time of one process, all its threads included."""
    fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
    if len(fields) < 13:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    """Resident memory of the tree in MiB (shared pages of forked workers counted per process)."""
    return sum(rss_by_process(pid).values())


def rss_by_process(pid: int) -> dict[int, float]:
    """Resident memory of each process of the tree in MiB."""
    found = {}
    for p in tree(pid):
        parts = _read(f"/proc/{p}/statm").split()
        if len(parts) > 1:
            found[p] = int(parts[1]) * _PAGE / 2**20
    return found


@dataclass(frozen=True)
class Sockets:
    """Open descriptors of a tree and what its TCP sockets are connected to."""

    fds: int
    client_conns: int  # established, local port = the listening port
    upstream_conns: int  # established, remote port one of the upstream's ports


def sockets(pid: int, listen_port: int, upstream_ports: set[int]) -> Sockets:
    inodes: set[str] = set()
    fds = 0
    for p in tree(pid):
        for fd in _listdir(f"/proc/{p}/fd"):
            fds += 1
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    clients = upstreams = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in _read(table).splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10 or cols[3] != _ESTABLISHED or cols[9] not in inodes:
                continue
            local = int(cols[1].rsplit(":", 1)[1], 16)
            remote = int(cols[2].rsplit(":", 1)[1], 16)
            if local == listen_port:
                clients += 1
            elif remote in upstream_ports:
                upstreams += 1
    return Sockets(fds, clients, upstreams)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def machine_busy_seconds() -> float:
    """CPU time all cores spent outside idle and iowait since boot (steal included)."""
    line = _read("/proc/stat").splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in line[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def io_syscalls(pid: int) -> tuple[int, int]:
    """Read- and write-type syscalls of the tree so far (read/readv, write/writev: libuv's own).

    Per proxied stream this tells whether the upstream's SSE events reached the proxy one by one
    or coalesced into fewer reads.
    """
    reads = writes = 0
    for p in tree(pid):
        for line in _read(f"/proc/{p}/io").splitlines():
            if line.startswith("syscr:"):
                reads += int(line.split()[1])
            elif line.startswith("syscw:"):
                writes += int(line.split()[1])
    return reads, writes
