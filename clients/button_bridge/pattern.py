"""Press patterns: which run of presses on a button means which alert. Pure, no clock.

Where this runs: on the device (firmware, or `alertd-button-bridge simulate`), because the
alert kind is part of the body the device signs. The bridge cannot choose the kind: whoever
chooses it must hold the device's secret, and the bridge must never hold one.

Default (CENTEGIX-style): 3 presses ask for staff assist in the device's room; 8 or more
presses, or one press held for 3 s, start a campus-wide lockdown. Fewer than 3 presses do
nothing (a brush against the button). A press that starts within `debounce_ms` of the
previous one's release is contact bounce, not a new press. A gesture ends when the button
rests for `gesture_gap_ms`.

Patterns are configurable as JSON (`PressPatterns.from_json`):

    {"debounce_ms": 50, "gesture_gap_ms": 1500,
     "counts": [{"presses": 3, "kind": "staff_assist"}, {"presses": 8, "kind": "lockdown"}],
     "long_press": {"held_ms": 3000, "kind": "lockdown"}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

KINDS = frozenset(
    {"hold", "secure", "lockdown", "evacuate", "shelter", "medical", "fire", "staff_assist"}
)


@dataclass(frozen=True, slots=True)
class Press:
    """One press of the button: when it went down and came up, in ms of the device clock."""

    down_ms: int
    up_ms: int

    @property
    def held_ms(self) -> int:
        return self.up_ms - self.down_ms


@dataclass(frozen=True, slots=True)
class CountRule:
    presses: int  # this many presses or more ...
    kind: str  # ... raise this kind (the rule with the most presses that fits wins)


@dataclass(frozen=True, slots=True)
class PressPatterns:
    debounce_ms: int = 50
    gesture_gap_ms: int = 1500
    counts: tuple[CountRule, ...] = field(
        default=(CountRule(3, "staff_assist"), CountRule(8, "lockdown"))
    )
    long_press_ms: int | None = 3000
    long_press_kind: str = "lockdown"

    def __post_init__(self) -> None:
        for kind in (*(rule.kind for rule in self.counts), self.long_press_kind):
            if kind not in KINDS:
                raise ValueError(f"unknown alert kind in press patterns: {kind!r}")
        if any(rule.presses < 1 for rule in self.counts) or self.debounce_ms < 0:
            raise ValueError("press counts must be 1 or more and debounce_ms 0 or more")

    @classmethod
    def from_json(cls, text: str) -> PressPatterns:
        data = json.loads(text)
        long_press = data.get("long_press") or {}
        return cls(
            debounce_ms=int(data.get("debounce_ms", 50)),
            gesture_gap_ms=int(data.get("gesture_gap_ms", 1500)),
            counts=tuple(CountRule(int(r["presses"]), str(r["kind"])) for r in data["counts"]),
            long_press_ms=int(long_press["held_ms"]) if long_press else None,
            long_press_kind=str(long_press.get("kind", "lockdown")),
        )

    def debounce(self, presses: Iterable[Press]) -> list[Press]:
        """The presses with contact bounce merged into the press it belongs to."""
        merged: list[Press] = []
        for press in sorted(presses, key=lambda p: p.down_ms):
            if merged and press.down_ms - merged[-1].up_ms < self.debounce_ms:
                merged[-1] = Press(merged[-1].down_ms, max(merged[-1].up_ms, press.up_ms))
            else:
                merged.append(press)
        return merged

    def gestures(self, presses: Iterable[Press]) -> list[list[Press]]:
        """Debounced presses, split where the button rested `gesture_gap_ms` or longer."""
        groups: list[list[Press]] = []
        for press in self.debounce(presses):
            if groups and press.down_ms - groups[-1][-1].up_ms < self.gesture_gap_ms:
                groups[-1].append(press)
            else:
                groups.append([press])
        return groups

    def kind_of(self, gesture: Sequence[Press]) -> str | None:
        """The alert kind one gesture raises, None for none."""
        if self.long_press_ms is not None and any(p.held_ms >= self.long_press_ms for p in gesture):
            return self.long_press_kind
        fitting = [rule for rule in self.counts if len(gesture) >= rule.presses]
        return max(fitting, key=lambda rule: rule.presses).kind if fitting else None

    def kinds(self, presses: Iterable[Press]) -> list[str]:
        """The alert kinds a run of presses raises, one per gesture that means something."""
        return [kind for gesture in self.gestures(presses) if (kind := self.kind_of(gesture))]


def presses(count: int, *, start_ms: int = 0, held_ms: int = 120, gap_ms: int = 250) -> list[Press]:
    """`count` evenly spaced presses: what a person pressing steadily produces."""
    return [
        Press(start_ms + i * (held_ms + gap_ms), start_ms + i * (held_ms + gap_ms) + held_ms)
        for i in range(count)
    ]
