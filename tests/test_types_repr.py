"""The values that carry a person's words never print them: repr() shows shape only.

A traceback with locals, a debugger or a stray `log.debug("%s", turn)` formats these
objects; none of them may quote an answer, a hash of one, an option chosen or a code.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime

import pytest

from flows.types import (
    Answer,
    AnswerRecord,
    Choice,
    ConsentRecord,
    FinishedAccount,
    Inbound,
    MediaRef,
    Outbound,
    RecordWithdrawal,
    Session,
    ShredDraft,
    Turn,
)

CANARY = "canary-Они пришли ночью"
HASH = "c0ffee" * 10 + "beef"
CODE = "ATT-CANARY-7Q"
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _answer() -> Answer:
    return Answer(
        step="what-happened",
        status="answered",
        value=CANARY,
        parts=(CANARY, CANARY),
        received_at=WHEN,
        sha256=HASH,
        message_ids=(987654321,),
        files=(f"file-{CANARY}",),
    )


def _consent() -> ConsentRecord:
    return ConsentRecord(text_version="v1", language="uk", given_at=WHEN, scopes={"archive": "yes"})


def _session() -> Session:
    return Session(
        respondent=f"resp-{CANARY}",
        flow="survivor",
        flow_version="3",
        language="uk",
        state="what-happened",
        answers={"what-happened": _answer()},
        history=("intro", "what-happened"),
        pending=(CANARY,),
        consent=_consent(),
        started_at=WHEN,
        data={"note": CANARY},
    )


def _record() -> AnswerRecord:
    return AnswerRecord(
        step="what-happened",
        question="What happened?",
        kind="free-text",
        status="answered",
        value=(CANARY,),
        labels=(CANARY,),
        section="events",
        identifying=True,
        elements=(CANARY,),
        received_at=WHEN,
        sha256=HASH,
        message_ids=(987654321,),
        files=(f"file-{CANARY}",),
    )


def _account() -> FinishedAccount:
    return FinishedAccount(
        flow="survivor",
        flow_version="3",
        language="uk",
        mode="survivor",
        urgent=False,
        consent=_consent(),
        answers=(_record(),),
        reference_code=CODE,
        started_at=WHEN,
        submitted_at=WHEN,
    )


def _media() -> MediaRef:
    return MediaRef(file_id=f"file-{CANARY}", kind="voice", sha256=HASH, size=4242, mime_type=None)


def _outbound() -> Outbound:
    return Outbound(
        text=f"You said: {CANARY}",
        ask="check",
        kind="single",
        choices=(Choice(1, "yes", f"Yes, {CANARY}"),),
        selected=(CANARY,),
    )


def _turn() -> Turn:
    return Turn(
        session=_session(),
        messages=(_outbound(),),
        account=_account(),
        effects=(ShredDraft(), RecordWithdrawal(CODE)),
        end="submitted",
        reference=CODE,
    )


OBJECTS = {
    "Answer": _answer,
    "Session": _session,
    "Inbound text": lambda: Inbound(kind="text", text=CANARY, entropy=CANARY.encode()),
    "Inbound choice": lambda: Inbound(kind="choice", choice=CANARY, message_id=987654321),
    "Inbound media": lambda: Inbound(kind="media", media=_media()),
    "MediaRef": _media,
    "Choice": lambda: Choice(1, "yes", f"Yes, {CANARY}"),
    "Outbound": _outbound,
    "AnswerRecord": _record,
    "FinishedAccount": _account,
    "RecordWithdrawal": lambda: RecordWithdrawal(CODE),
    "Turn": _turn,
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_repr_never_shows_what_the_person_wrote(name: str) -> None:
    obj = OBJECTS[name]()
    for text in (repr(obj), str(obj), f"{obj}", f"{obj!r}", repr([obj])):
        assert type(obj).__name__ in text
        for secret in ("canary", "Они", HASH, CODE, "987654321", "4242"):
            assert secret not in text, (name, secret, text)


def test_repr_still_shows_the_shape() -> None:
    text = repr(_turn())
    assert "state='what-happened'" in text
    assert "answers=1" in text
    assert "end='submitted'" in text
    assert "ShredDraft()" in text
    assert "Inbound(kind='media'" in repr(OBJECTS["Inbound media"]())


def test_equality_hashing_and_serialisation_are_unchanged() -> None:
    assert _answer() == _answer() and hash(_answer()) == hash(_answer())
    assert _answer() != Answer(step="what-happened", status="skip")
    assert Answer.from_dict(_answer().to_dict()) == _answer()
    assert Session.from_dict(_session().to_dict()) == _session()
    assert _answer().to_dict()["value"] == CANARY
    assert _account().body()["answers"][0]["value"] == [CANARY]
    assert asdict(_media())["sha256"] == HASH
    assert all(f.compare for f in fields(Session))
