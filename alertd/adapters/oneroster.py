"""Reading a OneRoster 1.1 CSV export (`orgs.csv`, `users.csv`) into rows with line numbers.

Only the reading is here; what the rows mean is `alertd.core.roster`'s.
"""

from __future__ import annotations

import csv
from pathlib import Path

from alertd.core.roster import ORGS, USERS, Problem, RosterInvalid, RosterRow


def read_export(directory: Path) -> tuple[list[RosterRow], list[RosterRow]]:
    """The rows of orgs.csv and users.csv. Raises RosterInvalid when a file is missing or
    is not CSV with a header line (the problem names the file)."""
    files: dict[str, list[RosterRow]] = {}
    problems: list[Problem] = []
    for name in (ORGS, USERS):
        path = directory / name
        if not path.is_file():
            problems.append(Problem(name, 0, f"missing: {path}"))
            continue
        try:
            files[name] = _rows(path, name)
        except (UnicodeDecodeError, csv.Error) as error:
            problems.append(Problem(name, 0, f"not readable as UTF-8 CSV: {error}"))
    if problems:
        raise RosterInvalid(problems)
    return files[ORGS], files[USERS]


def _rows(path: Path, name: str) -> list[RosterRow]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = []
        for values in reader:
            clean = {k.strip(): (v or "") for k, v in values.items() if k is not None}
            rows.append(RosterRow(name, reader.line_num, clean))
        return rows
