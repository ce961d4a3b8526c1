"""A draft's stored form: encrypted segments, so a turn encrypts what it added, not the whole.

Every turn used to decode, re-encode and re-encrypt the whole session, a cost that grew
with each answer (bench/telegram.py: ~40% of attest's own CPU per answer of a whole
interview). Now `sessions.blob` is

    MAGIC || generation (8 random bytes) || segment 0 || segment 1 || ... || segment n

and each segment is `length (4 bytes, big-endian) || nonce || AES-256-GCM(json)` under the
draft's data key, its AAD naming the row, the generation and the segment's position
(`sessions|<respondent>|blob|v2|<generation>|<index>`), so a segment moved to another
draft, another position or another generation does not open. Segments 0..n-1 hold
answers (`{"a": {step: answer}}`); the last one holds everything else of the session,
the answers' order and the number of segments (`{"s": ..., "order": [...], "n": n+1}`),
so a blob cut short or with a segment added does not open either.

A turn that only adds answers (the common case: the next question answered) keeps the
answer segments it read (their bytes, copied, not decrypted or decoded again), appends
one segment with the new answers and writes a fresh state segment. Anything else writes
the whole session again under a new generation: a changed or removed answer (so words a
person replaced or deleted never stay behind in the ciphertext), a session that was not
read from a blob under this key, and every `MAX_SEGMENTS` segments (so opening a draft
decrypts a bounded number of segments).

What was read travels with the session itself (`READ_FROM`, an attribute `Session.evolve`
copies and `dataclasses.replace` drops), so nothing of a draft is kept anywhere once its
turn is over, and a session from anywhere else is simply written whole.

Blobs written before this format (`nonce || AES-256-GCM(Session.to_dict())`, AAD
`sessions|<respondent>|blob`) still open; the next save writes them in this form.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from flows.types import Answer, Session
from storage.crypto import decrypt_value, encrypt_value
from storage.errors import CorruptDraft, StorageError

MAGIC = b"\x00AS2"
GENERATION_BYTES = 8
LENGTH_BYTES = 4
# Segments at most (answer segments and the state); at this many, a save writes it whole.
MAX_SEGMENTS = 8
READ_FROM = "_attest_read_from"  # the Session attribute carrying `ReadFrom`
_SMALLEST_SEGMENT = 12 + 16  # nonce and tag
_HEADER = len(MAGIC) + GENERATION_BYTES


@dataclass(frozen=True)
class ReadFrom:
    """What a session was read from: enough to append to it without re-encrypting it."""

    key: bytes
    respondent: str
    generation: bytes
    answers_blob: bytes  # header and answer segments, as stored
    segments: int  # answer segments in answers_blob
    answers: dict[str, Answer]  # the answers as read (compared by identity)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _aad(respondent: str, generation: bytes, index: int) -> bytes:
    return f"sessions|{respondent}|blob|v2|{generation.hex()}|{index}".encode()


def _legacy_aad(respondent: str) -> bytes:
    return f"sessions|{respondent}|blob".encode()


def _segment(key: bytes, respondent: str, generation: bytes, index: int, value: Any) -> bytes:
    sealed = encrypt_value(key, _json(value), _aad(respondent, generation, index))
    return len(sealed).to_bytes(LENGTH_BYTES, "big") + sealed


def _state(session: Session, segments: int) -> dict[str, Any]:
    state = session.to_dict(answers=False)
    return {"s": state, "order": list(session.answers), "n": segments}


def encode_session(key: bytes, session: Session) -> bytes:
    """The session's stored form, appending to the blob it was read from when it can."""
    read: ReadFrom | None = session.__dict__.get(READ_FROM)
    respondent = session.respondent
    answers = session.answers
    if (
        read is not None
        and read.key == key
        and read.respondent == respondent
        and read.segments + 2 <= MAX_SEGMENTS
        and all(answers.get(step) is answer for step, answer in read.answers.items())
    ):
        added = {step: a.to_dict() for step, a in answers.items() if step not in read.answers}
        parts = [read.answers_blob]
        index = read.segments
        if added:
            parts.append(_segment(key, respondent, read.generation, index, {"a": added}))
            index += 1
        parts.append(_segment(key, respondent, read.generation, index, _state(session, index + 1)))
        return b"".join(parts)
    generation = os.urandom(GENERATION_BYTES)
    parts = [MAGIC, generation]
    index = 0
    if answers:
        whole = {step: a.to_dict() for step, a in answers.items()}
        parts.append(_segment(key, respondent, generation, 0, {"a": whole}))
        index = 1
    parts.append(_segment(key, respondent, generation, index, _state(session, index + 1)))
    return b"".join(parts)


def decode_session(key: bytes, respondent: str, blob: bytes) -> Session:
    """The stored session (either form); CorruptDraft when damaged or not this person's."""
    session: Session | None = None
    if blob.startswith(MAGIC):
        try:
            session = _decode_segments(key, respondent, blob)
        except (StorageError, ValueError, KeyError, TypeError, AttributeError):
            session = None  # a legacy blob whose nonce happens to start like MAGIC?
    if session is None:
        try:
            plain = decrypt_value(key, blob, _legacy_aad(respondent))
            session = Session.from_dict(json.loads(plain))
        except (StorageError, ValueError, KeyError, TypeError, AttributeError):
            raise CorruptDraft() from None
    if session.respondent != respondent:
        raise CorruptDraft()
    return session


def _decode_segments(key: bytes, respondent: str, blob: bytes) -> Session:
    generation = blob[len(MAGIC) : _HEADER]
    bounds: list[tuple[int, int]] = []
    at = _HEADER
    while at < len(blob):
        size = int.from_bytes(blob[at : at + LENGTH_BYTES], "big")
        start = at + LENGTH_BYTES
        if size < _SMALLEST_SEGMENT or start + size > len(blob):
            raise CorruptDraft()
        bounds.append((start, start + size))
        at = start + size
    if not bounds or len(generation) != GENERATION_BYTES:
        raise CorruptDraft()
    values = [
        json.loads(decrypt_value(key, blob[start:end], _aad(respondent, generation, i)))
        for i, (start, end) in enumerate(bounds)
    ]
    *answer_segments, state = values
    if set(state) != {"s", "order", "n"} or state["n"] != len(values):
        raise CorruptDraft()
    found: dict[str, Any] = {}
    for segment in answer_segments:
        if set(segment) != {"a"}:
            raise CorruptDraft()
        found.update(segment["a"])
    fields = dict(state["s"])
    fields["answers"] = {step: found[step] for step in state["order"]}
    session = Session.from_dict(fields)
    if any(answer.step != step for step, answer in session.answers.items()):
        raise CorruptDraft()
    answers_end = bounds[-1][0] - LENGTH_BYTES
    session.__dict__[READ_FROM] = ReadFrom(
        key=key,
        respondent=respondent,
        generation=generation,
        answers_blob=blob[:answers_end],
        segments=len(answer_segments),
        answers=dict(session.answers),
    )
    return session
