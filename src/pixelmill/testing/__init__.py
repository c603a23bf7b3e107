"""Helpers that start throw-away real servers for tests and benchmarks."""
