"""Helpers for tests and benchmarks (never used by the running gateway)."""
