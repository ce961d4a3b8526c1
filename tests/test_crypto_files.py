"""Files: chunked, streamed encryption that detects truncation, reordering and any change."""

from __future__ import annotations

import hashlib
import io
import os
from typing import BinaryIO

import pytest

from storage.crypto import (
    CHUNK_SIZE,
    FileEncryptor,
    decrypt_file,
    encrypt_file,
    new_data_key,
)
from storage.crypto.files import HEADER_BYTES, TAG_BYTES
from storage.errors import CorruptData, TamperedData

AAD = b"files/7c1e"
SMALL = 64  # chunk size for tests that cut the stream at chunk boundaries


def encrypt_small(key: bytes, data: bytes) -> bytes:
    out = io.BytesIO()
    encryptor = FileEncryptor(key, AAD, out, chunk_size=SMALL)
    for start in range(0, len(data), 50):  # writes that do not line up with chunks
        encryptor.write(data[start : start + 50])
    assert encryptor.finish() == (hashlib.sha256(data).hexdigest(), len(data))
    return out.getvalue()


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, rest = blob[:HEADER_BYTES], blob[HEADER_BYTES:]
    step = SMALL + TAG_BYTES
    return header, [rest[i : i + step] for i in range(0, len(rest), step)]


def decrypt(key: bytes, blob: bytes, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    digest, size = decrypt_file(io.BytesIO(blob), out, key, aad)
    assert digest == hashlib.sha256(out.getvalue()).hexdigest()
    assert size == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 5 * SMALL + 7])
def test_round_trip_at_every_boundary(size: int) -> None:
    key = new_data_key()
    data = os.urandom(size)
    assert decrypt(key, encrypt_small(key, data)) == data


def test_encrypt_file_streams_with_real_chunks_and_returns_hash_and_size() -> None:
    key = new_data_key()
    data = os.urandom(3 * CHUNK_SIZE + 1234)
    blob = io.BytesIO()
    digest, size = encrypt_file(io.BytesIO(data), blob, key, AAD)
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert data[:4096] not in blob.getvalue()
    assert decrypt(key, blob.getvalue()) == data


class CountingReader(io.RawIOBase):
    """An endless-looking source that records the largest read asked of it."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.largest = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size >= 0, "the whole stream was asked for at once"
        self.largest = max(self.largest, size)
        return self.inner.read(size)


def test_neither_direction_reads_the_whole_file_at_once() -> None:
    key = new_data_key()
    data = os.urandom(40 * CHUNK_SIZE)
    source = CountingReader(io.BytesIO(data))
    blob = io.BytesIO()
    encrypt_file(source, blob, key, AAD)  # type: ignore[arg-type]
    assert source.largest <= CHUNK_SIZE
    encrypted = CountingReader(io.BytesIO(blob.getvalue()))
    out = io.BytesIO()
    decrypt_file(encrypted, out, key, AAD)  # type: ignore[arg-type]
    assert encrypted.largest <= CHUNK_SIZE + TAG_BYTES
    assert out.getvalue() == data


@pytest.fixture()
def sample() -> tuple[bytes, bytes]:
    key = new_data_key()
    return key, encrypt_small(key, os.urandom(4 * SMALL + 10))  # five chunks


def test_dropping_the_last_chunks_is_detected(sample: tuple[bytes, bytes]) -> None:
    key, blob = sample
    header, chunks = chunks_of(blob)
    for keep in range(1, len(chunks)):
        with pytest.raises(TamperedData):
            decrypt(key, header + b"".join(chunks[:keep]))


def test_cutting_inside_a_chunk_is_detected(sample: tuple[bytes, bytes]) -> None:
    key, blob = sample
    for cut in (HEADER_BYTES + 1, HEADER_BYTES + SMALL, len(blob) - 1, len(blob) - TAG_BYTES):
        with pytest.raises(TamperedData):
            decrypt(key, blob[:cut])


def test_reordered_duplicated_or_dropped_middle_chunks_are_detected(
    sample: tuple[bytes, bytes],
) -> None:
    key, blob = sample
    header, chunks = chunks_of(blob)
    variants = [
        [chunks[1], chunks[0], *chunks[2:]],
        [chunks[0], chunks[0], *chunks[1:]],
        [chunks[0], *chunks[2:]],
        [*chunks, chunks[-1]],
        [*chunks[:-1], chunks[0], chunks[-1]],
    ]
    for variant in variants:
        with pytest.raises(TamperedData):
            decrypt(key, header + b"".join(variant))


def test_changed_bytes_wrong_key_or_wrong_row_are_detected(sample: tuple[bytes, bytes]) -> None:
    key, blob = sample
    for position in (HEADER_BYTES, HEADER_BYTES + 100, len(blob) - 1, 10, 15):
        changed = bytearray(blob)
        changed[position] ^= 0x80
        with pytest.raises((TamperedData, CorruptData)):
            decrypt(key, bytes(changed))
    with pytest.raises(TamperedData):
        decrypt(new_data_key(), blob)
    with pytest.raises(TamperedData):
        decrypt(key, blob, b"files/other")


def test_damaged_header_is_corrupt_data_not_a_crash(sample: tuple[bytes, bytes]) -> None:
    key, blob = sample
    for damaged in (
        b"",
        blob[:5],
        b"NOTATTES" + blob[8:],
        blob[:8] + b"\xff\xff\xff\xff" + blob[12:],
    ):
        with pytest.raises(CorruptData):
            decrypt(key, damaged)


def test_a_stream_from_another_file_with_the_same_key_does_not_splice(
    sample: tuple[bytes, bytes],
) -> None:
    key, blob = sample
    other = encrypt_small(key, os.urandom(4 * SMALL + 10))
    header, chunks = chunks_of(blob)
    _, foreign = chunks_of(other)
    with pytest.raises(TamperedData):
        decrypt(key, header + b"".join([chunks[0], foreign[1], *chunks[2:]]))


def test_the_encryptor_reports_size_as_it_goes_and_refuses_use_after_finish() -> None:
    out = io.BytesIO()
    encryptor = FileEncryptor(new_data_key(), AAD, out, chunk_size=SMALL)
    encryptor.write(b"x" * 100)
    assert encryptor.size == 100
    encryptor.finish()
    with pytest.raises(ValueError):
        encryptor.write(b"more")
