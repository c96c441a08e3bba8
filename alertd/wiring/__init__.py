"""Wiring of one area each, called by `alertd.main.create_app` (which stays the one place
where adapters and services meet; these modules only keep it short)."""
