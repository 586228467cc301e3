"""The router config benchmarks run: realistic, with every pipeline stage that exists switched on.

Stages on, with limits far above the benchmark's load so none of them ever refuses a request:
trusted-proxy client resolution (the generators send X-Forwarded-For); rate limits (a global
concurrency ceiling, a token bucket per client, a tokens-per-minute sliding window per model);
health-aware choice among 4 instances with least-connections, active health probes and outlier
detection; a circuit breaker per instance; retries; a fallback chain; per-instance API keys and
headers (adapter `prepare`); every timeout, first byte and stream idle included.

When a stage lands, switch it on here too so later figures stay comparable, and say so in
docs/performance.md's change log.
"""

from __future__ import annotations

from load import MODEL

FALLBACK_MODEL = "bench-fallback"
_NEVER = 1_000_000_000  # a limit no benchmark reaches


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
  timeouts: {{connect: 5, first_byte: 60, idle: 60, total: 300}}
  rate_limit:
    - {{algorithm: concurrency, max_concurrent: 100000, scope: global}}
    - algorithm: token-bucket
      capacity: {_NEVER}
      rate: {_NEVER}
      scope: client
      max_entries: 10000
      idle_ttl: 600
  circuit_breaker:
    consecutive_failures: 5
    failure_rate_threshold: 50
    window: 60
    minimum_calls: 20
  health_check:
    interval: 10
    timeout: 5
    outlier: {{consecutive_failures: 5}}
  retry: {{attempts: 2}}
services:
  chat:
    load_balance: least-connections
    rate_limit:
      - algorithm: sliding-window
        capacity: {_NEVER}
        window: 60
        unit: tokens
        default_max_tokens: 1024
        scope: model
        max_entries: 100
        idle_ttl: 300
    fallback:
      models:
        {MODEL}: [{FALLBACK_MODEL}]
      static_response: The assistant is temporarily unavailable.
    instances:{instances}
      - model: {FALLBACK_MODEL}
        url: http://127.0.0.1:{upstream_ports[0]}/v1
        adapter: vllm
"""
