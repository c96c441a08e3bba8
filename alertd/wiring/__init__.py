"""Wiring helpers that `alertd.main.create_app` calls, one area each."""
