"""Files people send (voice notes, and photos or documents where a flow asks for them).

A file is taken in only where the step being asked allows media. It is refused before any
download when Telegram says it is larger than the limit. Otherwise it is streamed, never
held whole in memory, into the store, which hashes and encrypts it chunk by chunk and
enforces the limit again (the size Telegram reports is the sender's claim):

- from the public gateway (or a self-hosted Bot API server without `--local`), over HTTP,
  from `base_file_url/file_path`;
- from a self-hosted server in local mode, which hands out a path on this machine: the
  file is read from disk and the plaintext copy the server left there is deleted as soon
  as it has been encrypted (also when it was refused), since nobody should find it later.

What `getFile` answers is trusted no further than it must be: a server (or whoever answers
in its place) could name any file on this machine, and the node would read it as the
person's voice note and then delete it. So a path is honoured only when local mode was
set explicitly (`MediaPolicy.local_dir`, from `attest run --local DIR`), only inside that
directory, and never through a symbolic link: each component below the directory is opened
with `O_NOFOLLOW`, the resolved path must be the path given, and the file must be a
regular one. Without local mode an absolute path is refused, never opened. A refused path
is logged by its reason only (it contains the bot token) and nothing is deleted.

The URL of a file contains the bot token, so it is never logged or put in an error.
"""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

import httpx
from telegram import Bot
from telegram.error import BadRequest

from bot.telegram.sender import RetryPolicy, SendFailed, with_retries
from bot.telegram.updates import IncomingFile
from flows.types import MediaRef

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # what the public Bot API gateway lets a bot download
CHUNK = 64 * 1024


class TooLarge(Exception):
    """The file is over the limit (or over what the Bot API server will hand out)."""


class DownloadFailed(Exception):
    """The file could not be fetched (reason: the error's type, never the URL)."""


class FileStore(Protocol):
    """The part of the dispatcher that keeps files."""

    async def store_file(
        self,
        channel: str,
        chat_id: int | str,
        src: BinaryIO,
        kind: str,
        mime: str | None,
        max_bytes: int,
    ) -> MediaRef: ...


class UrlStream(io.RawIOBase):
    """A file's bytes as they arrive over HTTP, read by the store in its worker thread.

    The connection is opened on the first read, so that it happens in that thread too.
    """

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        super().__init__()
        self._url = url
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._rest = b""

    def readable(self) -> bool:
        return True

    def _open(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._client = httpx.Client(timeout=self._timeout)
            try:
                request = self._client.build_request("GET", self._url)
                self._response = self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise DownloadFailed(type(exc).__name__) from None
            if self._response.status_code != 200:
                raise DownloadFailed(f"HTTP {self._response.status_code}")
            self._chunks = self._response.iter_bytes(CHUNK)
        return self._chunks

    def read(self, size: int = -1) -> bytes:
        chunks = self._open()
        while size < 0 or len(self._rest) < size:
            try:
                self._rest += next(chunks)
            except StopIteration:
                break
            except httpx.HTTPError as exc:
                raise DownloadFailed(type(exc).__name__) from None
        if size < 0:
            out, self._rest = self._rest, b""
        else:
            out, self._rest = self._rest[:size], self._rest[size:]
        return out

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        if self._client is not None:
            self._client.close()
        super().close()


def http_source(url: str) -> BinaryIO:
    """The default way to read a file Telegram serves over HTTP: streamed."""
    return io.BufferedReader(UrlStream(url), buffer_size=CHUNK)


@dataclass(frozen=True)
class MediaPolicy:
    """How big files may be, how files served over HTTP are read, and local mode.

    `local_dir`: the self-hosted Bot API server's working directory (its `--dir`) when it
    runs with `--local`; None (the default) means no path the server hands out is read.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    open_url: Callable[[str], BinaryIO] = field(default=http_source)
    local_dir: Path | None = None


class LocalPathRefused(DownloadFailed):
    """A path from the Bot API server that is not a file it wrote inside its directory."""


# Opened below the server's directory one component at a time, never following a link.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _inside(file_path: str, root: Path) -> tuple[str, ...]:
    """The components of `file_path` below `root`; LocalPathRefused unless it is a path
    inside `root` whose resolved form is itself (no link on the way, no `..`)."""
    if not file_path or "\x00" in file_path or not os.path.isabs(file_path):
        raise LocalPathRefused("not an absolute path")
    if ".." in PurePosixPath(file_path).parts:
        raise LocalPathRefused("a path with ..")
    given = os.path.normpath(file_path)
    real_root = os.path.realpath(root)
    below = None
    for prefix in {os.path.normpath(root), real_root}:
        if given.startswith(prefix.rstrip(os.sep) + os.sep):
            below = os.path.relpath(given, prefix)
    if below is None:
        raise LocalPathRefused("outside the server directory")
    if os.path.realpath(given) != os.path.join(real_root, below):
        raise LocalPathRefused("a symbolic link")
    return tuple(Path(below).parts)


class LocalFile:
    """A file the local Bot API server wrote, opened safely; `remove()` deletes that entry."""

    def __init__(self, file_path: str, root: Path) -> None:
        parts = _inside(file_path, root)
        self._dir_fd = os.open(os.path.realpath(root), _DIR_FLAGS)
        self._name = parts[-1]
        try:
            for part in parts[:-1]:
                fd = os.open(part, _DIR_FLAGS, dir_fd=self._dir_fd)
                os.close(self._dir_fd)
                self._dir_fd = fd
            fd = os.open(self._name, _FILE_FLAGS, dir_fd=self._dir_fd)
        except OSError as exc:  # ELOOP / ENOTDIR: a link on the way; or gone
            os.close(self._dir_fd)
            raise LocalPathRefused(type(exc).__name__) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            os.close(self._dir_fd)
            raise LocalPathRefused("not a regular file")
        self.size = info.st_size
        self.stream: BinaryIO = os.fdopen(fd, "rb", buffering=CHUNK)

    def remove(self) -> None:
        """Delete the plaintext copy (the entry in the directory checked), then close."""
        try:
            self.stream.close()
            os.unlink(self._name, dir_fd=self._dir_fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.error("a received file could not be removed from disk (%s)", type(exc).__name__)
        finally:
            os.close(self._dir_fd)


def _file_url(bot: Bot, file_path: str) -> str:
    """Where a file served over HTTP is; LocalPathRefused for a path on this machine."""
    if os.path.isabs(file_path) or "://" in file_path or file_path.startswith("\\"):
        # Only a server in local mode hands out paths, and local mode was not set.
        raise LocalPathRefused("a local path without local mode")
    return f"{bot.base_file_url}/{quote(file_path, safe='/')}"


async def take_in(
    bot: Bot,
    store: FileStore,
    chat_id: int,
    incoming: IncomingFile,
    policy: MediaPolicy,
    retry: RetryPolicy | None = None,
) -> MediaRef:
    """Stream one file into the store (hashed, encrypted); TooLarge when over the limit."""
    if incoming.size is not None and incoming.size > policy.max_bytes:
        raise TooLarge
    retry = retry or RetryPolicy(attempts=3)
    try:
        # The Bot API's own answer: PTB's get_file would keep any path that names an
        # existing file on this machine (and prefix the rest with the file URL).
        answer = await with_retries(
            lambda: bot._post("getFile", {"file_id": incoming.file_id}), retry
        )
    except SendFailed as exc:
        if str(exc) == BadRequest.__name__:
            raise TooLarge from None  # "file is too big": the server will not hand it out
        raise DownloadFailed(str(exc)) from None
    file_path = answer.get("file_path") if isinstance(answer, dict) else None
    if not isinstance(file_path, str) or not file_path:
        raise DownloadFailed("no file path")
    try:
        if policy.local_dir is not None:
            return await _take_local(store, chat_id, file_path, incoming, policy)
        stream = policy.open_url(_file_url(bot, file_path))
    except LocalPathRefused as exc:
        log.warning("a file path from the Bot API server was refused (%s)", exc)
        raise
    try:
        return await _store(store, chat_id, stream, incoming, policy)
    finally:
        stream.close()


async def _take_local(
    store: FileStore, chat_id: int, file_path: str, incoming: IncomingFile, policy: MediaPolicy
) -> MediaRef:
    """Local mode: read the server's plaintext copy, then delete it (also when refused)."""
    assert policy.local_dir is not None
    local = LocalFile(file_path, policy.local_dir)
    try:
        if local.size > policy.max_bytes:
            raise TooLarge
        return await _store(store, chat_id, local.stream, incoming, policy)
    finally:
        local.remove()


async def _store(
    store: FileStore, chat_id: int, src: Any, incoming: IncomingFile, policy: MediaPolicy
) -> MediaRef:
    from storage.errors import FileTooLarge

    try:
        return await store.store_file(
            "telegram", chat_id, src, incoming.kind, incoming.mime, policy.max_bytes
        )
    except FileTooLarge:
        raise TooLarge from None
