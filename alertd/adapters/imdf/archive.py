"""IMDF archives on disk and on the wire: a `.zip`, or a folder of `.geojson` files.

Only the top level counts (a zip whose files all sit in one folder is read from inside it).
Sizes are capped so that a zip bomb is refused rather than unpacked.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from alertd.core.errors import ValidationFailed

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


def read_archive(path: Path) -> dict[str, bytes]:
    """The archive's top-level files by name. Raises ValidationFailed naming the path."""
    if path.is_dir():
        return {
            child.name: _read_capped(child)
            for child in sorted(path.iterdir())
            if child.is_file() and not child.name.startswith(".")
        }
    if not path.is_file():
        raise ValidationFailed("path", f"{path}: no such file or folder")
    try:
        with zipfile.ZipFile(path) as archive:
            return _zip_members(archive, path)
    except zipfile.BadZipFile:
        raise ValidationFailed("path", f"{path}: not a zip archive or a folder") from None


def read_uploaded_archive(data: bytes) -> dict[str, bytes]:
    """The top-level files of a zip sent over HTTP. Raises ValidationFailed("archive")."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _zip_members(archive, Path("archive"), field="archive")
    except zipfile.BadZipFile:
        raise ValidationFailed("archive", "not a zip archive") from None


def _read_capped(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValidationFailed("path", f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


def _zip_members(archive: zipfile.ZipFile, path: Path, *, field: str = "path") -> dict[str, bytes]:
    entries = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
    folders = {PurePosixPath(i.filename).parent for i in entries}
    # One folder holding everything (as when a folder is zipped whole): read from inside it.
    root = folders.pop() if len(folders) == 1 else PurePosixPath(".")
    total = sum(i.file_size for i in entries)
    if total > MAX_ARCHIVE_BYTES:
        raise ValidationFailed(field, f"{path}: unpacks to more than {MAX_ARCHIVE_BYTES} bytes")
    files: dict[str, bytes] = {}
    for info in entries:
        name = PurePosixPath(info.filename)
        if name.parent != root or name.name.startswith("."):
            continue
        if info.file_size > MAX_FILE_BYTES:
            raise ValidationFailed(field, f"{name.name}: larger than {MAX_FILE_BYTES} bytes")
        files[name.name] = archive.read(info)
    return files


def write_archive(documents: Mapping[str, Any]) -> bytes:
    """A zip holding each document as pretty JSON under its file name, in a stable order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(documents):
            text = json.dumps(documents[name], indent=1, ensure_ascii=False, sort_keys=True)
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text + "\n")
    return buffer.getvalue()
