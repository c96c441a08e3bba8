"""Summarize a py-spy profile in collapsed-stack form (`py-spy record --format raw`).

    python -m bench.profile_summary server.prof.txt [--top 25]

Prints the share of samples per function (self: on top of the stack; total: anywhere in it),
so a profile fits in bench/README.md. Idle samples (the event loop waiting) are counted
apart when py-spy recorded them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`fn (path/to/module.py:12)` -> `fn (module.py)`; anything else as is."""
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    file = found["file"]
    for marker in ("site-packages/", "lib/python3.11/", "/alertd/", "/bench/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{found['name']} ({file})"


def summarize(path: Path, top: int) -> str:
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        samples += count
        self_counts[frames[-1]] += count
        for name in set(frames):
            total_counts[name] += count
    if not samples:
        return "no samples"
    lines = [f"{samples} samples", "self %  total %  function"]
    for name, count in self_counts.most_common(top):
        lines.append(
            f"{100 * count / samples:6.1f}  {100 * total_counts[name] / samples:7.1f}  {name}"
        )
    lines.append("")
    lines.append("total %  function (inclusive)")
    for name, count in total_counts.most_common(top * 3):
        if "(" in name and not name.startswith(("<module>", "run (")):
            lines.append(f"{100 * count / samples:7.1f}  {name}")
    return "\n".join(lines)


# Where a sample was spent, by the first of these found in its stack (top-level work).
PARTS = (
    ("HTTP requests (POST /v1/alerts: auth, the raise, its SQL on the loop)", "BodyLimit.__call__"),
    ("stream sends to the consoles", "_send_all ("),
    ("outbox relay (texts, ledger, notices)", "EffectWorker._run"),
    ("database threads (writer: BEGIN, COMMIT; readers)", "Thread._bootstrap"),
)


def parts(path: Path) -> str:
    """Each sample counted once, in the first part whose frame its stack holds."""
    counts: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        samples += int(count_text)
        part = next((name for name, frame in PARTS if frame in stack), "the event loop itself")
        counts[part] += int(count_text)
    return "\n".join(
        f"{100 * count / max(1, samples):5.1f} %  {name}" for name, count in counts.most_common()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_summary")
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--parts", action="store_true", help="only the share of each part")
    options = parser.parse_args(argv)
    print(parts(options.path) if options.parts else summarize(options.path, options.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
