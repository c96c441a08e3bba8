"""The pure domain of alertd: no I/O, no clock reads, no logging.

Commands and `now` go in; a new state, events and effects come out.
"""
