"""Tier 1: drafts round-trip, and refuse to open in another row or after any change."""

from __future__ import annotations

import pytest

from storage.crypto import (
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from storage.errors import CorruptData, TamperedData

ROW = b"sessions/3f2a/blob"
ANSWER = "Они забрали моего брата — 2019".encode()


def test_value_round_trips_and_is_not_readable_in_the_blob() -> None:
    key = new_data_key()
    blob = encrypt_value(key, ANSWER, ROW)
    assert ANSWER not in blob
    assert decrypt_value(key, blob, ROW) == ANSWER
    assert encrypt_value(key, ANSWER, ROW) != blob  # fresh nonce every time


def test_value_copied_to_another_row_does_not_open() -> None:
    key = new_data_key()
    blob = encrypt_value(key, ANSWER, ROW)
    with pytest.raises(TamperedData):
        decrypt_value(key, blob, b"sessions/9999/blob")


@pytest.mark.parametrize("position", [0, 11, 12, 20, -1])
def test_any_flipped_byte_is_refused(position: int) -> None:
    key = new_data_key()
    blob = bytearray(encrypt_value(key, ANSWER, ROW))
    blob[position] ^= 0x01
    with pytest.raises(TamperedData) as caught:
        decrypt_value(key, bytes(blob), ROW)
    assert "Они" not in str(caught.value)


def test_truncated_value_is_corrupt_not_a_crash() -> None:
    key = new_data_key()
    blob = encrypt_value(key, ANSWER, ROW)
    with pytest.raises(CorruptData):
        decrypt_value(key, blob[:20], ROW)
    with pytest.raises(TamperedData):
        decrypt_value(key, blob[:-1], ROW)


def test_wrapped_data_key_opens_only_with_its_master_and_row() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, data_key, b"sessions/3f2a")
    assert data_key not in wrapped
    assert unwrap_key(master, wrapped, b"sessions/3f2a") == data_key
    with pytest.raises(TamperedData):
        unwrap_key(new_data_key(), wrapped, b"sessions/3f2a")
    with pytest.raises(TamperedData):
        unwrap_key(master, wrapped, b"sessions/other")


def test_a_wrapped_key_is_not_accepted_as_a_value_or_the_reverse() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, data_key, ROW)
    with pytest.raises(TamperedData):
        decrypt_value(master, wrapped, ROW)
    value = encrypt_value(master, data_key, ROW)
    with pytest.raises(TamperedData):
        unwrap_key(master, value, ROW)


def test_wrong_key_length_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        encrypt_value(b"short", ANSWER, ROW)
