"""Files people send (voice notes, and photos or documents where a flow asks for them).

A file is taken in only where the step being asked allows media. It is refused before any
download when Telegram says it is larger than the limit. Otherwise it is streamed, never
held whole in memory, into the store, which hashes and encrypts it chunk by chunk and
enforces the limit again (the size Telegram reports is the sender's claim):

- from the public gateway (or a self-hosted Bot API server without `--local`), over HTTP;
- from a self-hosted server in local mode, which hands out a path on this machine: the
  file is read from disk and the plaintext copy the server left there is deleted as soon
  as it has been encrypted (also when it was refused), since nobody should find it later.

The URL of a file contains the bot token, so it is never logged or put in an error.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
    """How big files may be and how files served over HTTP are read."""

    max_bytes: int = DEFAULT_MAX_BYTES
    open_url: Callable[[str], BinaryIO] = field(default=http_source)


def _local_path(file_path: str | None) -> Path | None:
    """The path when the Bot API server handed out a file on this machine (local mode)."""
    if not file_path or "://" in file_path:
        return None
    path = Path(file_path)
    return path if path.is_absolute() and path.is_file() else None


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("a received file could not be removed from disk (%s)", type(exc).__name__)


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
        telegram_file = await with_retries(lambda: bot.get_file(incoming.file_id), retry)
    except SendFailed as exc:
        if str(exc) == BadRequest.__name__:
            raise TooLarge from None  # "file is too big": the server will not hand it out
        raise DownloadFailed(str(exc)) from None
    local = _local_path(telegram_file.file_path)
    if local is not None:
        try:
            if local.stat().st_size > policy.max_bytes:
                raise TooLarge
            with local.open("rb") as src:
                return await _store(store, chat_id, src, incoming, policy)
        finally:
            _remove(local)
    if not telegram_file.file_path:
        raise DownloadFailed("no file path")
    stream = policy.open_url(telegram_file.file_path)
    try:
        return await _store(store, chat_id, stream, incoming, policy)
    finally:
        stream.close()


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
