"""`alertd serve` raises its open-file limit (one file per stream client) within the hard
limit. Run in a child process, so that this one's limit is left alone."""

from __future__ import annotations

import resource
import subprocess
import sys

PROBE = """
import resource
from alertd.adapters.file_limit import raise_open_file_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
print(raise_open_file_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))
"""


def test_the_soft_limit_is_raised_to_the_hard_limit_or_the_wanted_number() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    finished = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )

    returned, soft_after, hard_after = (int(n) for n in finished.stdout.split())
    expected = 65_536 if hard == resource.RLIM_INFINITY else min(65_536, hard)
    assert soft_after == returned == expected
    assert hard_after == hard  # never touched
