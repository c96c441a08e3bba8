"""The process's limit on open files: one per stream client, so 5,000 consoles need more
than the usual soft limit of 1,024.

`alertd serve` raises the soft limit to the hard limit (never past it: raising the hard
limit needs root, `ulimit -Hn`, systemd's LimitNOFILE= or Docker's --ulimit nofile=).
"""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger(__name__)

# Enough for 5,000 stream clients, their database and Redis connections, and the rest.
WANTED = 65_536


def raise_open_file_limit(wanted: int = WANTED) -> int:
    """Raise the soft RLIMIT_NOFILE towards `wanted`, within the hard limit; the new soft
    limit. A limit that cannot be raised is left as it is, with a warning."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            logger.warning("could not raise the open-file limit from %s: %s", soft, error)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        logger.warning(
            "open-file limit %s: at most about %s stream clients; raise the hard limit "
            "(ulimit -Hn, LimitNOFILE=, --ulimit nofile=) for more",
            soft,
            max(0, soft - 100),
        )
    return int(soft)
