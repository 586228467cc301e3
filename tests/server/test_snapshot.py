"""Merging workers' metric snapshots: counters and histograms add up over running and exited
workers, gauges combine only over running ones, and snapshots survive their encoding."""

from __future__ import annotations

import operator

from jairouter.server.snapshot import Snapshot, decode, encode, merge

GAUGES = {"inflight": operator.add, "circuit": max}
A = ("chat", "m", "http://a")
B = ("chat", "m", "http://b")


def worker(requests: float, inflight: float, circuit: float, buckets: list[float]) -> Snapshot:
    return {
        "requests": {A: requests},
        "inflight": {A: inflight},
        "circuit": {A: circuit},
        "duration": {A: buckets},
    }


def test_counters_and_histograms_add_up_gauges_combine_over_running_workers() -> None:
    running = [worker(3, 1, 0, [1, 2, 0.5]), worker(4, 2, 2, [0, 1, 0.25])]
    exited = [worker(5, 7, 1, [2, 0, 0.1])]
    merged = merge(running, exited, GAUGES)
    assert merged["requests"] == {A: 12}
    assert merged["duration"] == {A: [3, 3, 0.85]}
    assert merged["inflight"] == {A: 3}  # the exited worker's in-flight count is gone
    assert merged["circuit"] == {A: 2}  # the worst state among running workers


def test_label_sets_only_some_workers_have_are_kept() -> None:
    merged = merge([{"requests": {A: 1}}], [{"requests": {B: 2}}], GAUGES)
    assert merged["requests"] == {A: 1, B: 2}


def test_merging_leaves_the_inputs_as_they_were() -> None:
    first = worker(1, 0, 0, [1, 0, 0.1])
    merge([first, worker(1, 0, 0, [1, 0, 0.1])], [], GAUGES)
    assert first["duration"] == {A: [1, 0, 0.1]}


def test_a_snapshot_survives_encoding() -> None:
    snapshot = worker(3, 1, 2, [1, 2, 0.5])
    assert decode(encode(snapshot)) == snapshot
