"""`alertd serve` freezes what start-up built, out of the garbage collector's sight."""

from __future__ import annotations

import gc

from alertd.adapters.heap import freeze_startup_heap


def test_what_exists_at_the_freeze_is_out_of_the_collectors_sight() -> None:
    survivor = [object()]  # tracked: a list
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is survivor for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is survivor for o in gc.get_objects())
