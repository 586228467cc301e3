"""Interleaved A/B of router variants on one load cell: is a change worth its microseconds?

`run.py --quick` moves by ±20 µs per JSON request and ±50 µs per paced stream between identical
runs on a shared machine; a change that saves 10 µs drowns in that. This runs one cell only,
starts a fresh router per window, alternates the variants round after round and reports each
variant's median and the median of its per-round differences from the first variant, which
cancel most of the machine's drift.

    python bench/compare.py paced 64 base=/tmp/old/src new=src
    python bench/compare.py json 1 --rounds 7 main=src nolog=src:without=log
    python bench/compare.py json 64 all=src nolimits=src:without=limits min=src:config=minimal
    python bench/compare.py json 1 fresh=src after-load=src:preload=json

A variant is NAME=SRC[:OPTION,...]. SRC is a source tree put first on PYTHONPATH (`src`, or a
`git worktree` of another commit), or `bare` for bench/bare_proxy.py. Options: `config=minimal`
(one plain instance per upstream, no limits, no access log); `without=STAGE[+STAGE...]`, the
bench config with those stages off (what each costs): log, limits, breaker, health, retry,
fallback, keys (instance API keys and headers), trusted (X-Forwarded-For resolution);
`preload=json|stream|paced` (5 s at 64 clients first: a router that has been under load costs
more at one client than a fresh one); any NAME=VALUE, set in the router's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import load
import routerconf
import services
from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent
MODES = ("json", "stream", "paced")
PACED_GAP_MS = 2


@dataclass
class Variant:
    name: str
    src: str
    config: str = "bench"
    without: tuple[str, ...] = ()
    preload: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Sample:
    cpu_us: float  # router CPU time per request
    p50_ms: float
    rps: float
    reads: float  # read syscalls per request
    writes: float


def parse_variant(spec: str) -> Variant:
    name, sep, rest = spec.partition("=")
    if not sep or not name:
        raise SystemExit(f"bad variant {spec!r}: expected NAME=SRC[:OPTION,...]")
    src, _, options = rest.partition(":")
    variant = Variant(name, src)
    for option in filter(None, options.split(",")):
        key, sep, value = option.partition("=")
        if not sep:
            raise SystemExit(f"bad option {option!r} in {spec!r}: expected KEY=VALUE")
        if key == "config":
            if value not in ("bench", "minimal"):
                raise SystemExit(f"unknown config {value!r}: bench or minimal")
            variant.config = value
        elif key == "without":
            variant.without = tuple(sorted(set(value.split("+"))))
            unknown = [stage for stage in variant.without if stage not in STAGES]
            if unknown:
                raise SystemExit(f"unknown stage {unknown[0]!r}: one of {', '.join(STAGES)}")
        elif key == "preload":
            if value not in MODES:
                raise SystemExit(f"unknown preload {value!r}: one of {', '.join(MODES)}")
            variant.preload = value
        else:
            variant.env[key] = value
    if variant.without and variant.config != "bench":
        raise SystemExit(f"{spec!r}: `without` switches stages off in the bench config only")
    return variant


def _no_limits(c: dict[str, Any]) -> None:
    c["defaults"].pop("rate_limit")
    c["services"]["chat"].pop("rate_limit")


def _no_keys(c: dict[str, Any]) -> None:
    for instance in c["services"]["chat"]["instances"]:
        instance.pop("api_key", None)
        instance.pop("headers", None)


# How each stage is switched off in the bench config (routerconf.py switches them all on).
STAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "log": lambda c: c.update(logging={"access_log": {"enabled": False}}),
    "limits": _no_limits,
    "breaker": lambda c: c["defaults"].update(circuit_breaker={"enabled": False}),
    "health": lambda c: c["defaults"].update(
        health_check={"enabled": False, "outlier": {"enabled": False}}
    ),
    "retry": lambda c: c["defaults"].update(retry={"attempts": 1}),
    "fallback": lambda c: c["services"]["chat"].pop("fallback"),
    "keys": _no_keys,
    "trusted": lambda c: c["server"].pop("trusted_proxies"),
}


def config_name(variant: Variant) -> str:
    if not variant.without:
        return variant.config
    return f"{variant.config}-without-{'+'.join(variant.without)}"


def config_text(variant: Variant, ports: list[int]) -> str:
    if variant.config == "minimal":
        instances = "".join(
            f"      - {{model: {load.MODEL}, url: 'http://127.0.0.1:{p}/v1', adapter: vllm}}\n"
            for p in ports
        )
        return (
            "server: {host: 127.0.0.1, port: 0}\n"
            "logging: {access_log: {enabled: false}}\n"
            f"services:\n  chat:\n    instances:\n{instances}"
        )
    text = routerconf.router_config(0, ports)
    if not variant.without:
        return text
    config = YAML(typ="safe").load(text)
    for stage in variant.without:
        STAGES[stage](config)
    return json.dumps(config)  # YAML reads JSON


def body_of(mode: str) -> str:
    return load.request_body(mode != "json", PACED_GAP_MS if mode == "paced" else 0)


def _cpu_seconds(pid: int) -> float:
    ticks = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _syscalls(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/io") as io:
        counts = dict(line.split(": ") for line in io.read().splitlines())
    return int(counts["syscr"]), int(counts["syscw"])


def start_variant(
    procs: services.Services,
    variant: Variant,
    config: Path,
    ports: list[int],
    launcher: Sequence[str] = (),
    timeout: float = 60.0,
) -> services.Service:
    """The router (or bare proxy) of `variant` on a free port, answering and preloaded if the
    variant asks; `launcher` runs the Python that runs it (valgrind, for instructions.py)."""
    port = services.free_port()
    env = dict(variant.env)
    if variant.src == "bare":
        program = [str(HERE / "bare_proxy.py"), str(port), *map(str, ports)]
    else:
        env["PYTHONPATH"] = str(Path(variant.src).resolve())
        program = [
            "-c", "from jairouter.cli.main import run; run()", "serve",
            "--config", str(config), "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
    cmd = [*launcher, sys.executable, *program]
    router = procs.spawn(variant.name, cmd, services.ROUTER_CPU, port, env)
    services.wait_http(router, "/health", timeout=timeout)
    if variant.preload:
        load.run_wrk(router.url, body_of(variant.preload), 64, 5, services.LOAD_CPU)
    return router


def measure(
    procs: services.Services,
    variant: Variant,
    configs: dict[str, Path],
    ports: list[int],
    mode: str,
    clients: int,
    seconds: float,
) -> Sample:
    router = start_variant(procs, variant, configs[config_name(variant)], ports)
    try:
        body = body_of(mode)
        load.run_wrk(router.url, body, clients, 1, services.LOAD_CPU)  # warm up
        cpu, (reads, writes) = _cpu_seconds(router.pid), _syscalls(router.pid)
        result = load.run_wrk(router.url, body, clients, seconds, services.LOAD_CPU)
        cpu = _cpu_seconds(router.pid) - cpu
        reads2, writes2 = _syscalls(router.pid)
    finally:
        services.stop(router)
        procs.started.remove(router)
    n = max(1, result.requests)
    return Sample(
        cpu / n * 1e6, result.p50_ms, result.rps, (reads2 - reads) / n, (writes2 - writes) / n
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("clients", type=int)
    parser.add_argument("variants", nargs="+", help="NAME=SRC[:OPTION,...]; the first is the base")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = [parse_variant(v) for v in args.variants]
    workdir = Path(tempfile.mkdtemp(prefix="jairouter-compare-"))
    procs = services.Services(workdir)
    samples: dict[str, list[Sample]] = {v.name: [] for v in variants}
    try:
        _upstream, ports = services.start_upstream(procs, 4)
        # Configs apart from the routers' logs: the config watcher reacts to its directory.
        (workdir / "config").mkdir()
        configs = {}
        for v in variants:
            name = config_name(v)
            configs[name] = workdir / "config" / f"{name}.yaml"
            configs[name].write_text(config_text(v, ports))
        for round_no in range(args.rounds):
            for v in variants:
                s = measure(procs, v, configs, ports, args.mode, args.clients, args.seconds)
                samples[v.name].append(s)
                print(
                    f"r{round_no} {v.name:12} {s.cpu_us:7.1f} µs/req  p50 {s.p50_ms:7.3f} ms  "
                    f"{s.rps:8.0f} req/s  rd/wr {s.reads:.1f}/{s.writes:.1f}",
                    flush=True,
                )
    finally:
        procs.close()
    base = samples[variants[0].name]
    print(f"\n{args.mode}, {args.clients} clients, {args.rounds} rounds; medians, and of the "
          f"per-round differences from {variants[0].name}:")  # fmt: skip
    for v in variants:
        mine = samples[v.name]
        cpu = statistics.median(s.cpu_us for s in mine)
        p50 = statistics.median(s.p50_ms for s in mine)
        d_cpu = statistics.median(a.cpu_us - b.cpu_us for a, b in zip(mine, base, strict=True))
        d_p50 = statistics.median(a.p50_ms - b.p50_ms for a, b in zip(mine, base, strict=True))
        print(f"  {v.name:12} {cpu:7.1f} µs/req {d_cpu:+7.1f}   p50 {p50:.3f} ms {d_p50:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
