from __future__ import annotations

from jairouter.core.cache import TTLCache


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_values_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TTLCache[str] = TTLCache(10, 5.0, clock=clock)
    cache.put(b"k", "v")
    clock.now = 4.9
    assert cache.get(b"k") == "v"
    clock.now = 5.0
    assert cache.get(b"k") is None
    assert len(cache) == 0


def test_least_recently_used_goes_first() -> None:
    cache: TTLCache[int] = TTLCache(2, 60.0, clock=Clock())
    cache.put(b"a", 1)
    cache.put(b"b", 2)
    assert cache.get(b"a") == 1  # a is now the most recent
    cache.put(b"c", 3)
    assert cache.get(b"b") is None
    assert (cache.get(b"a"), cache.get(b"c")) == (1, 3)
    assert len(cache) == 2
