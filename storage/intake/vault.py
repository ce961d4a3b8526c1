"""Encrypted files on disk: DATA_DIR/files/<random id>, each with its own key.

A file is streamed through `storage.crypto.encrypt_file` (chunked AEAD), so its size is
bounded by disk, never by memory. It is written to `<id>.part`, fsynced and renamed, so a
crash leaves either a whole encrypted file or a `.part` that `sweep` removes.
Over the size limit the partial file is deleted and FileTooLarge raised.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage.crypto import encrypt_file, new_data_key
from storage.errors import FileTooLarge
from storage.intake.drafts import file_aad


@dataclass(frozen=True)
class WrittenFile:
    """A file now encrypted on disk; `key` must go straight into encrypted storage."""

    file_id: str
    key: bytes
    sha256: str
    size: int
    stored_size: int


class _Limited:
    """A reader that raises FileTooLarge as soon as more than `limit` bytes come through."""

    def __init__(self, src: BinaryIO, limit: int) -> None:
        self._src = src
        self._limit = limit
        self._count = 0

    def read(self, size: int | None = -1) -> bytes:
        room = self._limit + 1 - self._count
        want = room if size is None or size < 0 else min(size, room)
        chunk = self._src.read(want)
        self._count += len(chunk)
        if self._count > self._limit:
            raise FileTooLarge()
        return chunk

    def readinto(self, buffer: bytearray | memoryview) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def readable(self) -> bool:
        return True


class FileVault:
    """The directory of encrypted files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, file_id: str) -> Path:
        if not file_id.isalnum():
            raise ValueError("not a file id")
        return self.directory / file_id

    def write(self, src: BinaryIO, max_bytes: int) -> WrittenFile:
        """Encrypt `src` into a new file; FileTooLarge (and nothing left behind) when over."""
        file_id = secrets.token_hex(16)
        key = new_data_key()
        final = self.path(file_id)
        partial = final.with_name(file_id + ".part")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as dst:
                sha256, size = encrypt_file(_Limited(src, max_bytes), dst, key, file_aad(file_id))  # type: ignore[arg-type]
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(partial, final)
            _fsync_dir(self.directory)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return WrittenFile(file_id, key, sha256, size, final.stat().st_size)

    def remove(self, file_ids: list[str]) -> None:
        for file_id in file_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(file_id).unlink()

    def sweep(self, known: set[str], min_age: float = 3600.0) -> int:
        """Delete what a crash left behind: `.part` files and files no row knows; how many.

        Such a file's key died with the process, so nobody can read it. Only files older
        than `min_age` seconds go: another process sharing the directory may be writing one.
        """
        cutoff = time.time() - min_age
        count = 0
        for path in self.directory.iterdir():
            orphan = path.suffix == ".part" or path.name not in known
            with contextlib.suppress(FileNotFoundError):
                if orphan and path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    count += 1
        return count


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
