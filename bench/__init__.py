"""Benchmarks: `make bench` (offline check), `make bench-search` (engine), `make bench-search-service` (service)."""
