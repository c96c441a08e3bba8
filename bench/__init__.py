"""Benchmarks that print numbers about a running alertd. They are not tests: nothing asserts."""
