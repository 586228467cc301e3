-- wrk script: POST the body in $BENCH_BODY; at the end print one "BENCH {json}" line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
-- Exercises the router's trusted-proxy client address resolution.
wrk.headers["X-Forwarded-For"] = "203.0.113.7"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"mean_us": %.1f, "max_us": %d, "err_connect": %d, "err_read": %d, "err_write": %d, '
      .. '"err_status": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status,
    e.timeout))
end
