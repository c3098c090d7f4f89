"""Prometheus metrics at /metrics: instruments, database gauges, access rules."""
