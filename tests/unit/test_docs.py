"""The README stays true: every setting is documented, and CI runs the README's test command."""

from __future__ import annotations

from pathlib import Path

from alertd.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"`ALERTD_{name.upper()}`" not in readme]
    assert not missing, f"document these settings in README.md: {missing}"


def test_ci_runs_the_test_command_of_the_quick_start() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./dev test" in readme
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
