from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from jairouter.config.models import LOAD_BALANCERS
from jairouter.core.balancers import BALANCER_NAMES, IpHash, make_balancer


@dataclass(frozen=True)
class Inst:
    key: str
    weight: int = 1
    inflight: int = 0


def insts(**weights: int) -> list[Inst]:
    return [Inst(key, weight) for key, weight in weights.items()]


def shares(picks: Sequence[Inst]) -> dict[str, float]:
    return {key: n / len(picks) for key, n in Counter(p.key for p in picks).items()}


CLIENTS = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(10_000)]


def test_names_match_the_config_schema() -> None:
    assert set(BALANCER_NAMES) == set(LOAD_BALANCERS)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown load balancer 'fastest'") as info:
        make_balancer("fastest")
    for name in LOAD_BALANCERS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", LOAD_BALANCERS)
def test_empty_candidates_are_an_error(name: str) -> None:
    with pytest.raises(ValueError, match="no candidates"):
        make_balancer(name, rng=random.Random(0)).pick([], "10.0.0.1")


@pytest.mark.parametrize("name", LOAD_BALANCERS)
def test_single_candidate_is_always_picked(name: str) -> None:
    only = Inst("a", weight=3, inflight=7)
    balancer = make_balancer(name, rng=random.Random(0))
    assert all(balancer.pick([only], client) is only for client in CLIENTS[:50])


@pytest.mark.parametrize("name", LOAD_BALANCERS)
def test_picks_come_from_the_current_subset_as_the_callers_objects(name: str) -> None:
    full = insts(a=3, b=1, c=2, d=1)
    subsets = [full, full[1:], full[::2], [full[3], full[0]], full]
    balancer = make_balancer(name, rng=random.Random(1))
    for round_ in range(200):
        subset = subsets[round_ % len(subsets)]
        picked = balancer.pick(subset, CLIENTS[round_])
        assert any(picked is c for c in subset)


def test_random_honours_weights() -> None:
    balancer = make_balancer("random", rng=random.Random(42))
    candidates = insts(a=5, b=1, c=2)
    got = shares([balancer.pick(candidates, "") for _ in range(80_000)])
    for key, expected in {"a": 5 / 8, "b": 1 / 8, "c": 2 / 8}.items():
        assert got[key] == pytest.approx(expected, abs=0.01)


def test_random_is_driven_by_the_injected_rng() -> None:
    candidates = insts(a=1, b=1, c=1)
    first, second = (make_balancer("random", rng=random.Random(7)) for _ in range(2))
    assert [first.pick(candidates, "").key for _ in range(100)] == [
        second.pick(candidates, "").key for _ in range(100)
    ]


def test_round_robin_is_nginx_smooth_weighted_sequence() -> None:
    balancer = make_balancer("round-robin")
    candidates = insts(a=5, b=1, c=1)
    assert "".join(balancer.pick(candidates, "").key for _ in range(14)) == "aabacaa" * 2


def test_round_robin_is_exact_over_each_cycle() -> None:
    balancer = make_balancer("round-robin")
    candidates = insts(a=3, b=2, c=1)
    for _ in range(5):
        assert Counter(balancer.pick(candidates, "").key for _ in range(6)) == {
            "a": 3,
            "b": 2,
            "c": 1,
        }


def test_round_robin_keeps_state_by_key_when_the_set_changes() -> None:
    balancer = make_balancer("round-robin")
    a, b, c = insts(a=1, b=1, c=1)
    assert [balancer.pick([a, b, c], "").key for _ in range(2)] == ["a", "b"]
    # b drops out and c moves into b's position: c is still owed its turn, so it goes first.
    assert [balancer.pick([a, c], "").key for _ in range(4)] == ["c", "c", "a", "c"]
    assert Counter(balancer.pick([a, b, c], "").key for _ in range(30)) == {
        "a": 10,
        "b": 10,
        "c": 10,
    }


def test_least_connections_prefers_fewest_inflight_per_weight() -> None:
    balancer = make_balancer("least-connections")
    busy_small = Inst("small", weight=1, inflight=2)  # 2 per unit of weight
    busy_big = Inst("big", weight=4, inflight=4)  # 1 per unit of weight
    idle_ish = Inst("mid", weight=2, inflight=3)  # 1.5 per unit of weight
    assert all(balancer.pick([busy_small, busy_big, idle_ish], "").key == "big" for _ in range(10))


def test_least_connections_spreads_ties_by_weight() -> None:
    balancer = make_balancer("least-connections")
    idle = insts(a=2, b=1, c=1)
    assert Counter(balancer.pick(idle, "").key for _ in range(40)) == {"a": 20, "b": 10, "c": 10}


def test_least_connections_breaks_ties_only_among_the_tied() -> None:
    balancer = make_balancer("least-connections")
    candidates = [Inst("a", inflight=1), Inst("b", inflight=1), Inst("c", weight=2, inflight=2)]
    candidates.append(Inst("busy", inflight=5))
    picked = [balancer.pick(candidates, "").key for _ in range(40)]
    assert Counter(picked) == {"a": 10, "b": 10, "c": 20}


def test_least_connections_tracks_inflight_as_it_changes() -> None:
    balancer = make_balancer("least-connections")
    inflight = {"a": 0, "b": 0, "c": 0}
    for _ in range(30):
        chosen = balancer.pick([Inst(k, 1, n) for k, n in inflight.items()], "")
        inflight[chosen.key] += 1  # requests that never finish: picks must even them out
    assert inflight == {"a": 10, "b": 10, "c": 10}


def assignment(balancer: IpHash, candidates: Sequence[Inst]) -> dict[str, str]:
    return {client: balancer.pick(candidates, client).key for client in CLIENTS}


def test_ip_hash_sticks_a_client_to_one_instance() -> None:
    candidates = insts(a=1, b=1, c=1)
    first = assignment(IpHash(), candidates)
    assert assignment(IpHash(), list(reversed(candidates))) == first
    assert len(set(first.values())) == 3


def test_ip_hash_is_stable_across_processes() -> None:
    # Python's str hash() is salted per process; the ring must not depend on it.
    script = (
        "from jairouter.core.balancers import IpHash\n"
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class I:\n    key: str\n    weight: int = 1\n    inflight: int = 0\n"
        "cs = [I('a'), I('b'), I('c')]\n"
        "print(''.join(IpHash().pick(cs, f'10.0.0.{i}').key for i in range(64)))\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_ip_hash_spreads_clients_by_weight() -> None:
    got = shares([Inst(k) for k in assignment(IpHash(), insts(a=1, b=2, c=3, d=2)).values()])
    for key, expected in {"a": 1 / 8, "b": 2 / 8, "c": 3 / 8, "d": 2 / 8}.items():
        assert got[key] == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("n", [2, 4, 8])
def test_ip_hash_adding_an_instance_moves_few_clients_all_to_it(n: int) -> None:
    balancer = IpHash()
    candidates = [Inst(f"chat|m|http://10.1.0.{i}:8000") for i in range(n)]
    before = assignment(balancer, candidates)
    new = Inst("chat|m|http://10.1.0.99:8000")
    after = assignment(balancer, [*candidates, new])
    moved = [client for client in CLIENTS if before[client] != after[client]]
    assert 0.5 / (n + 1) < len(moved) / len(CLIENTS) < 1.6 / (n + 1)
    assert {after[client] for client in moved} == {new.key}


def test_ip_hash_removing_an_instance_moves_only_its_clients() -> None:
    balancer = IpHash()
    candidates = insts(a=1, b=2, c=1, d=1)
    before = assignment(balancer, candidates)
    after = assignment(balancer, [c for c in candidates if c.key != "b"])
    for client in CLIENTS:
        if before[client] != "b":
            assert after[client] == before[client]
    assert "b" not in after.values()


def test_ip_hash_builds_a_ring_only_when_the_set_changes() -> None:
    balancer = IpHash()
    full = insts(a=1, b=1, c=1)
    for subset in (full, full, full[:2], full[:2], full, full[:2]):
        for client in CLIENTS[:100]:
            balancer.pick(subset, client)
    assert balancer._ring_for.cache_info().misses == 2


def test_ip_hash_rebuilds_when_a_weight_changes() -> None:
    balancer = IpHash()
    light = assignment(balancer, insts(a=1, b=1))
    heavy = assignment(balancer, insts(a=1, b=3))
    assert sum(k == "b" for k in heavy.values()) > sum(k == "b" for k in light.values()) * 1.3


def test_ip_hash_honours_huge_weights() -> None:
    # Past the ring's point budget the points per weight shrink; shares must still follow weight.
    got = shares([Inst(k) for k in assignment(IpHash(), insts(a=10_000, b=30_000)).values()])
    assert got["a"] == pytest.approx(0.25, abs=0.03)
