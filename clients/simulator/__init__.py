"""The drill simulator and load test: `alertd simulate SCENARIO --url URL`.

A scenario file (YAML, `scenario.Scenario`; read by `document.load_scenario`, which names
the line and field of any mistake) says who takes part and what each does when. `plan`
turns it into a timeline with its seed; `runner.simulate` carries that out against a
running alertd through its public API only (`cast` sets up, `performer` acts, `watch`
follows the stream) at the pace of `pace.RealTime(speed)` or, in tests, of a server clock
it moves (`pace.ServerClock`); `display` shows progress and the outcome. The routes that
room accountability and drill plans add are in `contract`.

Nothing is imported here: `alertd`'s command line reads `cli` on every start, and the
simulator's own imports (rich, the bridge, the clients) are for `alertd simulate` alone.
"""
