"""/withdraw in the engine: a person is told a withdrawal is recorded only when it can be.

The engine cannot look anything up; the dispatcher asks the store whether this node sent
an account with the code (`Engine.code_to_look_up`, then `Inbound.code_sent`). A code
with a slip in it is refused at once; a code this node has no record of is refused once,
kindly, and recorded only when the person sends the same code again, with words that say
the team will try to match it, never that the account is withdrawn.
"""

from __future__ import annotations

import pytest

from flows.reference import ALPHABET, reference_code
from flows.types import Inbound, RecordWithdrawal, Turn
from tests.golden.talk import Talk

CODE = reference_code(b"\x07" * 16)
OLD_CODE = "66WQ-96HV-VC"


def typo(code: str, position: int) -> str:
    chars = code.replace("-", "")
    other = next(c for c in ALPHABET if c != chars[position])
    chars = chars[:position] + other + chars[position + 1 :]
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def at_code_prompt() -> Talk:
    talk = Talk.of("tiny")
    talk.start()
    talk.command("withdraw")
    assert talk.state == "withdraw-code"
    return talk


def typed(talk: Talk, text: str, sent: bool | None) -> Turn:
    return talk.send(Inbound(kind="text", text=text, code_sent=sent))


def recorded(turn: Turn) -> list[str]:
    return [e.reference_code for e in turn.effects if isinstance(e, RecordWithdrawal)]


def said(turn: Turn) -> str:
    return "\n".join(m.text for m in turn.messages)


def test_asking_for_the_code_does_not_assume_an_account_was_sent() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.command("withdraw")
    assert "you sent" not in said(turn)
    assert "K7QM-4TXA-9XP" in said(turn)


@pytest.mark.parametrize("position", range(11))
def test_a_code_with_one_character_wrong_is_refused_and_nothing_is_recorded(
    position: int,
) -> None:
    talk = at_code_prompt()
    turn = typed(talk, typo(CODE, position), sent=None)
    assert recorded(turn) == []
    assert talk.state == "withdraw-code" and turn.end is None
    text = said(turn)
    assert "Nothing has been withdrawn" in text
    assert "is recorded" not in text and "remove" not in text
    assert turn.messages[-1].ask == "withdraw-code"


def test_two_neighbouring_characters_swapped_are_refused() -> None:
    chars = CODE.replace("-", "")
    position = next(i for i in range(10) if chars[i] != chars[i + 1])
    swapped = chars[:position] + chars[position + 1] + chars[position] + chars[position + 2 :]
    talk = at_code_prompt()
    turn = typed(talk, swapped, sent=None)
    assert recorded(turn) == [] and talk.state == "withdraw-code"


def test_a_slip_is_refused_without_asking_the_store() -> None:
    talk = at_code_prompt()
    assert talk.session is not None
    slip = Inbound(kind="text", text=typo(CODE, 3))
    assert talk.engine.code_to_look_up(talk.session, slip) is None


def test_a_well_formed_code_is_looked_up_first() -> None:
    talk = at_code_prompt()
    assert talk.session is not None
    spaced = Inbound(kind="text", text=CODE.lower().replace("-", " "))
    assert talk.engine.code_to_look_up(talk.session, spaced) == CODE
    assert talk.engine.code_to_look_up(talk.session, Inbound(kind="text", text=OLD_CODE)) == (
        OLD_CODE
    )
    assert talk.engine.code_to_look_up(talk.session, Inbound(kind="text", text="/back")) is None


def test_nothing_is_looked_up_outside_the_code_question() -> None:
    talk = Talk.of("tiny")
    talk.start()
    assert talk.session is not None
    assert talk.engine.code_to_look_up(talk.session, Inbound(kind="text", text=CODE)) is None


def test_a_code_this_node_sent_is_recorded_and_will_be_removed() -> None:
    talk = at_code_prompt()
    turn = typed(talk, CODE.lower(), sent=True)
    assert recorded(turn) == [CODE]
    assert turn.end == "withdrawn"
    assert "is recorded, and the team will remove it" in said(turn)


@pytest.mark.parametrize("code", [CODE, OLD_CODE])
def test_a_code_no_account_here_matches_is_refused_kindly_first(code: str) -> None:
    talk = at_code_prompt()
    turn = typed(talk, code, sent=False)
    assert recorded(turn) == []
    assert talk.state == "withdraw-code" and turn.end is None
    text = said(turn)
    assert "couldn't find" in text and "Nothing has been withdrawn" in text
    assert "questions@example.org" in text
    assert "is recorded" not in text and "remove" not in text


@pytest.mark.parametrize("code", [CODE, OLD_CODE])
def test_the_same_unmatched_code_sent_again_is_recorded_for_the_team_to_match(code: str) -> None:
    talk = at_code_prompt()
    typed(talk, code, sent=False)
    assert talk.session is not None
    # The person confirms by sending it again: no second look-up is needed.
    assert talk.engine.code_to_look_up(talk.session, Inbound(kind="text", text=code)) is None
    turn = typed(talk, code.lower(), sent=None)
    assert recorded(turn) == [code]
    # Recorded for the team to match: not "withdrawn" (the console's end event says this).
    assert turn.end == "withdrawal-requested" and turn.session is None
    text = said(turn)
    assert "is recorded" in text and "match" in text
    assert "will remove it" not in text and "is withdrawn" not in text


def test_a_different_unmatched_code_after_a_refusal_is_refused_again() -> None:
    talk = at_code_prompt()
    typed(talk, OLD_CODE, sent=False)
    turn = typed(talk, CODE, sent=False)
    assert recorded(turn) == [] and talk.state == "withdraw-code"


def test_without_a_look_up_a_code_is_never_said_to_be_withdrawn() -> None:
    talk = at_code_prompt()
    turn = typed(talk, CODE, sent=None)
    assert recorded(turn) == [] and talk.state == "withdraw-code"
    assert "is recorded" not in said(turn)


def test_back_after_a_refusal_returns_to_where_the_person_was() -> None:
    talk = at_code_prompt()
    typed(talk, CODE, sent=False)
    turn = talk.command("back")
    assert talk.state == "language" and turn.messages[-1].ask == "language"


def test_withdrawing_in_the_middle_names_an_earlier_account_not_one_sent() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run("1", "1")  # English; somewhere private
    turn = talk.command("withdraw")
    assert talk.state == "confirm-delete"
    assert "you sent" not in said(turn) and "earlier account" in said(turn)


def test_having_chosen_only_a_language_is_not_called_unfinished_answers() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.send("1")  # English: the only answer
    talk.command("withdraw")
    assert talk.state == "withdraw-code"
    turn = typed(talk, CODE, sent=True)
    assert recorded(turn) == [CODE] and "unfinished answers" not in said(turn)


def test_withdrawing_after_answers_says_they_were_deleted_too() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run("1", "1")  # English; somewhere private
    talk.command("withdraw")
    talk.press("delete")
    turn = typed(talk, CODE, sent=True)
    assert "unfinished answers of this conversation have been deleted" in said(turn)


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_the_code_pasted_back_from_a_right_to_left_message_is_looked_up(language: str) -> None:
    talk = Talk.of("tiny")
    talk.start(language)
    talk.command("withdraw")
    assert talk.session is not None and talk.state == "withdraw-code"
    pasted = f"\u2066{CODE}\u2069"
    words = talk.translators(talk.session.language)
    assert talk.engine.code_to_look_up(talk.session, Inbound(kind="text", text=pasted), words) == (
        CODE
    )
    turn = typed(talk, pasted, sent=True)
    assert recorded(turn) == [CODE]
