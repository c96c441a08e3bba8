"""Wiring by area: small functions that `alertd.main.create_app` calls to build a part.

Like `main`, the only place where adapters and services meet; each module wires one area,
so that `main` stays a table of contents.
"""
