"""One worker's metric samples as plain data, so the workers of one router add up to one view.

A `Snapshot` maps a family name to its samples: label values to a number, or for a histogram
its bucket counts (not cumulative) followed by their sum. Workers of `serve --workers N` hand
snapshots to each other encoded with orjson (`server.workers`); `merge` adds them up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import orjson

Value = float | list[float]
Samples = dict[tuple[str, ...], Value]
Snapshot = dict[str, Samples]
Reduce = Callable[[float, float], float]


def merge(
    live: Iterable[Snapshot], departed: Iterable[Snapshot], gauges: Mapping[str, Reduce]
) -> Snapshot:
    """Samples of running workers (`live`) and of exited ones (`departed`) in one snapshot.

    Counters and histograms add up, so totals never go back when a worker exits; a gauge is
    combined with its `gauges[name]` (e.g. `max`), and only from running workers, since an
    exited worker holds no requests and keeps no circuit.
    """
    total: Snapshot = {}
    for snapshot, running in (*((s, True) for s in live), *((s, False) for s in departed)):
        for name, samples in snapshot.items():
            reduce = gauges.get(name)
            if reduce is not None and not running:
                continue
            into = total.setdefault(name, {})
            for labels, value in samples.items():
                seen = into.get(labels)
                if seen is None:
                    into[labels] = list(value) if isinstance(value, list) else value
                elif isinstance(seen, list):
                    assert isinstance(value, list)
                    for i, count in enumerate(value):
                        seen[i] += count
                else:
                    assert not isinstance(value, list)
                    into[labels] = reduce(seen, value) if reduce is not None else seen + value
    return total


def encode(snapshot: Snapshot) -> bytes:
    return orjson.dumps(
        {
            name: [[*labels, value] for labels, value in samples.items()]
            for name, samples in snapshot.items()
        }
    )


def decode(data: bytes) -> Snapshot:
    """The snapshot `encode` wrote; raises ValueError (orjson's decode error is one) if it is
    not one."""
    raw = orjson.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("a metrics snapshot is a JSON object")
    return {name: {tuple(row[:-1]): row[-1] for row in rows} for name, rows in raw.items()}
