"""Benchmarks: `python -m bench` (or `make bench`) measures the site with 10,000 events."""
