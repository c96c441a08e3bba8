"""The wire contract. `v1` is the only version; `schemas/` is generated from it."""
