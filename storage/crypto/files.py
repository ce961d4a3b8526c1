"""Files (voice notes, photos, documents): chunked AES-256-GCM, streamed, never whole in memory.

Layout: a 20-byte header, then chunks. Each chunk is at most `chunk_size` bytes of
plaintext sealed on its own (ciphertext + 16-byte tag); only the last may be shorter, and
there is always at least one (an empty file is one empty last chunk).

    header  = b"ATTESTF1" || chunk_size (u32 BE) || nonce prefix (8 random bytes)
    nonce   = prefix || chunk counter (u32 BE)
    aad     = label || header || counter (u64 BE) || last flag (1 byte) || caller's aad

The counter in the nonce and AAD detects reordered, dropped or duplicated chunks; the last
flag detects a file cut at a chunk boundary or extended after its end; the header in the
AAD pins the chunk size and prefix. This is the STREAM construction (Hoang et al., 2015).
On a failure part-way, `decrypt_file` has already written the earlier (authentic) chunks:
the caller must discard what it wrote.
"""

from __future__ import annotations

import hashlib
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import CorruptData, TamperedData

CHUNK_SIZE = 64 * 1024
MAGIC = b"ATTESTF1"
PREFIX_BYTES = 8
HEADER_BYTES = len(MAGIC) + 4 + PREFIX_BYTES
TAG_BYTES = 16
MIN_CHUNK_SIZE = 16
MAX_CHUNK_SIZE = 16 * 1024 * 1024
MAX_CHUNKS = 2**32

_LABEL = b"attest-file-chunk-v1\x00"


def _chunk_nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + struct.pack(">I", counter)


def _chunk_aad(header: bytes, counter: int, last: bool, aad: bytes) -> bytes:
    return _LABEL + header + struct.pack(">QB", counter, 1 if last else 0) + aad


class FileEncryptor:
    """A write-only sink that encrypts what is written to it into `dst`, chunk by chunk.

    `write()` as often as needed, then `finish()` once; it returns the hex SHA-256 and the
    size of the plaintext (the chain-of-custody hash of the file).
    """

    def __init__(self, key: bytes, aad: bytes, dst: BinaryIO, chunk_size: int = CHUNK_SIZE) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM keys are 32 bytes")
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("chunk size out of range")
        self._aead = AESGCM(key)
        self._aad = aad
        self._dst = dst
        self._chunk_size = chunk_size
        self._prefix = os.urandom(PREFIX_BYTES)
        self._header = MAGIC + struct.pack(">I", chunk_size) + self._prefix
        self._buffer = bytearray()
        self._counter = 0
        self._hash = hashlib.sha256()
        self._size = 0
        self._finished = False
        dst.write(self._header)

    @property
    def size(self) -> int:
        """Plaintext bytes written so far (lets a caller enforce a size limit as it goes)."""
        return self._size

    def write(self, data: bytes) -> int:
        if self._finished:
            raise ValueError("write after finish")
        self._buffer += data
        self._hash.update(data)
        self._size += len(data)
        # Keep at least one byte back: only finish() knows which chunk is the last.
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def finish(self) -> tuple[str, int]:
        if self._finished:
            raise ValueError("finish called twice")
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._finished = True
        return self._hash.hexdigest(), self._size

    def _emit(self, plaintext: bytes, last: bool) -> None:
        if self._counter >= MAX_CHUNKS:
            raise ValueError("file too large for one stream")
        nonce = _chunk_nonce(self._prefix, self._counter)
        aad = _chunk_aad(self._header, self._counter, last, self._aad)
        self._dst.write(self._aead.encrypt(nonce, plaintext, aad))
        self._counter += 1


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of stream (raw streams may return short reads)."""
    parts = []
    remaining = size
    while remaining > 0:
        part = src.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def encrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes, aad: bytes) -> tuple[str, int]:
    """Encrypt all of `src` into `dst`; the plaintext's hex SHA-256 and size."""
    encryptor = FileEncryptor(key, aad, dst)
    while block := src.read(CHUNK_SIZE):
        encryptor.write(block)
    return encryptor.finish()


def decrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes, aad: bytes) -> tuple[str, int]:
    """Decrypt `src` into `dst`; the plaintext's hex SHA-256 and size.

    CorruptData when the header is damaged; TamperedData when any chunk was changed,
    reordered, dropped, duplicated, or the file was cut short or extended.
    """
    if len(key) != 32:
        raise ValueError("AES-256-GCM keys are 32 bytes")
    header = _read_exact(src, HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise CorruptData("The encrypted file is damaged (its header is missing or wrong).")
    (chunk_size,) = struct.unpack(">I", header[len(MAGIC) : len(MAGIC) + 4])
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise CorruptData("The encrypted file is damaged (its chunk size is impossible).")
    prefix = header[len(MAGIC) + 4 :]
    aead = AESGCM(key)
    digest = hashlib.sha256()
    size = 0
    counter = 0
    block_size = chunk_size + TAG_BYTES
    current = _read_exact(src, block_size)
    while True:
        following = _read_exact(src, block_size)
        last = not following
        if len(current) < TAG_BYTES or counter >= MAX_CHUNKS:
            raise TamperedData()
        try:
            plaintext = aead.decrypt(
                _chunk_nonce(prefix, counter), current, _chunk_aad(header, counter, last, aad)
            )
        except InvalidTag:
            raise TamperedData() from None
        dst.write(plaintext)
        digest.update(plaintext)
        size += len(plaintext)
        counter += 1
        if last:
            return digest.hexdigest(), size
        current = following
