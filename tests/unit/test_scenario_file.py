"""Scenario files: a broken one is refused before anything is sent, naming the line and the
field; the shipped ones are valid; the same seed always plans the same timeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alertd.core.roll import ACCOUNTED_ROOM_TYPES
from clients.simulator.cli import SHIPPED
from clients.simulator.document import ScenarioRefused, load_scenario, parse_scenario
from clients.simulator.plan import RoomOnSite, make_plan
from clients.simulator.scenario import ROLL_ROOM_TYPES

GOOD = """\
version: 1
name: Lockdown drill
seed: 3
school: lincoln-hs
people:
  dispatcher: {role: dispatcher, email: dispatcher@demo.alertd, password: demo}
  sro: {role: sro, email: sro@demo.alertd, password: demo}
  teacher: {role: staff, email: staff@demo.alertd, password: demo}
console: dispatcher
rooms: {count: 4, teacher: teacher}
timeline:
  - {at: 0, do: raise, by: dispatcher, kind: lockdown, room: r-1}
  - {at: 5, do: acknowledge, by: dispatcher}
  - {at: 25, do: status, by: sro, status: on_scene}
  - {at: 2, until: 40, do: roll, skip: 1, needs_help: 1}
  - {at: 300, do: all_clear, by: sro}
"""
ROOMS = [RoomOnSite(f"r-{n}", "classroom") for n in range(1, 8)] + [RoomOnSite("hall", "corridor")]


def refused(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ScenarioRefused) as caught:
        parse_scenario(text, source="drill.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_good_scenario_is_read() -> None:
    scenario = parse_scenario(GOOD)
    assert scenario.school == "lincoln-hs" and len(scenario.timeline) == 5


def test_a_misspelt_value_names_its_line_and_field() -> None:
    [(line, field, message)] = refused(GOOD.replace("kind: lockdown", "kind: lockdwn"))
    assert (line, field) == (12, "timeline[0].kind")
    assert "'lockdwn'" in message and "lockdown" in message


def test_a_missing_field_is_reported_at_its_mapping() -> None:
    text = GOOD.replace("  - {at: 5, do: acknowledge, by: dispatcher}\n",
                        "  - {do: acknowledge, by: dispatcher}\n")  # fmt: skip
    [(line, field, message)] = refused(text)
    assert (line, field) == (13, "timeline[1].at") and "required" in message.lower()


def test_an_unknown_field_is_named() -> None:
    text = GOOD.replace("seed: 3\n", "seed: 3\nspeed: 4\n")
    [(line, field, message)] = refused(text)
    assert (line, field) == (4, "speed") and "not permitted" in message


def test_every_problem_is_listed_in_line_order() -> None:
    text = GOOD.replace("role: sro,", "role: cop,").replace("at: 300", "at: -1")
    problems = refused(text)
    assert [(line, field) for line, field, _ in problems] == [
        (7, "people.sro.role"),
        (16, "timeline[4].at"),
    ]


def test_a_name_used_but_never_defined_is_refused_at_its_line() -> None:
    [(line, field, message)] = refused(GOOD.replace("by: sro, status", "by: sergeant, status"))
    assert (line, field) == (14, "timeline[2].by") and "'sergeant'" in message


def test_an_unknown_action_is_named_at_its_do() -> None:
    [(line, field, message)] = refused(GOOD.replace("do: acknowledge", "do: ack"))
    assert (line, field) == (13, "timeline[1].do") and "'ack'" in message


def test_an_alert_used_before_it_is_raised_or_never_raised_is_refused() -> None:
    text = GOOD.replace("{at: 5, do: acknowledge, by: dispatcher}",
                        "{at: 5, do: acknowledge, by: dispatcher, alert: second}")  # fmt: skip
    assert refused(text) == [(13, "timeline[1].alert", "no step raises 'second'")]
    text = GOOD.replace("{at: 0, do: raise", "{at: 1, do: raise").replace("until: 40", "until: 4")
    text = text.replace("at: 2, until", "at: 0.5, until")
    assert refused(text) == [(15, "timeline[3].at", "before 'alert' is raised")]


def test_a_drill_plan_is_a_persons_drill_and_only_its_alert_is_ended_as_one() -> None:
    real = GOOD.replace("console: dispatcher", "drill: false\nconsole: dispatcher")
    text = real.replace(
        "kind: lockdown, room: r-1}", "kind: lockdown, room: r-1, drill_plan: true}"
    )
    assert refused(text) == [(13, "timeline[0].drill_plan", "a drill plan is a person's drill")]
    text = GOOD.replace("{at: 300, do: all_clear, by: sro}", "{at: 300, do: end_drill, by: sro}")
    assert refused(text) == [(16, "timeline[4].alert", "'alert' is not a drill plan's")]
    planned = text.replace("room: r-1}", "room: r-1, drill_plan: true}")
    assert parse_scenario(planned).timeline[4].do == "end_drill"


def test_a_spread_that_ends_before_it_starts_is_refused() -> None:
    [(line, field, message)] = refused(GOOD.replace("until: 40", "until: 1"))
    assert (line, field) == (15, "timeline[3]") and "until" in message


def test_yaml_that_does_not_parse_names_its_line() -> None:
    [(line, field, message)] = refused(GOOD.replace("console: dispatcher", "console: [oops"))
    assert line in (9, 10) and field == "" and "YAML" in message


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert refused("- just\n- a list\n") == [(1, "", "a scenario is a mapping (key: value)")]


def test_the_message_reads_file_line_field() -> None:
    with pytest.raises(ScenarioRefused) as caught:
        parse_scenario(GOOD.replace("kind: lockdown", "kind: nope"), source="drill.yaml")
    assert "drill.yaml:12: timeline[0].kind: " in str(caught.value)


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shipped_scenarios_are_valid(path: Path) -> None:
    assert load_scenario(path).timeline


def test_the_cli_refuses_a_broken_file_before_sending_anything(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("status: on_scene", "status: on_site"))
    # Nothing listens on port 9: had it tried to sign in, it would say the server is down.
    run = subprocess.run(
        [sys.executable, "-m", "alertd", "simulate", str(broken), "--url", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert f"{broken}:14: timeline[2].status:" in run.stderr
    assert "unreachable" not in run.stderr and "set-up" not in run.stderr


def test_the_rooms_a_roll_expects_are_alertds() -> None:
    assert set(ROLL_ROOM_TYPES) == {t.value for t in ACCOUNTED_ROOM_TYPES}


def test_the_same_seed_plans_the_same_timeline_and_another_seed_another() -> None:
    scenario = parse_scenario(GOOD)
    first, again = make_plan(scenario, ROOMS), make_plan(scenario, ROOMS)
    assert first == again
    other = make_plan(scenario.model_copy(update={"seed": 4}), ROOMS)
    assert [a.at for a in other.actions] != [a.at for a in first.actions]


def test_the_plan_holds_what_the_after_action_report_must_say() -> None:
    plan = make_plan(parse_scenario(GOOD), ROOMS)
    assert len(plan.rooms) == 4 and "hall" not in plan.rooms  # corridors take no roll
    reports = [a for a in plan.actions if a.report is not None]
    assert len(reports) == 3 and all(2 <= a.at <= 40 for a in reports)  # one room skipped
    assert sorted(r.report.status for r in reports if r.report) == [
        "needs_help", "secured", "secured",
    ]  # fmt: skip
    [expected] = plan.expected
    assert (expected.first_ack, expected.sro_on_scene) == (5, 25)
    reported = {a.report.room_id for a in reports if a.report}
    # Unreported: the room that stayed silent, and the school's rooms not in the drill.
    assert expected.unreported_rooms == tuple(f"r-{n}" for n in range(1, 8)
                                              if f"r-{n}" not in reported)  # fmt: skip
    assert len(expected.unreported_rooms) == 4 and expected.all_rooms_accounted is None
    assert expected.rooms_accounted == 3
    assert [a.at for a in plan.actions] == sorted(a.at for a in plan.actions)
