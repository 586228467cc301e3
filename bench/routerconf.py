"""The router config benchmarks run: realistic, with every pipeline stage that exists switched on.

Stages on today: trusted-proxy client resolution (the generators send X-Forwarded-For), routing
over 4 instances with least-connections, per-instance API keys and extra headers (adapter
`prepare`), explicit timeouts (the first-byte bound wraps every upstream call in
`asyncio.timeout`). When a stage lands (auth keys, rate limits, circuit breaker, metrics), switch it
on here too, so later figures stay comparable: say so in docs/performance.md's change log.
"""

from __future__ import annotations

from load import MODEL


def router_config(port: int, upstream_ports: list[int]) -> str:
    """YAML for a router on `port` in front of one mock instance per upstream port."""
    instances = "".join(
        f"""
      - model: {MODEL}
        url: http://127.0.0.1:{p}/v1
        adapter: vllm
        api_key: sk-bench-{i}
        headers:
          X-Bench-Instance: "{i}"
        weight: 1"""
        for i, p in enumerate(upstream_ports)
    )
    return f"""\
server:
  host: 127.0.0.1
  port: {port}
  trusted_proxies: [127.0.0.1/32]
defaults:
  load_balance: least-connections
  timeouts:
    connect: 5
    first_byte: 60
    total: 300
services:
  chat:
    load_balance: least-connections
    instances:{instances}
"""
