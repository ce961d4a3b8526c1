"""Commands work in every state and every language, as /word, as a command or a bare word."""

from __future__ import annotations

import pytest

from flows.reference import read_code, reference_code
from flows.types import EraseChat, Inbound, ShredDraft
from tests.golden.talk import Talk
from tests.test_engine import TO_RECALL, at_recall

EXIT_FORMS = [
    "/exit",
    "exit",
    "EXIT",
    " Exit ",
    "/exit@attest_bot",
    Inbound(kind="command", command="exit"),
]


@pytest.mark.parametrize("form", EXIT_FORMS, ids=str)
def test_quick_exit_in_any_form_erases_everything(form: str | Inbound) -> None:
    talk = at_recall()
    turn = talk.send(form)
    assert turn.session is None and turn.end == "exited"
    assert turn.effects == (ShredDraft(), EraseChat())
    assert [m.text for m in turn.messages] == ["Thanks, all done."]


@pytest.mark.parametrize(
    "state_inputs",
    [
        (),
        ("1",),
        (*TO_RECALL, "x"),
        (*TO_RECALL, "x", "done"),
        (*TO_RECALL, "/withdraw"),
        (*TO_RECALL, "/language"),
    ],
    ids=["first question", "safety", "more", "check-in", "withdraw-code", "language"],
)
def test_quick_exit_works_in_every_state(state_inputs: tuple[str, ...]) -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run(*state_inputs) if state_inputs else None
    turn = talk.send("exit")
    assert turn.session is None and turn.end == "exited"


def test_exit_typed_as_an_answer_to_a_free_text_question_is_still_quick_exit() -> None:
    talk = at_recall()
    turn = talk.send("exit")
    assert turn.end == "exited" and turn.account is None


def test_a_translated_command_word_works_too() -> None:
    class French:
        language = "fr"

        def gettext(self, message: str) -> str:
            return {"exit": "sortir", "skip": "passer"}.get(message, message)

        def ngettext(self, singular: str, plural: str, n: int) -> str:
            return singular if n == 1 else plural

    talk = Talk.of("tiny", translators=lambda _language: French())
    talk.start()
    talk.send("1")
    talk.send("Passer")
    assert talk.session is not None and talk.session.answers["safe"].status == "skip"
    assert talk.send("SORTIR").end == "exited"


def test_pause_says_how_long_answers_are_kept_and_resume_asks_again() -> None:
    talk = at_recall()
    turn = talk.send("pause")
    assert turn.end == "paused"
    assert "kept for 7 days" in turn.messages[0].text
    assert talk.session is not None and talk.session.status == "paused"
    turn = talk.send("/resume")
    assert turn.messages[-1].ask == "recall"
    assert talk.session is not None and talk.session.status == "active"


def test_coming_back_to_an_unfinished_interview_asks_resume_or_restart() -> None:
    talk = at_recall()
    turn = talk.start()
    assert turn.messages[-1].ask == "resume"
    assert [c.value for c in turn.messages[-1].choices] == ["resume", "restart"]
    turn = talk.send("1")
    assert turn.messages[-1].ask == "recall"
    talk.start()
    turn = talk.press("restart")  # it deletes the answers, so it is asked once more
    assert turn.messages[-1].ask == "confirm-delete"
    turn = talk.press("back")
    assert turn.messages[-1].ask == "resume" and talk.session is not None
    assert talk.session.answers
    talk.press("restart")
    turn = talk.press("delete")
    assert turn.messages[-1].ask == "language"
    assert talk.session is not None and talk.session.answers == {}


def test_help_gives_support_contacts_then_asks_the_question_again() -> None:
    talk = at_recall()
    turn = talk.send("/help")
    assert "Example Helpline (demo): +000 000 0001" in turn.messages[0].text
    assert turn.messages[-1].ask == "recall"


def test_language_asks_the_language_question_then_returns() -> None:
    talk = at_recall()
    turn = talk.send("/language")
    assert turn.messages[-1].ask == "language"
    turn = talk.send("2")
    assert turn.messages[-1].ask == "recall"
    assert talk.session is not None and talk.session.language == "fr"
    assert talk.session.history[-1] == "recall"


def test_language_can_be_left_unchanged_with_back() -> None:
    talk = at_recall()
    talk.send("/language")
    turn = talk.send("/back")
    assert turn.messages[-1].ask == "recall"
    assert talk.session is not None and talk.session.language == "en"


def test_back_shows_the_earlier_answer_and_skip_moves_on() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run("1", "1", "yes")
    turn = talk.send("back")
    assert turn.messages[-1].ask == "age"
    assert turn.messages[-1].text.endswith("(Your answer was: Yes)")
    talk.send("back")
    talk.send("back")
    turn = talk.send("back")
    assert "first question" in turn.messages[0].text
    assert turn.messages[-1].ask == "language"


def test_back_from_a_check_in_returns_to_the_story_and_adds_to_it() -> None:
    talk = at_recall()
    talk.send("First part.")
    talk.press("done")
    turn = talk.send("/back")
    assert turn.messages[-1].ask == "recall"
    # Kept and added to, but never quoted back (issue 12: no step repeats what was typed).
    assert "(What you wrote before is kept. Anything you send now is added to it.)" in (
        turn.messages[-1].text
    )
    assert "First part." not in turn.messages[-1].text
    talk.send("Something I forgot.")
    talk.press("done")
    answer = talk.session.answers["recall"] if talk.session else None
    assert answer is not None and answer.parts == ("First part.", "Something I forgot.")


def test_back_to_a_one_message_answer_replaces_it() -> None:
    talk = at_recall()
    talk.send("Story.")
    talk.press("done")
    talk.press("continue")
    talk.send("First version.")
    turn = talk.send("/back")
    assert "(You answered this before. What you send now takes its place.)" in (
        turn.messages[-1].text
    )
    assert "First version." not in turn.messages[-1].text
    talk.send("Second version.")
    assert talk.session is not None
    assert talk.session.answers["follow-up"].value == "Second version."


def test_an_unknown_command_lists_the_commands_and_asks_again() -> None:
    talk = at_recall()
    turn = talk.send("/frobnicate")
    assert "/skip, /back, /pause" in turn.messages[0].text
    assert turn.messages[-1].ask == "recall"


def test_skip_in_engine_states_goes_on_gently() -> None:
    talk = at_recall()
    talk.send("Something.")
    assert talk.send("skip").messages[-1].ask == "check-in"  # more: skip = done
    assert talk.send("skip").messages[-1].ask == "follow-up"  # check-in: skip = go on


def test_a_first_message_that_is_not_start_starts_the_interview() -> None:
    talk = Talk.of("tiny")
    turn = talk.send("hello")
    assert turn.messages[-1].ask == "language"


def test_withdraw_can_be_left_with_back_and_exit_still_exits() -> None:
    talk = at_recall()
    talk.send("/withdraw")
    turn = talk.send("/back")
    assert turn.messages[-1].ask == "recall"
    talk.send("/withdraw")
    assert talk.send("/exit").end == "exited"


def test_reference_codes_are_unambiguous_derived_from_entropy_and_normalised() -> None:
    code = reference_code(b"\x01" * 32)
    assert code == reference_code(b"\x01" * 32) != reference_code(b"\x02" * 32)
    assert len(code) == 13 and code[4] == code[9] == "-"
    assert not set(code) & set("01OILUB8S5")
    assert read_code(code.lower().replace("-", " ")).code == code
    assert read_code("K7QM-4TXA-9").code is None
    with pytest.raises(ValueError):
        reference_code(b"short")


def test_help_after_a_conversation_ended_does_not_start_a_new_one() -> None:
    talk = Talk.of("tiny")
    talk.start()
    assert talk.run("1", "3").end == "not-safe"
    turn = talk.send("/help")
    assert "Example Clinic (demo)" in turn.messages[0].text
    assert turn.messages[-1].text == "When you are ready to begin, send /start."
    assert all(m.ask is None for m in turn.messages)
    assert talk.start().messages[-1].ask == "language"


def test_stepping_back_to_look_and_skipping_forward_again_loses_nothing() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run("1", "1", "yes", "no")
    talk.send("/back")
    talk.send("/back")
    turn = talk.send("/skip")
    assert turn.messages[0].text == "Your earlier answer is kept."
    assert turn.messages[-1].ask == "recent"
    talk.send("/skip")
    assert talk.state == "archive"
    assert talk.session is not None
    assert {k: a.value for k, a in talk.session.answers.items()} == {
        "language": "en", "safe": "yes", "age": "yes", "recent": "no"
    }  # fmt: skip


def test_any_message_after_a_pause_ends_the_pause() -> None:
    talk = at_recall()
    talk.send("/pause")
    talk.send("/back")
    assert talk.session is not None and talk.session.status == "active"
    assert talk.send("/pause").end == "paused"
    assert talk.session is not None and talk.session.status == "paused"


def test_every_shipped_flow_draws_as_a_diagram() -> None:
    from flows.diagram import mermaid
    from flows.loader import load_flows

    for flow in load_flows().values():
        text = mermaid(flow)
        assert all(f"as s_{s.id.replace('-', '_')}" in text for s in flow.steps)
