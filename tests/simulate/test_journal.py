from __future__ import annotations

import asyncio
import threading

import pytest

from jairouter.simulate import Journal, JournalEntry


def _entry(path: str = "/v1/models") -> JournalEntry:
    return JournalEntry("GET", path, {}, {})


def test_keeps_the_last_n_requests_oldest_first_and_counts_all() -> None:
    journal = Journal(size=2)
    for path in ("/a", "/b", "/c"):
        journal.open(_entry(path))
    assert [e.path for e in journal.entries] == ["/b", "/c"]
    assert journal.last.path == "/c"
    assert journal.received == 3


def test_finish_records_the_outcome_once() -> None:
    journal = Journal()
    done, cut = journal.open(_entry()), journal.open(_entry())
    journal.finish(done, status=200, completed=True)
    journal.finish(cut, status=200, completed=False)
    journal.finish(cut, status=200, completed=True)  # too late: the answer was already cut
    assert (done.completed, done.disconnected, done.status) == (True, False, 200)
    assert (cut.completed, cut.disconnected) == (False, True)
    assert (journal.completed, journal.disconnected) == (1, 1)


def test_clear_forgets_entries_and_totals() -> None:
    journal = Journal()
    journal.finish(journal.open(_entry()), status=200, completed=True)
    journal.clear()
    assert journal.entries == []
    assert (journal.received, journal.completed, journal.disconnected) == (0, 0, 0)
    with pytest.raises(LookupError):
        _ = journal.last


def test_a_request_from_before_clear_ending_after_it_is_not_counted() -> None:
    journal = Journal()
    earlier = journal.open(_entry("/earlier"))
    journal.clear()
    own = journal.open(_entry("/own"))
    journal.finish(earlier, status=200, completed=False)
    assert earlier.disconnected  # the entry still says how it ended
    assert (journal.received, journal.completed, journal.disconnected) == (1, 0, 0)
    journal.finish(own, status=200, completed=False)
    assert journal.disconnected == 1


def test_wait_until_wakes_when_another_thread_records() -> None:
    journal = Journal()
    entry = journal.open(_entry())
    writer = threading.Timer(0.01, journal.finish, (entry,), {"status": 200, "completed": False})
    writer.start()
    journal.wait_until(lambda j: j.disconnected == 1, timeout=5)
    writer.join()
    assert entry.disconnected


def test_wait_until_times_out() -> None:
    with pytest.raises(TimeoutError):
        Journal().wait_until(lambda j: j.received > 0, timeout=0.01)


async def test_wait_until_async_wakes_when_another_thread_records() -> None:
    journal = Journal()
    entry = journal.open(_entry())
    waiter = asyncio.create_task(journal.wait_until_async(lambda j: j.completed == 1))
    await asyncio.sleep(0)  # let the waiter register before the write
    await asyncio.to_thread(journal.finish, entry, status=200, completed=True)
    async with asyncio.timeout(5):
        await waiter


async def test_wait_until_async_returns_at_once_when_already_true() -> None:
    journal = Journal()
    journal.open(_entry())
    async with asyncio.timeout(1):
        await journal.wait_until_async(lambda j: j.received == 1)
