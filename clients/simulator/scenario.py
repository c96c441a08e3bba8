"""The scenario file's model (version 1): who takes part, and what each does when.

A scenario is YAML (see `scenarios/` for worked examples). Times are seconds after the
simulation starts; a step with `until` happens once per room (or once), each at a time
drawn with the scenario's seed between `at` and `until`. These models only check the
file; `document.load_scenario` reads it and names the line of any mistake.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
SiteId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Seconds = Annotated[float, Field(ge=0, le=86400)]
AlertKindName = Literal[
    "hold", "secure", "lockdown", "evacuate", "shelter", "medical", "fire", "staff_assist"
]
# The rooms a roll expects to hear from, as alertd counts them (`alertd.core.roll.
# ACCOUNTED_ROOM_TYPES`: where classes, groups or staff are during the school day; a test
# holds the two lists together). A scenario's `rooms.types` may name others.
ROLL_ROOM_TYPES = (
    "classroom",
    "lab",
    "office",
    "gym",
    "cafeteria",
    "library",
    "auditorium",
    "nurse",
)
# People the admin can make for a run: they belong to the scenario's school.
CREATABLE_ROLES = ("staff", "sro", "drill_coordinator", "school_admin")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    """Someone who signs in: an existing account, or one the admin creates for this run."""

    role: Literal[
        "staff", "sro", "dispatcher", "drill_coordinator", "school_admin", "district_admin"
    ]
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str | None = Field(default=None, min_length=1)
    password_env: str | None = Field(
        default=None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="read the password from here"
    )
    create: bool = Field(
        default=False, description="the admin creates the account (random password) first"
    )

    @model_validator(mode="after")
    def _signs_in_somehow(self) -> Person:
        if self.create and self.role not in CREATABLE_ROLES:
            raise ValueError(f"create works for {', '.join(CREATABLE_ROLES)} (school roles)")
        if self.create:
            if self.email or self.password or self.password_env:
                raise ValueError("a created person gets its e-mail and password from the run")
        elif not self.email:
            raise ValueError("email is required unless create is true")
        elif not (self.password or self.password_env):
            raise ValueError("password or password_env is required unless create is true")
        return self


class Button(_Strict):
    """A wall button (bound to a room) or a badge (worn by a person), registered by the
    admin for the run. It signs its own requests; `via: mqtt` publishes them for the button
    bridge, `via: http` sends them to alertd directly."""

    kind: Literal["wall_button", "badge"]
    room: str | None = Field(default=None, min_length=1, max_length=64)
    worn_by: Name | None = None
    via: Literal["http", "mqtt"] = "http"

    @model_validator(mode="after")
    def _bound(self) -> Button:
        if self.kind == "wall_button" and (self.room is None or self.worn_by is not None):
            raise ValueError("a wall_button needs a room (and is worn by nobody)")
        if self.kind == "badge" and (self.worn_by is None or self.room is not None):
            raise ValueError("a badge needs worn_by (its room comes with each press)")
        return self


class Mqtt(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    bridge: Literal["embedded", "external"] = Field(
        default="embedded",
        description="embedded: the simulator runs a button bridge to --url for the run; "
        "external: one is already running",
    )


class GeneratedSchool(_Strict):
    """A school made for the run (load tests): `rooms` classrooms on floors of 50."""

    district_id: SiteId
    district_name: str = Field(min_length=1, max_length=200)
    school_id: SiteId
    school_name: str = Field(default="Simulated High School", min_length=1, max_length=200)
    timezone: str = "America/Chicago"
    rooms: int = Field(ge=1, le=5000)


class Rooms(_Strict):
    """The rooms whose teachers take part: `count` of the school's rooms of `types`
    (default: the rooms a roll expects, `ROLL_ROOM_TYPES`), drawn with the seed; `all`
    for all of them."""

    count: int | Literal["all"] = "all"
    types: list[str] | None = None
    teacher: Name = Field(description="the person the simulated teachers sign in as")

    @model_validator(mode="after")
    def _positive(self) -> Rooms:
        if self.count != "all" and self.count < 1:
            raise ValueError("count is at least 1 (or all)")
        return self


class _Step(_Strict):
    at: Seconds
    until: Seconds | None = Field(default=None, description="spread over [at, until]")
    by: Name

    @model_validator(mode="after")
    def _ordered(self) -> _Step:
        if self.until is not None and self.until < self.at:
            raise ValueError("until comes before at")
        return self


class RaiseStep(_Step):
    do: Literal["raise"]
    kind: AlertKindName
    room: str | None = Field(default=None, min_length=1, max_length=64)
    alert: Name = "alert"
    note: str | None = None
    destination: str | None = None
    hazard: Literal["chemical", "tornado", "earthquake", "other"] | None = None
    drill_plan: bool = Field(
        default=False,
        description="raise it as a drill coordinator does: a drill plan scheduled and "
        "started at `at` (POST /v1/drills, then /start); `end_drill` ends it",
    )


class _OnAlert(_Step):
    alert: Name = "alert"


class AcknowledgeStep(_OnAlert):
    do: Literal["acknowledge"]


class StatusStep(_OnAlert):
    do: Literal["status"]
    status: Literal["en_route", "on_scene"]


class NoteStep(_OnAlert):
    do: Literal["note"]
    text: str = Field(min_length=1, max_length=2000)


class AllClearStep(_OnAlert):
    do: Literal["all_clear"]
    note: str | None = None


class ResolveStep(_OnAlert):
    """Resolve a room-scoped alert (medical, staff assist ...)."""

    do: Literal["resolve"]
    note: str | None = None


class EndDrillStep(_OnAlert):
    """End the drill plan the alert was raised by (its alert gets the all clear)."""

    do: Literal["end_drill"]


class CancelStep(_OnAlert):
    do: Literal["cancel"]
    reason: str = Field(min_length=1)


class RollStep(_OnAlert):
    """Every room of `rooms` reports once: `status`, except `needs_help` of them (drawn
    with the seed), with `students` present (a range drawn per room) and `missing` of the
    rooms reporting one missing student. `by` is ignored: each room's teacher reports."""

    do: Literal["roll"]
    by: Name = "teachers"
    status: Literal["secured", "needs_help"] = "secured"
    needs_help: int = Field(default=0, ge=0)
    missing: int = Field(default=0, ge=0)
    students: tuple[int, int] = (18, 32)
    skip: int = Field(default=0, ge=0, description="rooms that never report")


Step = Annotated[
    RaiseStep
    | AcknowledgeStep
    | StatusStep
    | NoteStep
    | AllClearStep
    | ResolveStep
    | EndDrillStep
    | CancelStep
    | RollStep,
    Field(discriminator="do"),
]


class Scenario(_Strict):
    version: Literal[1]
    name: str = Field(min_length=1, max_length=200)
    seed: int = 0
    school: SiteId
    drill: bool = Field(
        default=True, description="false raises REAL alerts: the CLI asks for --real-alerts"
    )
    people: dict[Name, Person] = Field(min_length=1)
    admin: Name | None = Field(
        default=None, description="registers buttons, creates people, generates the school"
    )
    console: Name = Field(description="whose stream the simulator watches")
    buttons: dict[Name, Button] = {}
    mqtt: Mqtt | None = None
    generate_school: GeneratedSchool | None = None
    rooms: Rooms | None = None
    timeline: list[Step] = Field(min_length=1)


Path = tuple[str | int, ...]


def reference_problems(scenario: Scenario) -> list[tuple[Path, str]]:
    """What the models alone cannot see: names used but not defined, an alert used before
    it is raised. Each problem comes with the path of the field at fault."""
    problems: list[tuple[Path, str]] = []
    people, buttons = scenario.people, scenario.buttons
    for name in sorted(set(people) & set(buttons)):
        problems.append((("buttons", name), f"a person is called {name!r} too"))
    if scenario.console not in people:
        problems.append((("console",), f"no person called {scenario.console!r}"))
    needs_admin = buttons or scenario.generate_school or any(p.create for p in people.values())
    if needs_admin and (scenario.admin is None or scenario.admin not in people):
        problems.append((("admin",), "name the person who sets up buttons, people or the school"))
    for name, button in buttons.items():
        if button.worn_by is not None and button.worn_by not in people:
            problems.append((("buttons", name, "worn_by"), f"no person {button.worn_by!r}"))
        if button.via == "mqtt" and scenario.mqtt is None:
            problems.append((("buttons", name, "via"), "mqtt needs an mqtt section"))
    generated = scenario.generate_school
    if generated is not None and generated.school_id != scenario.school:
        problems.append((("generate_school", "school_id"), "must be the scenario's school"))
    if scenario.rooms is not None and scenario.rooms.teacher not in people:
        problems.append((("rooms", "teacher"), f"no person {scenario.rooms.teacher!r}"))
    raised = {s.alert: s.at for s in scenario.timeline if isinstance(s, RaiseStep)}
    for index, step in enumerate(scenario.timeline):
        where: Path = ("timeline", index)
        if isinstance(step, RollStep):
            if scenario.rooms is None:
                problems.append(((*where, "do"), "a roll needs a rooms section"))
        elif step.by not in people and step.by not in buttons:
            problems.append(((*where, "by"), f"no person or button called {step.by!r}"))
        elif step.by in buttons and not isinstance(step, RaiseStep):
            problems.append(((*where, "by"), "a button can only raise"))
        if isinstance(step, RaiseStep) and step.drill_plan:
            if not scenario.drill or step.by not in people:
                problems.append(((*where, "drill_plan"), "a drill plan is a person's drill"))
        if isinstance(step, EndDrillStep):
            planned = [s for s in scenario.timeline if isinstance(s, RaiseStep)
                       and s.alert == step.alert and s.drill_plan]  # fmt: skip
            if not planned:
                problems.append(((*where, "alert"), f"{step.alert!r} is not a drill plan's"))
        if isinstance(step, RaiseStep):
            worn = buttons.get(step.by)
            if worn is not None and worn.kind == "badge" and step.room is None:
                problems.append(((*where, "room"), "a badge press says which room it is in"))
        else:
            if step.alert not in raised:
                problems.append(((*where, "alert"), f"no step raises {step.alert!r}"))
            elif step.at < raised[step.alert]:
                problems.append(((*where, "at"), f"before {step.alert!r} is raised"))
    return problems
