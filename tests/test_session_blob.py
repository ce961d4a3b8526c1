"""A draft stored as encrypted segments: a turn appends its new answers, nothing else moves.

- Round trip, for sessions with and without answers, and for the form written before.
- A turn that adds an answer keeps the stored answer segments byte for byte and encrypts
  only the new answer and the state; a changed or removed answer writes the whole draft
  again, so replaced words do not stay behind in the ciphertext.
- Segments cannot be moved: to another person, another position, another generation; a
  blob cut short or grown by a segment does not open.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from flows.account import make_answer
from flows.types import Session
from storage.crypto import encrypt_value
from storage.errors import CorruptDraft
from storage.intake import session_blob
from storage.intake.drafts import decrypt_session, encrypt_session
from storage.intake.session_blob import LENGTH_BYTES, MAGIC, MAX_SEGMENTS

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = bytes(range(32))
WORDS = "They came at night and took my sister"


def fresh(respondent: str = "resp-a", answers: int = 2) -> Session:
    found = {
        f"q{i}": make_answer(f"q{i}", "answered", T0 + timedelta(minutes=i), value=f"{WORDS} {i}")
        for i in range(answers)
    }
    return Session(
        respondent=respondent,
        flow="survivor",
        flow_version="3",
        language="en",
        state=f"q{answers}",
        answers=found,
        history=tuple(found),
        started_at=T0,
        updated_at=T0,
        data={"notes": ["harms"]},
        nonces={"q0": "abcdefgh"},
    )


def answered(session: Session, step: str, value: str) -> Session:
    """What the engine does with an answer: the same Answer objects, one more."""
    answer = make_answer(step, "answered", T0 + timedelta(hours=1), value=value)
    return session.evolve(answers={**session.answers, step: answer}, state="next")


def segments(blob: bytes) -> list[bytes]:
    """The segments of a blob, each with its length prefix."""
    found, at = [], len(MAGIC) + session_blob.GENERATION_BYTES
    while at < len(blob):
        size = int.from_bytes(blob[at : at + LENGTH_BYTES], "big")
        found.append(blob[at : at + LENGTH_BYTES + size])
        at += LENGTH_BYTES + size
    return found


@pytest.mark.parametrize("answers", [0, 1, 5])
def test_a_session_comes_back_as_it_was_saved(answers: int) -> None:
    session = fresh(answers=answers)
    blob = encrypt_session(KEY, session)
    assert decrypt_session(KEY, "resp-a", blob) == session
    assert WORDS.encode() not in blob


def test_a_draft_saved_in_the_earlier_form_still_opens() -> None:
    session = fresh(answers=3)
    plain = json.dumps(session.to_dict()).encode()
    legacy = encrypt_value(KEY, plain, b"sessions|resp-a|blob")
    opened = decrypt_session(KEY, "resp-a", legacy)
    assert opened == session
    # ... and is written in the new form at the next save.
    assert encrypt_session(KEY, answered(opened, "q3", "more")).startswith(MAGIC)


def test_a_new_answer_is_appended_and_the_stored_answers_are_not_touched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = encrypt_session(KEY, fresh(answers=4))
    opened = decrypt_session(KEY, "resp-a", first)
    encoded: list[str] = []
    to_dict = type(opened.answers["q0"]).to_dict

    def counting(answer):  # type: ignore[no-untyped-def]
        encoded.append(answer.step)
        return to_dict(answer)

    monkeypatch.setattr(type(opened.answers["q0"]), "to_dict", counting)
    later = answered(opened, "q4", "the station")
    second = encrypt_session(KEY, later)
    assert encoded == ["q4"]  # only the new answer was encoded
    old, new = segments(first), segments(second)
    assert new[:-2] == old[:-1]  # the answer segments, byte for byte
    assert len(new) == len(old) + 1
    assert decrypt_session(KEY, "resp-a", second) == later


def test_a_turn_without_a_new_answer_rewrites_only_the_state() -> None:
    first = encrypt_session(KEY, fresh(answers=2))
    opened = decrypt_session(KEY, "resp-a", first)
    moved = opened.evolve(state="check-in", pending=("a",))
    second = encrypt_session(KEY, moved)
    assert segments(second)[:-1] == segments(first)[:-1]
    assert decrypt_session(KEY, "resp-a", second) == moved


@pytest.mark.parametrize("how", ["changed", "removed"])
def test_a_changed_or_removed_answer_writes_the_whole_draft_again(how: str) -> None:
    first = encrypt_session(KEY, fresh(answers=3))
    opened = decrypt_session(KEY, "resp-a", first)
    answers = dict(opened.answers)
    if how == "changed":
        answers["q1"] = make_answer("q1", "answered", T0, value="something else")
    else:
        del answers["q1"]
    later = opened.evolve(answers=answers)
    second = encrypt_session(KEY, later)
    # A new generation: nothing of the old ciphertext (the replaced words) is kept.
    assert second[len(MAGIC) : len(MAGIC) + 8] != first[len(MAGIC) : len(MAGIC) + 8]
    assert not set(segments(second)) & set(segments(first))
    assert decrypt_session(KEY, "resp-a", second) == later


def test_a_draft_is_written_whole_again_every_so_many_segments() -> None:
    session = fresh(answers=1)
    blob = encrypt_session(KEY, session)
    counts = []
    for i in range(2 * MAX_SEGMENTS):
        session = answered(decrypt_session(KEY, "resp-a", blob), f"n{i}", f"answer {i}")
        blob = encrypt_session(KEY, session)
        counts.append(len(segments(blob)))
        assert decrypt_session(KEY, "resp-a", blob) == session
    assert max(counts) <= MAX_SEGMENTS
    assert min(counts) == 2  # written whole: all answers in one segment, then the state


def test_a_session_read_under_another_key_is_written_whole_under_the_new_one() -> None:
    opened = decrypt_session(KEY, "resp-a", encrypt_session(KEY, fresh(answers=2)))
    other = os.urandom(32)
    blob = encrypt_session(other, answered(opened, "q2", "x"))
    assert decrypt_session(other, "resp-a", blob).answers.keys() == {"q0", "q1", "q2"}
    with pytest.raises(CorruptDraft):
        decrypt_session(KEY, "resp-a", blob)


def test_segments_cannot_be_moved_cut_or_added() -> None:
    opened = decrypt_session(KEY, "resp-a", encrypt_session(KEY, fresh(answers=2)))
    blob = encrypt_session(KEY, answered(opened, "q2", "x"))
    header = blob[: len(MAGIC) + 8]
    first, second, state = segments(blob)
    other_person = encrypt_session(KEY, fresh("resp-b", answers=2))
    other_generation = encrypt_session(KEY, fresh(answers=2))
    forged = {
        "swapped": header + second + first + state,
        "cut short": header + first + state,
        "state dropped": header + first + second,
        "grown": header + first + second + second + state,
        "another person's segment": header + segments(other_person)[0] + second + state,
        "another generation's segment": header + segments(other_generation)[0] + second + state,
        "truncated": blob[:-1],
        "empty": b"",
        "header only": header,
    }
    for name, damaged in forged.items():
        with pytest.raises(CorruptDraft):
            decrypt_session(KEY, "resp-a", damaged)
            pytest.fail(name)
    with pytest.raises(CorruptDraft):
        decrypt_session(KEY, "resp-b", blob)


def test_what_was_read_does_not_travel_through_a_plain_replace() -> None:
    import dataclasses

    opened = decrypt_session(KEY, "resp-a", encrypt_session(KEY, fresh(answers=2)))
    replaced = dataclasses.replace(opened, state="q9")
    assert session_blob.READ_FROM not in replaced.__dict__
    blob = encrypt_session(KEY, replaced)
    assert len(segments(blob)) == 2  # written whole
    assert decrypt_session(KEY, "resp-a", blob) == replaced
