"""IMDF (OGC 20-094, Apple's Indoor Mapping Data Format): floor plans in and out.

`archive` reads a `.zip` or a folder into its files and writes archives; `reader` turns the
features of an archive into a school's buildings, floors and rooms (pure, no I/O); `writer`
turns a school into IMDF features (manifest, address, venue, building, footprint, level, unit).
"""
