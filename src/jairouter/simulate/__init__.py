"""Simulated model servers that speak real products' wire formats, for demo, tests and benchmarks."""
