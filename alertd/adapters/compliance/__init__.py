"""Drill requirements per state, read from a TOML file (the packaged examples, or yours)."""
