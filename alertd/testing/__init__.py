"""Test support shipped with the package: real servers, a controllable clock, a live app."""
