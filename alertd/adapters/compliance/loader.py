"""Read drill requirements (`alertd.core.compliance.StateRule`) from a TOML file.

The packaged `requirements.toml` holds examples; `ALERTD_COMPLIANCE_FILE` names another.
A file that does not read raises `RequirementsError` at start-up, naming the entry at fault.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from alertd.core.compliance import Requirement, StateRule, TermSpec
from alertd.core.kind import AlertKind, Hazard


class RequirementsError(Exception):
    """The requirements file is not valid; the message names the entry."""


def _month_day(value: Any, where: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(value).split("-"))
        date(2001, month, day)  # a day of every year (not 02-29)
    except ValueError:
        raise RequirementsError(f"{where}: {value!r} is not MM-DD") from None
    return month, day


def _rule(code: str, entry: Mapping[str, Any]) -> StateRule:
    where = f"states.{code}"
    try:
        terms = tuple(
            TermSpec(
                name=str(t["name"]),
                start=_month_day(t["start"], f"{where}.terms"),
                end=_month_day(t["end"], f"{where}.terms"),
            )
            for t in entry["terms"]
        )
        requirements = tuple(
            Requirement(
                kind=AlertKind(r["kind"]),
                count=int(r["count"]),
                label=str(r["label"]),
                hazard=Hazard(r["hazard"]) if r.get("hazard") else None,
            )
            for r in entry["requirements"]
        )
    except (KeyError, ValueError, TypeError) as error:
        raise RequirementsError(f"{where}: {error}") from None
    if not terms:
        raise RequirementsError(f"{where}: needs at least one term")
    return StateRule(
        code=code,
        name=str(entry.get("name", code)),
        terms=terms,
        requirements=requirements,
        source=str(entry.get("source", "")),
        note=str(entry.get("note", "")),
    )


def parse_requirements(text: str) -> dict[str, StateRule]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RequirementsError(f"not TOML: {error}") from None
    states = document.get("states")
    if not isinstance(states, Mapping) or not states:
        raise RequirementsError("no [states.<CODE>] table")
    return {code.upper(): _rule(code.upper(), entry) for code, entry in states.items()}


def load_requirements(path: Path | None) -> dict[str, StateRule]:
    """The rules of `path`, or the packaged examples when None."""
    if path is None:
        text = resources.files(__package__).joinpath("requirements.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_requirements(text)
