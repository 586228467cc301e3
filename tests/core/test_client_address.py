from __future__ import annotations

from ipaddress import ip_network

import pytest

from jairouter.core.client_address import MAX_REMEMBERED, ClientAddressResolver

PROXIES = ClientAddressResolver(
    [ip_network("10.0.0.0/8"), ip_network("::1/128"), ip_network("fd00::/8")]
)


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    resolver = ClientAddressResolver([])
    assert not resolver.trusts_proxies
    assert resolver.resolve("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_trusts_proxies_when_any_is_configured() -> None:
    assert PROXIES.trusts_proxies


def test_an_untrusted_peer_cannot_spoof_its_address() -> None:
    assert PROXIES.resolve("203.0.113.9", "198.51.100.1") == "203.0.113.9"


@pytest.mark.parametrize("header", [None, ""])
def test_a_trusted_peer_without_header_is_the_client(header: str | None) -> None:
    assert PROXIES.resolve("10.0.0.1", header) == "10.0.0.1"


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("198.51.100.1", "198.51.100.1"),
        # Rightmost untrusted wins; what the client itself sent further left is ignored.
        ("1.1.1.1, 198.51.100.1, 10.0.0.7", "198.51.100.1"),
        ("1.1.1.1,198.51.100.1,10.0.0.7,10.0.0.8", "198.51.100.1"),
        # Every hop trusted: the leftmost hop is as far as the chain can be followed.
        ("10.0.0.9, 10.0.0.7", "10.0.0.9"),
        # Empty list elements carry nothing and are skipped.
        ("198.51.100.1, , 10.0.0.7,", "198.51.100.1"),
        # Ports some proxies append.
        ("198.51.100.1:5123, 10.0.0.7:80", "198.51.100.1"),
    ],
)
def test_a_trusted_peer_walks_the_forwarded_chain(header: str, client: str) -> None:
    assert PROXIES.resolve("10.0.0.1", header) == client


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("::1", "2001:DB8:0:0::5, fd00::2", "2001:db8::5"),  # normalised, trusted hop skipped
        ("::1", "[2001:db8::5]:443, [fd00::2]:80", "2001:db8::5"),
        ("::1", "198.51.100.1, ::1", "198.51.100.1"),
        ("fd00::3", "2001:db8::5, 10.0.0.7", "2001:db8::5"),
        # Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6.
        ("::ffff:10.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.1", "198.51.100.1, ::ffff:10.0.0.7", "198.51.100.1"),
    ],
)
def test_ipv6(peer: str, header: str, client: str) -> None:
    assert PROXIES.resolve(peer, header) == client


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("garbage", "10.0.0.1"),
        ("unknown", "10.0.0.1"),  # RFC 7239's obfuscated node
        ("198.51.100.1, garbage, 10.0.0.7", "10.0.0.7"),  # stop at the last genuine hop
        ("198.51.100.1, 999.1.1.1", "10.0.0.1"),
        ("198.51.100.1, [::1", "10.0.0.1"),
        ("198.51.100.1, 1.2.3.4:5:6", "10.0.0.1"),
        ("198.51.100.1, ::::", "10.0.0.1"),
        ("198.51.100.1, ]", "10.0.0.1"),
        ("198.51.100.1, \x00", "10.0.0.1"),
        (",,,", "10.0.0.1"),
        ("198.51.100.1, " + "x" * 10_000, "10.0.0.1"),
    ],
)
def test_malformed_entries_end_the_walk_safely(header: str, client: str) -> None:
    assert PROXIES.resolve("10.0.0.1", header) == client


@pytest.mark.parametrize("peer", ["", "unix:/run/router.sock", "not an address"])
def test_a_malformed_peer_is_returned_as_is(peer: str) -> None:
    assert PROXIES.resolve(peer, "198.51.100.1") == peer


def test_a_header_too_long_to_remember_is_still_walked_but_not_kept() -> None:
    resolver = ClientAddressResolver([ip_network("10.0.0.0/8")])
    forged = "198.51.100.7," * (MAX_REMEMBERED // 4) + "203.0.113.9, 10.0.0.2"
    assert len(forged) > MAX_REMEMBERED
    assert resolver.resolve("10.0.0.1", forged) == "203.0.113.9"
    assert resolver.resolve("203.0.113.50", forged) == "203.0.113.50"  # untrusted peer
    short = "203.0.113.9, 10.0.0.2"
    assert resolver.resolve("10.0.0.1", short) == "203.0.113.9"
    # Only the short chain is remembered: megabyte headers cannot pile up in memory.
    assert resolver._walk.cache_info().currsize == 1
