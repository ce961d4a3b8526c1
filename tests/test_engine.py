"""The engine on the small test flow: answers, conditions, consent, review, submission."""

from __future__ import annotations

import pytest

from flows.types import Inbound, RecordWithdrawal, ShredDraft
from tests.golden.talk import Talk

TO_CONSENT = ("1", "1", "yes", "no")  # English, safe, adult, nothing recent
TO_RECALL = (*TO_CONSENT, "yes", "1", "1")  # keep it, share anonymised, can skip: yes


def at_recall() -> Talk:
    talk = Talk.of("tiny")
    talk.start()
    talk.run(*TO_RECALL)
    assert talk.state == "recall"
    return talk


def through_recall(talk: Talk, text: str = "They took my brother at night.") -> None:
    talk.send(text)
    talk.press("done")
    talk.press("continue")


def test_start_asks_the_first_question_with_numbered_choices() -> None:
    talk = Talk.of("tiny")
    turn = talk.start()
    assert turn.messages[-1].ask == "language"
    assert [(c.n, c.value, c.label) for c in turn.messages[-1].choices] == [
        (1, "en", "English"),
        (2, "fr", "Français"),
    ]
    assert turn.session is not None and turn.session.started_at == talk.now.replace(minute=0)


def test_a_language_hint_answers_the_language_question() -> None:
    talk = Talk.of("tiny")
    talk.start(hint="fr")
    assert talk.state == "safe"
    assert talk.session is not None and talk.session.language == "fr"
    assert talk.session.answers["language"].value == "fr"


def test_a_number_a_label_and_a_button_all_choose_an_option() -> None:
    for answer in ("2", "not sure", "NOT SURE", Inbound(kind="choice", choice="not-sure")):
        talk = Talk.of("tiny")
        talk.start()
        talk.send("1")
        turn = talk.send(answer)
        assert turn.end == "not-safe", answer


@pytest.mark.parametrize("answer", ["7", "0", "maybe later", "1, 2"])
def test_an_unreadable_choice_is_re_prompted_and_changes_nothing(answer: str) -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.send("1")
    before = talk.session
    turn = talk.send(answer)
    assert "Please reply with one number from 1 to 3." in turn.messages[0].text
    assert turn.messages[-1].ask == "safe"
    assert talk.session is not None and before is not None
    assert (talk.session.state, talk.session.answers) == (before.state, before.answers)


def test_a_stale_or_forged_button_is_re_prompted() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.send("1")
    turn = talk.press("en")  # a button of the language question, pressed again later
    assert "didn't understand" in turn.messages[0].text
    assert talk.state == "safe"
    assert "language" in talk.session.answers if talk.session else False


def test_not_safe_ends_kindly_and_keeps_nothing() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run("1", "3")
    assert turn.session is None and turn.end == "not-safe"
    assert turn.effects == (ShredDraft(),)
    assert "Nothing you wrote has been kept" in turn.messages[-1].text


def test_under_18_ends_with_child_protection_contacts() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run("1", "1", "no")
    assert turn.end == "not-eligible" and turn.session is None
    assert "Example Child Protection Line (demo)" in turn.messages[-1].text
    assert "Example Clinic" not in turn.messages[-1].text


def test_a_wrong_understanding_answer_gets_the_explanation_and_goes_on() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run(*TO_CONSENT, "yes", "1", "no")
    assert turn.messages[0].text == "You can skip any question: just send /skip."
    assert turn.messages[-1].ask == "recall"


def test_a_right_understanding_answer_goes_on_without_explanation() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run(*TO_RECALL)
    assert all("/skip" not in m.text for m in turn.messages)


def test_a_content_note_is_shown_once_on_entering_its_section() -> None:
    talk = at_recall()
    notes = [
        m.text for t in talk.turns for m in t.messages if m.text.startswith("The next questions")
    ]
    assert len(notes) == 1
    talk.command("back")
    talk.send("1")
    notes = [
        m.text for t in talk.turns for m in t.messages if m.text.startswith("The next questions")
    ]
    assert len(notes) == 1


def test_free_recall_takes_several_messages_and_keeps_every_part() -> None:
    talk = at_recall()
    assert talk.send("  They came at night.  ").messages[-1].ask == "more"
    talk.press("more")
    assert talk.state == "recall"
    talk.send("They took my brother.")
    talk.send("And our papers.")  # typed straight at the more/done question: kept too
    talk.press("done")
    answer = talk.session.answers["recall"] if talk.session else None
    assert answer is not None
    assert answer.parts == ("They came at night.", "They took my brother.", "And our papers.")
    assert answer.value == "They came at night.\n\nThey took my brother.\n\nAnd our papers."
    assert answer.message_ids == (9, 11, 12)
    assert talk.state == "check-in"


def test_a_very_long_message_is_kept_whole_in_parts() -> None:
    talk = at_recall()
    long_text = " ".join(["word"] * 2500)  # 12,499 characters
    turn = talk.send(long_text)
    assert "kept it in 4 parts" in turn.messages[0].text
    answer = talk.session.answers["recall"] if talk.session else None
    assert answer is not None and len(answer.parts) == 4
    assert " ".join(answer.parts) == long_text


def test_an_empty_message_on_a_text_step_is_re_prompted() -> None:
    talk = at_recall()
    turn = talk.send("   ")
    assert "write your answer in a message" in turn.messages[0].text
    assert talk.state == "recall"


def test_a_voice_note_where_files_are_not_taken_is_refused_gently() -> None:
    talk = at_recall()
    through_recall(talk)
    turn = talk.media()
    assert "can't take files or voice notes here" in turn.messages[0].text
    assert talk.state == "follow-up" and talk.session is not None
    assert "follow-up" not in talk.session.answers


def test_a_voice_note_is_kept_where_the_step_takes_media() -> None:
    talk = at_recall()
    assert talk.ask.allows_media
    talk.send("Here is what happened.")
    talk.press("more")
    turn = talk.media()
    assert turn.messages[-1].ask == "more"
    answer = talk.session.answers["recall"] if talk.session else None
    assert answer is not None and answer.files == ("file-10",)
    assert answer.parts == ("Here is what happened.",)


def test_handle_changes_nothing_it_was_given_and_leaves_no_model_behind() -> None:
    from flows.machine import IllegalMove

    talk = at_recall()
    before = talk.session
    assert before is not None
    snapshot = before.to_dict()
    talk.engine.handle(before, Inbound(kind="text", text="x"), talk.now, talk.translators("en"))
    assert before.to_dict() == snapshot
    rulebook = talk.engine.rulebook
    # Turns that ran one after another share one pooled model; it holds only a state name.
    assert len(rulebook.machine.models) == 1
    kept = {k: v for k, v in vars(rulebook.machine.models[0]).items() if not callable(v)}
    assert list(kept) == ["state"]
    with rulebook.position("check-in") as position, pytest.raises(IllegalMove):
        rulebook.move(position, "advance", "language")


def test_the_follow_up_quotes_the_persons_own_words() -> None:
    talk = at_recall()
    through_recall(talk, "Soldiers came to our house. Then more things happened later on.")
    assert talk.ask.ask == "follow-up"
    assert "“Soldiers came to our house. Then more things happened later on”" in talk.ask.text


def test_the_follow_up_is_not_asked_when_recall_was_skipped() -> None:
    talk = at_recall()
    talk.command("skip")
    talk.press("continue")
    assert talk.state == "harms"


def test_multiple_choice_buttons_toggle_and_done_commits() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    talk.press("detention")
    turn = talk.press("threats")
    assert turn.messages[-1].selected == ("detention", "threats")
    talk.press("threats")
    assert talk.ask.selected == ("detention",)
    talk.press("none")
    assert talk.ask.selected == ("none",)  # exclusive: clears the others
    talk.press("other")
    assert talk.ask.selected == ("other",)
    talk.press("done")
    assert talk.session is not None and talk.session.answers["harms"].value == ("other",)


def test_done_with_nothing_chosen_asks_for_a_choice() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    turn = talk.press("done")
    assert "choose at least one option" in turn.messages[0].text
    assert talk.state == "harms"


def test_typed_numbers_choose_several_options_and_a_condition_follows_them() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    assert talk.send("1, 2").messages[-1].ask == "held-where"
    talk.command("back")
    # Asked again with detention and threats ticked: typed numbers tick and untick them.
    assert talk.send("1,3").messages[-1].selected == ("threats", "other")
    assert talk.send("6").messages[-1].ask == "when"  # Done; no detention: held-where passed over


def test_typed_labels_choose_several_options() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    talk.send("threats, other")
    assert talk.session is not None and talk.session.answers["harms"].value == ("threats", "other")


def test_skip_dont_know_and_prefer_not_are_distinct_answers() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")  # follow-up
    talk.press("prefer-not")  # harms
    talk.send("I don't know")  # when: typed label
    assert talk.session is not None
    statuses = {k: a.status for k, a in talk.session.answers.items()}
    assert statuses["follow-up"] == "skip"
    assert statuses["harms"] == "prefer-not"
    assert statuses["when"] == "dont-know"
    assert talk.session.answers["when"].value is None


def test_the_engine_keeps_no_state_of_its_own() -> None:
    first, second = at_recall(), at_recall()
    assert len(first.engine.rulebook.machine.models) <= 1  # a pooled model, not one a person
    assert [m.text for t in first.turns for m in t.messages] == [
        m.text for t in second.turns for m in t.messages
    ]


def test_every_text_goes_through_the_translator() -> None:
    class Marking:
        language = "en"

        def gettext(self, message: str) -> str:
            return f"«{message}»"

        def ngettext(self, singular: str, plural: str, n: int) -> str:
            return f"«{singular if n == 1 else plural}»"

    talk = Talk.of("tiny", translators=lambda _language: Marking())
    talk.start()
    talk.run(*TO_RECALL, "7")
    talk.command("help")
    talk.command("pause")
    for turn in talk.turns:
        for message in turn.messages:
            assert message.text.startswith("«"), message.text
            assert all(c.label.startswith("«") for c in message.choices)


def test_withdrawing_records_the_normalised_code() -> None:
    talk = at_recall()
    turn = talk.send("/withdraw")
    assert turn.messages[-1].ask == "confirm-delete"  # mid-interview: it deletes, so asked first
    turn = talk.press("delete")
    assert turn.messages[-1].ask == "withdraw-code"
    turn = talk.send("not a code")
    assert "doesn't look like a reference code" in turn.messages[0].text
    turn = talk.send(Inbound(kind="text", text="k7qm 4txa 9xp", code_sent=True))
    assert RecordWithdrawal("K7QM-4TXA-9XP") in turn.effects
    assert turn.end == "withdrawn" and turn.session is None


def test_the_diagram_names_every_step_and_labels_option_routes() -> None:
    from flows.diagram import mermaid

    flow = Talk.of("tiny").flow
    text = mermaid(flow)
    assert text.startswith("stateDiagram-v2\n")
    assert "[*] --> s_language" in text
    assert "s_safe --> s_not_safe : not-sure" in text
    assert 'state "held-where (place, if harms in detention)" as s_held_where' in text
    assert all(f"as s_{s.id.replace('-', '_')}" in text for s in flow.steps)


def test_a_message_too_long_for_telegram_is_split_between_lines() -> None:
    from dataclasses import replace

    from flows.deployment import Referral, demo_deployment

    many = tuple(
        Referral(
            name={"en": f"Service number {i} with a long name"},
            kind="psychosocial",
            phone="+000 000 0000",
        )
        for i in range(150)
    )
    talk = Talk.of("tiny", deployment=replace(demo_deployment(), referrals=many))
    talk.start()
    talk.run(*TO_RECALL)
    turn = talk.send("/help")
    assert len(turn.messages) > 3
    assert all(len(m.text) <= 3500 for m in turn.messages)
    assert all(
        "Service number" in line for m in turn.messages[1:-2] for line in m.text.splitlines()
    )
    assert turn.messages[-1].ask == "recall"


def test_a_skipped_understanding_check_gets_the_explanation_too() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run(*TO_CONSENT, "yes", "1")
    turn = talk.command("skip")
    assert turn.messages[0].text == "You can skip any question: just send /skip."
    assert talk.session is not None and talk.session.answers["can-skip"].status == "skip"


def test_done_typed_after_add_more_finishes_instead_of_becoming_part_of_the_story() -> None:
    talk = at_recall()
    talk.send("They came at night.")
    talk.press("more")
    turn = talk.send("Done")
    assert turn.messages[-1].ask == "check-in"
    assert talk.session is not None and talk.session.answers["recall"].parts == (
        "They came at night.",
    )


def test_a_media_step_takes_a_file_and_asks_for_one_when_given_text() -> None:
    talk = Talk.of("telegram-media")
    talk.start()
    talk.send("It was at night.")
    assert talk.state == "photo" and talk.ask.allows_media
    turn = talk.send("I have a photo somewhere")
    assert (
        turn.messages[0].text
        == "Please send a file or a voice note here, or send /skip to move on."
    )
    turn = talk.media("photo")
    assert turn.messages[-1].ask == "place"
    assert talk.session is not None and talk.session.answers["photo"].files == ("file-3",)
