"""Benchmark jairouter against its upstream: the same load direct and through the router.

    python bench/run.py                  full run: concurrency 1/16/64, JSON and SSE, 3 rounds
    python bench/run.py --quick          concurrency 1 and 64, under a minute
    python bench/run.py --peer litellm   also LiteLLM's proxy, same upstream, same load
    python bench/run.py --soak           also 1,000 held streams + 100k requests, leak checks
    python bench/run.py --workers 2      router with 2 worker processes (both on the router core)

The router runs pinned to CPU 0; the mock upstream and load generators share CPU 1
(BENCH_ROUTER_CPUS and BENCH_LOAD_CPUS change that: with both at 0-1 two workers get a core
each on a 2-core machine, docs/performance.md "Workers"). Figures are medians over rounds;
everything goes to bench/results/*.json, and the last line printed is one JSON object of
headline figures. docs/performance.md explains each figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

import load
import peers
import procstat
import report
import routerconf
import services
from measure import Cell, Target, Timing, Window, measure
from soak import SoakPlan, run_soak, soak_verdicts

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
INSTANCES = 4
PACED_GAP_MS = 2  # 64 streams x 500 events/s: every event reaches the router on its own


@dataclass(frozen=True)
class Plan:
    concurrencies: tuple[int, ...]
    rounds: int
    wrk_seconds: float
    client_seconds: float
    attempts: int  # per window, when other processes load the machine
    retry_budget_s: float  # after this many seconds into the run, windows are not repeated
    peer_concurrencies: tuple[int, ...] = (1, 64)
    peer_seconds: float = 5.0


QUICK = Plan((1, 64), rounds=3, wrk_seconds=1, client_seconds=0.5, attempts=2, retry_budget_s=12)
FULL = Plan((1, 16, 64), rounds=3, wrk_seconds=5, client_seconds=3, attempts=3, retry_budget_s=900)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure jairouter against direct upstream access.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--quick", action="store_true", help="concurrency 1 and 64, under 60 s")
    parser.add_argument(
        "--peer",
        choices=peers.PEERS,
        action="append",
        default=[],
        help="also measure this proxy (installed into its own virtualenv on first use)",
    )
    parser.add_argument("--soak", action="store_true", help="add the soak phase (a few minutes)")
    parser.add_argument("--workers", type=int, default=1, help="router worker processes")
    parser.add_argument("--rounds", type=int, help="override the plan's rounds")
    parser.add_argument(
        "--paced-gap-ms",
        type=int,
        default=PACED_GAP_MS,
        help="ms between SSE events in the paced-stream cell (stream cells send them back to back)",
    )
    parser.add_argument("--soak-requests", type=int, default=SoakPlan.requests)
    parser.add_argument("--out", type=Path, help="results file (default bench/results/…json)")
    return parser.parse_args(argv)


def _on_signal(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwind through `finally`, which stops every process we started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y {tool.replace('taskset', 'util-linux')}")
            return 2
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**asdict(plan), "rounds": args.rounds})
    os.sched_setaffinity(
        0, services.cpu_set(services.LOAD_CPU)
    )  # the harness itself stays off the router core
    # SIGINT too: a shell starts background jobs with it ignored, and Python keeps it so.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="jairouter-bench-"))
    procs = services.Services(workdir)
    try:
        results = run(args, plan, procs)
    except KeyboardInterrupt:
        print("interrupted; stopping everything started", file=sys.stderr)
        return 130
    except (services.ServiceError, load.LoadError) as exc:
        print(f"benchmark failed: {exc}\n(logs kept in {workdir})", file=sys.stderr)
        return 1
    finally:
        procs.close()
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results["headline"]))
    return 0


def run(args: argparse.Namespace, plan: Plan, procs: services.Services) -> dict[str, object]:
    started = time.monotonic()
    timing = Timing(
        plan.wrk_seconds, plan.client_seconds, plan.attempts, started + plan.retry_budget_s
    )
    upstream, ports = services.start_upstream(procs, INSTANCES)
    config = procs.workdir / "jairouter.yaml"
    config.write_text(routerconf.router_config(0, ports))
    router = services.start_router(procs, config, args.workers)
    print(f"{router.name} pid {router.pid} on CPU {services.ROUTER_CPU}, workers {args.workers}")
    rss_before = procstat.rss_mb(router.pid)
    direct = Target("direct", upstream.url, None)
    jai = Target("jairouter", router.url, router.pid)
    proxies = [jai]
    if "bare" in args.peer:  # the floor, measured in every cell next to jairouter
        floor = peers.start_bare(procs, ports)
        print(f"{floor.name} pid {floor.pid} on CPU {services.ROUTER_CPU}")
        proxies.append(Target("bare", floor.url, floor.pid))
    cells = [Cell(s, c) for s in (False, True) for c in plan.concurrencies]
    cells.append(Cell(True, 64, args.paced_gap_ms))

    _warm_up(proxies)  # the mock needs none
    cpu_start = procstat.cpu_by_process(router.pid)
    windows = _rounds([direct, *proxies], cells, plan.rounds, upstream.pid, timing)
    cpu_end = procstat.cpu_by_process(router.pid)
    rss_after = procstat.rss_mb(router.pid)
    meta: dict[str, object] = {
        "router_cpu_by_process_s": {
            str(p): round(cpu_end[p] - cpu_start.get(p, 0.0), 2) for p in cpu_end
        },
    }

    for name in (p for p in args.peer if p == "litellm"):
        peer = peers.start_litellm(procs, ports)
        print(f"{peer.name} pid {peer.pid} on CPU {services.ROUTER_CPU}")
        target = Target(name, peer.url, peer.pid)
        _warm_up([target], seconds=3, concurrency=4)
        peer_cells = [Cell(s, c) for s in (False, True) for c in plan.peer_concurrencies]
        peer_timing = Timing(plan.peer_seconds, plan.peer_seconds, 1, 0.0)
        windows += _rounds([target], peer_cells, plan.rounds, upstream.pid, peer_timing)
        meta[f"{name}_rss_mb_after"] = procstat.rss_mb(peer.pid)
        meta[f"{name}_version"] = peer.name
        services.stop(peer)

    soak: dict[str, object] = {}
    if args.soak:
        soak = run_soak(router, ports, SoakPlan(requests=args.soak_requests))
        rss_after = procstat.rss_mb(router.pid)

    summary = report.summarize(windows)
    figures: dict[str, object] = dict(report.headline(summary))
    for name in args.peer:
        if name == "bare":
            figures.update(report.floor_headline(summary))
        else:
            figures.update(report.peer_headline(summary, name))
    if args.workers > 1:  # the target is per process; the supervisor is not a worker
        workers_rss = procstat.rss_by_process(router.pid)
        workers_rss.pop(router.pid, None)
        figures["rss_mb_after_max_process"] = max(workers_rss.values(), default=None)
    figures.update(
        rss_mb_before=rss_before,
        rss_mb_after=rss_after,
        workers=args.workers,
        quick=args.quick,
        paced_gap_ms=args.paced_gap_ms,
        wall_s=time.monotonic() - started,
    )
    figures.update({k: v for k, v in soak.items() if isinstance(v, int | float)})
    headline = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}

    print()
    print(report.table(summary, ["jairouter", *args.peer]))
    print()
    print("\n".join(report.verdicts(figures)))
    if soak:
        print("\n".join(soak_verdicts(figures)))
    flagged = [w for w in windows if w.notes]
    if flagged:
        print(f"{len(flagged)} windows measured under foreign CPU load (see results file)")
    results: dict[str, object] = {
        "headline": headline,
        "cells": summary,
        "machine": _machine(),
        "router": {"how": router.name, "workers": args.workers, "config": config.read_text()},
        "plan": asdict(plan),
        "meta": meta,
        "soak": soak,
        "windows": [_window_dict(w) for w in windows],
    }
    out = args.out or RESULTS / _result_name(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"results: {out}")
    return results


def _rounds(
    targets: list[Target],
    cells: list[Cell],
    rounds: int,
    upstream_pid: int,
    timing: Timing,
) -> list[Window]:
    """Every cell on every target, round after round, targets interleaved within a cell so
    that drift in the machine's speed hits them alike."""
    windows = []
    for round_no in range(1, rounds + 1):
        for cell in cells:
            for target in targets:
                w = measure(target, cell, upstream_pid, timing, round_no)
                windows.append(w)
                ttft = f" ttft {w.client.ttft_p50_ms:.3f} ms" if w.client else ""
                cpu = f" cpu {w.proxy_cpu_us_per_req:.0f} us" if w.proxy_cpu_us_per_req else ""
                print(
                    f"  r{round_no} {target.name:<9} {cell.mode:<6} c{cell.concurrency:<3}"
                    f" {w.wrk.rps:>9.0f} rps  p50 {w.wrk.p50_ms:.3f} ms{ttft}{cpu}"
                    f"{'  [' + '; '.join(w.notes) + ']' if w.notes else ''}",
                    flush=True,
                )
    return windows


def _warm_up(targets: list[Target], seconds: float = 1, concurrency: int = 64) -> None:
    """Open connection pools and warm caches; nothing from here is recorded."""
    for target in targets:
        for stream in (False, True):
            body = load.request_body(stream)
            load.run_wrk(target.url, body, concurrency, seconds, services.LOAD_CPU)


def _window_dict(w: Window) -> dict[str, object]:
    d = asdict(w)
    d["wrk"] = w.wrk.as_dict()
    d["client"] = w.client.as_dict() if w.client else None
    return d


def _machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty_src": bool(_git("status", "--porcelain", "--", "src")),
        "wrk": _first_line(["wrk", "--version"]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _git(*args: str) -> str:
    return _first_line(["git", "-C", str(HERE.parent), *args])


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def _result_name(args: argparse.Namespace) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = [stamp, "quick" if args.quick else "full", *args.peer]
    if args.soak:
        parts.append("soak")
    if args.workers > 1:
        parts.append(f"w{args.workers}")
    return "-".join(parts) + ".json"


if __name__ == "__main__":
    sys.exit(main())
