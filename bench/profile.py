"""Profile the router under benchmark load with py-spy: where does its CPU per request go?

    python bench/profile.py                       JSON requests at concurrency 64, 10 s
    python bench/profile.py --mode stream -c 1    SSE streams (paced: --gap-ms 2)

Writes the collapsed stacks to bench/results/ (speedscope.app or flamegraph.pl draw them) and
prints the functions with the most samples, by own time and by time including callees.
Needs `pip install py-spy`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import load
import routerconf
import services

RESULTS = Path(__file__).resolve().parent / "results"


def _frame_name(frame: str) -> str:
    # py-spy frames read "function (path/to/module.py:line)"; keep function and module file.
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0] if where else ""
    return f"{name} ({module})" if module else name


def summarize(collapsed: Path, top: int) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = other_threads = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if stack.startswith("Thread._bootstrap"):
            # Helper threads (the config watcher) sleep in native code that py-spy counts as
            # active; /proc shows they use no CPU, so only the event loop's thread is ranked.
            other_threads += count
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples of the main thread ({other_threads} of helper threads left out)"]
    # The trunk every sample passes through (CLI, uvicorn, the loop) says nothing: leave it out.
    branches = Counter({k: n for k, n in inclusive.items() if n < 0.95 * total})
    for title, counter in (("own time", own), ("including callees", branches)):
        lines.append(f"\ntop {top} by {title}:")
        lines += [f"  {n / total:6.1%}  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="py-spy profile of the router under load.")
    parser.add_argument("--mode", choices=("json", "stream"), default="json")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--gap-ms", type=int, default=0, help="pace stream events (ms)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--native", action="store_true", help="include C frames (uvloop, …)")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is missing: pip install py-spy")
        return 2
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"profile-{args.mode}-c{args.concurrency}"
    workdir = Path(tempfile.mkdtemp(prefix="jairouter-profile-"))
    procs = services.Services(workdir)
    try:
        _upstream, ports = services.start_upstream(procs, 4)
        config = workdir / "jairouter.yaml"
        config.write_text(routerconf.router_config(0, ports))
        router = services.start_router(procs, config, 1)
        body = load.request_body(args.mode == "stream", args.gap_ms)
        load.run_wrk(router.url, body, args.concurrency, 1, services.LOAD_CPU)  # warm up
        record = [
            "taskset", "-c", services.LOAD_CPU, spy, "record", "--pid", str(router.pid),
            "--duration", str(args.seconds), "--rate", "250", "--format", "raw",
            "--output", f"{stem}.txt", *(["--native"] if args.native else []),
        ]  # fmt: skip
        spying = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        result = load.run_wrk(router.url, body, args.concurrency, args.seconds, services.LOAD_CPU)
        _, err = spying.communicate(timeout=args.seconds + 30)
        if spying.returncode != 0:
            print(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
            return 1
        print(f"{result.rps:.0f} req/s while profiled (py-spy samples pause the process)")
        print(summarize(Path(f"{stem}.txt"), args.top))
        print(f"\ncollapsed stacks: {stem}.txt (flamegraph.pl or speedscope.app read them)")
        return 0
    finally:
        procs.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
