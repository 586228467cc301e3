"""From measurement windows to medians, a printed table, and the headline figures.

Every figure is the median over rounds of one (target, mode, concurrency) cell; ratios and
differences are taken between those medians.

    python bench/report.py bench/results/<file>.json    a results file as Markdown tables
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from measure import Window

# The targets docs/performance.md sets; (headline key, comparison, limit).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("added_p50_ms_c1", "<=", 0.4),
    ("ttft_added_ms_c1", "<=", 0.6),
    ("cpu_us_per_req_c64", "<=", 250),
    ("cpu_us_per_stream_c64", "<=", 650),
    ("rps_c64", ">=", 3000),
    ("litellm_speedup_c64", ">=", 50),
    ("rss_mb_after", "<=", 120),
)

Cells = dict[str, dict[str, float | None]]


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def cell_key(target: str, mode: str, concurrency: int) -> str:
    return f"{target}/{mode}/c{concurrency}"


def summarize(windows: list[Window]) -> Cells:
    """Median figures of every (target, mode, concurrency) cell measured."""
    groups: dict[str, list[Window]] = {}
    for w in windows:
        groups.setdefault(cell_key(w.target, w.mode, w.concurrency), []).append(w)
    fields: dict[str, Callable[[Window], float | None]] = {
        "rps": lambda w: w.wrk.rps,
        "p50_ms": lambda w: w.wrk.p50_ms,
        "p90_ms": lambda w: w.wrk.p90_ms,
        "p99_ms": lambda w: w.wrk.p99_ms,
        "ttft_p50_ms": lambda w: w.client.ttft_p50_ms if w.client else None,
        "ttft_p99_ms": lambda w: w.client.ttft_p99_ms if w.client else None,
        "client_rps": lambda w: w.client.rps if w.client else None,
        "client_p50_ms": lambda w: w.client.p50_ms if w.client else None,
        "cpu_us_per_req": lambda w: w.proxy_cpu_us_per_req,
        "proxy_core_busy": lambda w: w.proxy_core_busy,
        "reads_per_req": lambda w: w.proxy_reads_per_req,
        "writes_per_req": lambda w: w.proxy_writes_per_req,
        "load_core_busy": lambda w: w.load_core_busy,
        "foreign_cores": lambda w: w.foreign_cores,
    }
    cells: Cells = {}
    for key, group in groups.items():
        cells[key] = {name: _median(get(w) for w in group) for name, get in fields.items()}
        cells[key]["rounds"] = len(group)
    return cells


def _get(cells: Cells, key: str, name: str) -> float | None:
    return cells.get(key, {}).get(name)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def headline(cells: Cells, proxy: str = "jairouter") -> dict[str, float | None]:
    """The figures the final JSON line carries (see docs/performance.md for each)."""

    def g(target: str, mode: str, c: int, name: str) -> float | None:
        return _get(cells, cell_key(target, mode, c), name)

    return {
        "added_p50_ms_c1": _diff(g(proxy, "json", 1, "p50_ms"), g("direct", "json", 1, "p50_ms")),
        "added_p99_ms_c1": _diff(g(proxy, "json", 1, "p99_ms"), g("direct", "json", 1, "p99_ms")),
        "ttft_added_ms_c1": _diff(
            g(proxy, "stream", 1, "ttft_p50_ms"), g("direct", "stream", 1, "ttft_p50_ms")
        ),
        "stream_added_p50_ms_c1": _diff(
            g(proxy, "stream", 1, "p50_ms"), g("direct", "stream", 1, "p50_ms")
        ),
        "rps_c64": g(proxy, "json", 64, "rps"),
        "rps_ratio_c64": _ratio(g(proxy, "json", 64, "rps"), g("direct", "json", 64, "rps")),
        "stream_rps_c64": g(proxy, "stream", 64, "rps"),
        "stream_rps_ratio_c64": _ratio(
            g(proxy, "stream", 64, "rps"), g("direct", "stream", 64, "rps")
        ),
        "cpu_us_per_req_c64": g(proxy, "json", 64, "cpu_us_per_req"),
        "cpu_us_per_stream_c64": g(proxy, "paced", 64, "cpu_us_per_req"),
        "cpu_us_per_stream_burst_c64": g(proxy, "stream", 64, "cpu_us_per_req"),
        "reads_per_stream_paced_c64": g(proxy, "paced", 64, "reads_per_req"),
        "paced_rps_ratio_c64": _ratio(
            g(proxy, "paced", 64, "rps"), g("direct", "paced", 64, "rps")
        ),
        "client_rps_direct_stream_c64": g("direct", "stream", 64, "client_rps"),
        "load_core_busy_c64": g(proxy, "json", 64, "load_core_busy"),
    }


FLOOR_FIGURES = (
    "added_p50_ms_c1",
    "ttft_added_ms_c1",
    "cpu_us_per_req_c64",
    "cpu_us_per_stream_c64",
    "cpu_us_per_stream_burst_c64",
    "rps_c64",
)


def floor_headline(cells: Cells) -> dict[str, float | None]:
    """The bare proxy's figures (`bare_*`) and what jairouter costs on top (`pipeline_*`)."""
    ours, floor = headline(cells), headline(cells, "bare")
    figures: dict[str, float | None] = {}
    for name in FLOOR_FIGURES:
        figures[f"bare_{name}"] = floor[name]
        if name != "rps_c64":
            figures[f"pipeline_{name}"] = _diff(ours[name], floor[name])
    return figures


def peer_headline(cells: Cells, peer: str) -> dict[str, float | None]:
    """The peer's c64 figures and how many times faster jairouter is."""

    def g(target: str, mode: str, name: str) -> float | None:
        return _get(cells, cell_key(target, mode, 64), name)

    return {
        f"{peer}_rps_c64": g(peer, "json", "rps"),
        f"{peer}_stream_rps_c64": g(peer, "stream", "rps"),
        f"{peer}_speedup_c64": _ratio(g("jairouter", "json", "rps"), g(peer, "json", "rps")),
        f"{peer}_stream_speedup_c64": _ratio(
            g("jairouter", "stream", "rps"), g(peer, "stream", "rps")
        ),
        f"{peer}_cpu_us_per_req_c64": g(peer, "json", "cpu_us_per_req"),
        f"{peer}_added_p50_ms_c1": _diff(
            _get(cells, cell_key(peer, "json", 1), "p50_ms"),
            _get(cells, cell_key("direct", "json", 1), "p50_ms"),
        ),
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


_MODE_ORDER = {"json": 0, "stream": 1, "paced": 2}


def _pairs(
    cells: Cells, proxies: list[str]
) -> Iterator[tuple[str, str, str, dict[str, float | None], dict[str, float | None]]]:
    """Each measured (proxy, mode, concurrency) with its direct cell and its proxy cell, in
    table order: proxies as given, then mode, then concurrency."""
    keys = sorted(
        {tuple(k.split("/")) for k in cells}, key=lambda t: (_MODE_ORDER[t[1]], int(t[2][1:]))
    )
    for proxy in proxies:
        for _target, mode, conc in (k for k in keys if k[0] == proxy):
            yield (
                proxy,
                mode,
                conc,
                cells.get(f"direct/{mode}/{conc}", {}),
                cells[f"{proxy}/{mode}/{conc}"],
            )


def table(cells: Cells, proxies: list[str]) -> str:
    """One line per (proxy, mode, concurrency): the proxy against direct, side by side."""
    head = (
        f"{'proxy':<10} {'mode':<6} {'c':>3} | {'rps direct':>10} {'rps proxy':>10} {'ratio':>6} |"
        f" {'p50 d/p ms':>13} {'p99 d/p ms':>13} | {'TTFT p50 d/p':>13} |"
        f" {'CPU us/req':>10} {'rd/wr per req':>13} {'cores p/load':>12}"
    )
    lines = [head, "-" * len(head)]
    for proxy, mode, conc, d, p in _pairs(cells, proxies):
        lines.append(
            f"{proxy:<10} {mode:<6} {conc[1:]:>3} | {_fmt(d.get('rps'), 0):>10}"
            f" {_fmt(p['rps'], 0):>10} {_fmt(_ratio(p['rps'], d.get('rps')), 3):>6} |"
            f" {_fmt(d.get('p50_ms')):>6}/{_fmt(p['p50_ms']):<6}"
            f" {_fmt(d.get('p99_ms')):>6}/{_fmt(p['p99_ms']):<6} |"
            f" {_fmt(d.get('ttft_p50_ms')):>6}/{_fmt(p['ttft_p50_ms']):<6} |"
            f" {_fmt(p['cpu_us_per_req'], 0):>10}"
            f" {_fmt(p['reads_per_req'], 1):>6}/{_fmt(p['writes_per_req'], 1):<6}"
            f" {_fmt(p['proxy_core_busy']):>5}/{_fmt(p['load_core_busy']):<6}"
        )
    return "\n".join(lines)


def verdicts(figures: dict[str, float | None]) -> list[str]:
    """Each target with the measured figure and whether it is met."""
    out = []
    for key, op, limit in TARGETS:
        if key == "rss_mb_after" and figures.get("rss_mb_after_max_process") is not None:
            key = "rss_mb_after_max_process"  # the target is per worker, not for the tree
        value = figures.get(key)
        if value is None:
            continue
        ok = value <= limit if op == "<=" else value >= limit
        out.append(f"{'ok  ' if ok else 'MISS'} {key} = {_fmt(value, 3)} (target {op} {limit:g})")
    return out


def markdown(cells: Cells, proxies: list[str]) -> str:
    """The results table as Markdown, for docs/performance.md."""
    lines = [
        "| proxy | mode | clients | req/s direct | req/s proxy | ratio | p50 ms direct / proxy |"
        " p99 ms direct / proxy | TTFT p50 ms direct / proxy | proxy CPU µs/req |"
        " reads/writes per req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for proxy, mode, conc, d, p in _pairs(cells, proxies):
        lines.append(
            f"| {proxy} | {mode} | {conc[1:]} | {_fmt(d.get('rps'), 0)} | {_fmt(p['rps'], 0)} |"
            f" {_fmt(_ratio(p['rps'], d.get('rps')), 3)} |"
            f" {_fmt(d.get('p50_ms'))} / {_fmt(p['p50_ms'])} |"
            f" {_fmt(d.get('p99_ms'))} / {_fmt(p['p99_ms'])} |"
            f" {_fmt(d.get('ttft_p50_ms'))} / {_fmt(p['ttft_p50_ms'])} |"
            f" {_fmt(p['cpu_us_per_req'], 0)} |"
            f" {_fmt(p['reads_per_req'], 1)} / {_fmt(p['writes_per_req'], 1)} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python bench/report.py bench/results/<file>.json")
        return 2
    results = json.loads(Path(argv[0]).read_text())
    cells: Cells = results["cells"]
    proxies = sorted({k.split("/")[0] for k in cells} - {"direct"}, key=lambda p: p != "jairouter")
    print(markdown(cells, proxies))
    print()
    print("```json")
    print(json.dumps(results["headline"]))
    print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
