"""The processes a benchmark starts (mock upstream, router, peers), pinned, and always stopped.

Every process runs in its own session; `Services.close` (also on Ctrl-C and SIGTERM, through
`run.py`) signals each group it started by id: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# taskset CPU lists; on a bigger machine give the router more cores (BENCH_ROUTER_CPUS=0-3).
LOAD_CPU = os.environ.get("BENCH_LOAD_CPUS", "1")  # load generators and the mock upstream
ROUTER_CPU = os.environ.get("BENCH_ROUTER_CPUS", "0")  # the proxy under test (jairouter or a peer)


# Benchmark traffic stays on loopback: no proxy settings reach our requests or our children.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def local_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return {**env, **(extra or {})}


def cpu_set(cpus: str) -> set[int]:
    """The CPUs of a taskset list such as "1" or "0-3,6"."""
    found: set[int] = set()
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found


class ServiceError(RuntimeError):
    """A process did not start, or did not become ready in time."""


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Services:
    """Owns every process started for one run."""

    workdir: Path
    started: list[Service] = field(default_factory=list)

    def spawn(
        self, name: str, cmd: list[str], cpu: str, port: int = 0, env: dict[str, str] | None = None
    ) -> Service:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["taskset", "-c", cpu, *cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=local_env(env),
                start_new_session=True,
            )
        service = Service(name, proc, port, log)
        self.started.append(service)
        return service

    def close(self) -> None:
        """Stop everything started here, newest first."""
        for service in reversed(self.started):
            stop(service)
        self.started.clear()


def stop(service: Service, grace: float = 10.0) -> None:
    if service.proc.poll() is not None:
        return
    _signal_group(service.proc, signal.SIGTERM)
    try:
        service.proc.wait(grace)
    except subprocess.TimeoutExpired:
        _signal_group(service.proc, signal.SIGKILL)
        service.proc.wait(5)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the group this process leads: it and its workers only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_upstream(services: Services, instances: int) -> tuple[Service, list[int]]:
    """The mock upstream on the load core; returns it and the port of each instance."""
    svc = services.spawn(
        "upstream",
        [sys.executable, str(HERE / "upstream.py"), "--instances", str(instances)],
        LOAD_CPU,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = svc.tail()
        if text.startswith("{"):
            ports: list[int] = json.loads(text.splitlines()[0])["ports"]
            svc.port = ports[0]
            return svc, ports
        if svc.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise ServiceError(f"mock upstream did not start:\n{svc.tail()}")


def jairouter_command() -> str | None:
    """The `jairouter` installed beside the Python running the benchmark (so a run from another
    interpreter's virtualenv measures that interpreter), else the one on PATH."""
    beside = Path(sys.executable).parent / "jairouter"
    return str(beside) if beside.exists() else shutil.which("jairouter")


def serve_command_ready() -> bool:
    """Whether `jairouter serve` exists yet (it is the supported way to run the router)."""
    exe = jairouter_command()
    if exe is None:
        return False
    probe = subprocess.run([exe, "serve", "--help"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


def start_router(services: Services, config: Path, workers: int) -> Service:
    """jairouter on the router core, via `jairouter serve` or, until that exists, uvicorn."""
    port = free_port()
    if serve_command_ready():
        cmd = [str(jairouter_command()), "serve", "--config", str(config), "--port", str(port)]
        cmd += ["--log-level", "warning"]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        env = None
    else:
        cmd = [
            sys.executable, "-m", "uvicorn", "jairouter.server.app:app_from_env", "--factory",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers),
        ]  # fmt: skip
        env = {"JAIROUTER_CONFIG": str(config)}
    svc = services.spawn("router", cmd, ROUTER_CPU, port, env)
    svc.name = f"router ({'jairouter serve' if env is None else 'uvicorn factory'})"
    wait_http(svc, "/health")
    return svc


def get_text(url: str, timeout: float = 5.0) -> str:
    """GET `url` straight (never through a proxy from the environment)."""
    with _NO_PROXY.open(url, timeout=timeout) as resp:
        return str(resp.read().decode())


def wait_http(svc: Service, path: str, timeout: float = 60.0) -> None:
    """Poll GET `path` until it answers below 500, or fail with the service's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise ServiceError(f"{svc.name} exited ({svc.proc.returncode}):\n{svc.tail()}")
        try:
            with _NO_PROXY.open(svc.url + path, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise ServiceError(f"{svc.name} not ready after {timeout:.0f} s:\n{svc.tail()}")
