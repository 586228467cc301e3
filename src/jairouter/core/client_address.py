"""The client address behind trusted proxies, as ip-hash and logs should see it.

A request's client is its socket peer, unless that peer is a configured trusted proxy. Then the
X-Forwarded-For header is walked from the right, skipping trusted proxies, and the first untrusted
address is the client, as nginx's realip module does with `real_ip_recursive on`. Entries left
of that one were written by the client itself and are never believed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

# Longest header whose walk is remembered. Real chains are a few addresses; any client can send
# a header of any length, and thousands of remembered megabyte headers would exhaust memory.
MAX_REMEMBERED = 512


@functools.lru_cache(maxsize=4096)  # per request otherwise; bounded, so floods cannot grow it
def _parse(text: str) -> IPAddress | None:
    """An address from a peer or X-Forwarded-For entry; None for anything malformed.

    Some proxies append a port ("1.2.3.4:80", "[2001:db8::1]:80"); IPv4-mapped IPv6 peers of
    dual-stack sockets ("::ffff:1.2.3.4") count as the IPv4 address so IPv4 networks match them.
    """
    if text.startswith("["):
        text, closed, _ = text[1:].partition("]")
        if not closed:
            return None
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        addr = ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class ClientAddressResolver:
    """Resolves a request's client address from its peer and X-Forwarded-For header."""

    def __init__(self, trusted: Sequence[IPv4Network | IPv6Network]) -> None:
        self._trusted = tuple(trusted)
        # False when no proxy is trusted: the peer is the client, so skip reading the header.
        # An attribute, not a property: every request reads it.
        self.trusts_proxies = bool(self._trusted)
        # The same proxies send the same chains again and again: walk each one once (bounded in
        # entries and, with MAX_REMEMBERED, in size, so a flood of forged headers cannot grow it).
        self._walk = functools.lru_cache(maxsize=4096)(self._walk_chain)

    def _is_trusted(self, addr: IPAddress | None) -> bool:
        return addr is not None and any(addr in net for net in self._trusted)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        """The client address; `forwarded_for` is every X-Forwarded-For value, comma-joined.

        Never raises: a malformed entry ends the walk at the last address known to be genuine
        (the farthest trusted proxy reached), since anything beyond it may be client-forged.
        """
        if not self._trusted or not forwarded_for:
            return peer
        if len(forwarded_for) > MAX_REMEMBERED:
            return self._walk_chain(peer, forwarded_for)
        return self._walk(peer, forwarded_for)

    def _walk_chain(self, peer: str, forwarded_for: str) -> str:
        if not self._is_trusted(_parse(peer)):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            entry = entry.strip()
            if not entry:  # HTTP lists may hold empty elements; they carry nothing
                continue
            addr = _parse(entry)
            if addr is None:
                break
            client = str(addr)
            if not self._is_trusted(addr):
                break
        return client
