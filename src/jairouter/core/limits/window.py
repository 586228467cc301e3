"""Sliding window: at most `limit` units in any `window` seconds, approximately, in O(1).

The count is weighted over two fixed windows, as Cloudflare and nginx do: the previous window's
count, scaled by how much of it still overlaps the sliding window, plus the current window's.
With `window: 60` and 42 s into the current window, the estimate is previous * 18/60 + current.
That assumes the previous window's requests were spread evenly; against a true sliding log it
errs by a fraction of the previous window's count, in return for two counters per key instead
of a timestamp per request (the log's memory would grow with the limit, per client).

Windows are aligned to multiples of `window` on the clock, so processes sharing state through a
store (on a shared clock) agree on where windows begin.
"""

from __future__ import annotations

import math

from jairouter.core.limits.permits import EPSILON


class WindowState:
    """Which window is current (its number since the clock's zero) and the two counts."""

    __slots__ = ("current", "index", "previous")

    def __init__(self, index: int) -> None:
        self.index = index
        self.current = 0.0
        self.previous = 0.0

    def __repr__(self) -> str:
        return (
            f"WindowState(index={self.index}, current={self.current:g}, previous={self.previous:g})"
        )


class SlidingWindow:
    """Allows `limit` units per sliding `window` seconds, by the weighted two-window count."""

    __slots__ = ("capacity", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("sliding window needs limit > 0 and window > 0")
        self.limit = limit
        self.capacity = float(limit)
        self.window = window

    def fresh(self, now: float) -> WindowState:
        return WindowState(math.floor(now / self.window))

    def sync(self, state: WindowState, now: float) -> None:
        index = math.floor(now / self.window)
        if index != state.index:
            # The current window becomes the previous one, unless a whole window went by empty.
            state.previous = state.current if index == state.index + 1 else 0.0
            state.current = 0.0
            state.index = index

    def _weighted(self, index: int, previous: float, current: float, now: float) -> float:
        """The weighted number of units in the `window` seconds up to now."""
        into = now / self.window - index  # fraction of the current window gone by
        return previous * (1.0 - into) + current

    def wait(self, state: WindowState, now: float, cost: float) -> float | None:
        limit, window = self.limit, self.window
        if cost > limit + EPSILON:
            return None
        used = self._weighted(state.index, state.previous, state.current, now)
        if used + cost <= limit + EPSILON:
            return 0.0
        into = now - state.index * window
        room = limit - cost - state.current
        if room >= 0 and state.previous > 0:
            # The previous window's share fades linearly; wait until it fits under `room`.
            return max(0.0, window * (1.0 - room / state.previous) - into)
        # Not before the next window, where today's count becomes the fading previous one.
        to_next = window - into
        room = limit - cost
        if state.current <= room:
            return to_next
        return to_next + window * (1.0 - room / state.current)

    def take(self, state: WindowState, now: float, cost: float) -> float:
        state.current += cost
        return float(state.index)

    def adjust(self, state: WindowState, now: float, delta: float, mark: float) -> None:
        if delta >= 0:
            state.current += delta  # tokens used now count against now
        elif mark == state.index:
            state.current = max(0.0, state.current + delta)
        elif mark == state.index - 1:
            state.previous = max(0.0, state.previous + delta)
        # else: charged two or more windows ago; it no longer counts, nothing to refund

    def standing(self, state: WindowState, now: float) -> tuple[float, float]:
        index, previous, current = state.index, state.previous, state.current
        free = self.limit - self._weighted(index, previous, current, now)
        to_next = (index + 1) * self.window - now
        if current > 0:
            return free, to_next + self.window
        return free, (to_next if previous > 0 else 0.0)

    def available(self, state: WindowState, now: float) -> float:
        index = math.floor(now / self.window)
        if index == state.index:
            previous, current = state.previous, state.current
        else:  # what `sync` would roll the window to, without storing it
            previous, current = (state.current if index == state.index + 1 else 0.0), 0.0
        return self.limit - self._weighted(index, previous, current, now)

    def __repr__(self) -> str:
        return f"SlidingWindow(limit={self.limit}, window={self.window:g})"
