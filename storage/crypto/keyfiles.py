"""Key files on disk: canonical JSON, strict base64, and atomic, never-overwriting writes.

Key files are small JSON documents. They are written to a temporary file in the same
directory, flushed and fsynced, then hard-linked to their final name: `link` fails if the
name exists, so two processes racing to create the same file both end up using the one
that won, and a reader never sees a half-written file. The directory is fsynced too, so
the new name survives a power cut.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.errors import CorruptData, KeyFileMissing

PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644
PRIVATE_DIR_MODE = 0o700


def canonical_json(value: Any) -> bytes:
    """Stable bytes for signing and AAD: sorted keys, no spaces, ASCII only, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, what: str) -> bytes:
    """Strict base64 decode; `what` names the field in the error (never its value)."""
    if not isinstance(text, str):
        raise CorruptData(f"The field {what!r} is missing or not text.")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CorruptData(f"The field {what!r} is not valid base64.") from None


def require_str(document: Mapping[str, Any], field: str) -> str:
    value = document.get(field)
    if not isinstance(value, str):
        raise CorruptData(f"The field {field!r} is missing or not text.")
    return value


def require_int(document: Mapping[str, Any], field: str) -> int:
    value = document.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CorruptData(f"The field {field!r} is missing or not a whole number.")
    return value


def require_dict(document: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = document.get(field)
    if not isinstance(value, dict):
        raise CorruptData(f"The field {field!r} is missing or not an object.")
    return value


def read_json_file(path: Path) -> dict[str, Any]:
    """A key file's JSON object; KeyFileMissing or CorruptData instead of raw errors."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileMissing(path, f"The key file {str(path)!r} does not exist.") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorruptData(f"The key file {str(path)!r} is damaged (not valid JSON).") from None
    if not isinstance(document, dict):
        raise CorruptData(f"The key file {str(path)!r} is damaged (not a JSON object).")
    return document


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable only by the owner if it does not exist."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)


def fsync_dir(path: Path) -> None:
    # Directories cannot be opened for fsync on Windows; there the rename is what we get.
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(directory: Path, data: bytes, mode: int) -> Path:
    """Write `data` to a new, fsynced temporary file in `directory` created with `mode`."""
    temp = directory / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return temp


def create_file_once(path: Path, data: bytes, mode: int) -> bool:
    """Atomically create `path` with `data`; False (and nothing changed) if it already exists."""
    directory = path.parent
    ensure_private_dir(directory)
    temp = write_temp(directory, data, mode)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink()
    fsync_dir(directory)
    return True


def replace_file(path: Path, data: bytes, mode: int) -> None:
    """Atomically write `path` with `data`, replacing what was there."""
    directory = path.parent
    ensure_private_dir(directory)
    temp = write_temp(directory, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink()
        raise
    fsync_dir(directory)


def json_bytes(document: Mapping[str, Any]) -> bytes:
    """A key file's bytes: indented JSON that a person can read, with a final newline."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
