"""Metrics: plain counters updated on the request path (`counters`, no locks, no lookups) and
a Prometheus collector that reads them only when scraped (`collector`)."""
