"""Read a scenario file, refusing a broken one before anything is sent.

The YAML is parsed twice from the same text: once into plain data for pydantic, once into
PyYAML's node tree, which keeps where each key and value starts. Every problem pydantic or
`reference_problems` finds comes with the path of the field at fault; the node tree turns
that path into a line, so the message reads `lockdown.yaml:12: timeline[0].kind: ...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clients.simulator.scenario import Scenario, reference_problems

FieldPath = Sequence[str | int]


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based
    field: str  # e.g. timeline[3].kind; empty for the file as a whole
    message: str

    def describe(self, source: str) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{source}:{self.line}: {where}{self.message}"


class ScenarioRefused(Exception):
    """The file is not a valid scenario; `problems` names the line and field of each."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [problem.describe(source) for problem in self.problems]
        super().__init__("scenario refused, nothing was sent:\n  " + "\n  ".join(lines))


def load_scenario(path: Path) -> Scenario:
    """The scenario in `path`; ScenarioRefused (naming lines and fields) if it is broken."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioRefused(str(path), [Problem(1, "", f"cannot read it: {error}")]) from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = f"not valid YAML: {error.problem or error.context}"
        raise ScenarioRefused(source, [Problem(line, "", problem)]) from None
    except yaml.YAMLError as error:
        raise ScenarioRefused(source, [Problem(1, "", f"not valid YAML: {error}")]) from None
    if not isinstance(data, dict) or root is None:
        raise ScenarioRefused(source, [Problem(1, "", "a scenario is a mapping (key: value)")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as invalid:
        problems = [_problem(root, _path_of(error), _message(error)) for error in invalid.errors()]
        raise ScenarioRefused(source, sorted(problems, key=lambda p: p.line)) from None
    found = [_problem(root, path, message) for path, message in reference_problems(scenario)]
    if found:
        raise ScenarioRefused(source, found)
    return scenario


def _path_of(error: Any) -> FieldPath:
    """The path of the field at fault (a step's unknown `do` is its `do`, not the step)."""
    loc = tuple(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (*loc, "do")
    return loc


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("missing", "extra_forbidden"):
        return message
    given = error.get("input")
    if isinstance(given, str | int | float | bool) or given is None:
        return f"{message} (got {given!r})"
    return message


def _problem(root: yaml.Node, path: FieldPath, message: str) -> Problem:
    line, walked = _locate(root, path)
    return Problem(line, _field_name(walked), message)


def _locate(root: yaml.Node, path: FieldPath) -> tuple[int, list[str | int]]:
    """The line of the deepest node `path` reaches, and the part of the path that exists
    in the file. A step of the path that is not there (pydantic's name for the branch of a
    union, say) is passed over; a missing field is reported at its mapping's line."""
    node, line = root, root.start_mark.line + 1
    walked: list[str | int] = []
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part)
                ),
                None,
            )
            if match is None:
                if isinstance(part, str) and part != "[key]" and not _is_union_tag(node, part):
                    walked.append(part)  # a missing (or extra) field of this mapping
                continue
            key, node = match
            line = key.start_mark.line + 1
            walked.append(part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
            walked.append(part)
    return line, walked


def _is_union_tag(node: yaml.MappingNode, part: str) -> bool:
    """pydantic names the branch of a tagged union (`do: raise` -> "raise") in its paths."""
    return any(
        isinstance(k, yaml.ScalarNode) and k.value == "do" and getattr(v, "value", None) == part
        for k, v in node.value
    )


def _field_name(path: Sequence[str | int]) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name
