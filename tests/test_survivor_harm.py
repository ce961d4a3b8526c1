"""Issue 12 (items 1, 3, 4, 5, 7): the survivor interview must not hurt the person using it.

Each test replays what a person did when the interview was tried, on the shipped flow:
the follow-up quoting their account back, "stop" skipping all support, one tap deleting
everything, typed choices silently dropped, and a skipped safety question taking the
riskier path.
"""

from __future__ import annotations

import pytest

from flows.types import EraseChat, Inbound, RecordWithdrawal, ShredDraft
from tests.golden.talk import Talk

# English, private, me, adult, nothing recent, not told before, go on, the five scopes
# (contact: no), both understanding checks.
# Issue 14: contact (no) now comes before mechanisms (anonymised).
TO_RECALL = ("1", "1", "1", "1", "2", "no", "1", "1", "2", "no", "1", "no", "1", "1")
RECALL = "A soldier raped me in the cellar of the school on the night of the raid."


def survivor() -> Talk:
    talk = Talk.of("survivor")
    talk.start()
    return talk


def at_recall() -> Talk:
    talk = survivor()
    talk.run(*TO_RECALL)
    assert talk.state == "recall"
    return talk


def after_recall(text: str = RECALL) -> Talk:
    talk = at_recall()
    talk.send(text)
    talk.press("done")
    return talk


def seen(talk: Talk) -> list[str]:
    """Every text the person was sent in the last turn, buttons included."""
    return [m.text for m in talk.last.messages] + [
        c.label for m in talk.last.messages for c in m.choices
    ]


# -- 1. follow-ups never quote the person's words ---------------------------------


@pytest.mark.parametrize(
    "story", [RECALL, "😢😢😢", "They beat my brother, Karim, in front of me."]
)
def test_no_follow_up_contains_what_the_person_typed(story: str) -> None:
    talk = after_recall(story)
    talk.press("continue")
    assert talk.ask.ask == "recall-follow-up"
    assert talk.ask.text == "Is there anything you want to add? You can skip this."
    talk.send("no")  # answered "no": once quoted back as You wrote “no”
    start = len(talk.turns) - 2
    while talk.state != "review":
        if talk.state == "check-in":
            talk.press("continue")
        elif talk.state == "consent-final":  # needs an answer: /skip is refused there
            talk.press("keep")
        else:
            talk.command("skip")
    later = [m for turn in talk.turns[start:] for m in turn.messages if m.ask != "review"]
    assert later and all(story not in m.text and "“no”" not in m.text for m in later)
    assert all(story not in c.label for m in later for c in m.choices)
    review = talk.ask
    assert story in review.text  # the review's own account section, and only there


def test_going_back_or_changing_an_answer_never_quotes_what_was_typed() -> None:
    """Found by a fresh-eyed tester: /back showed "(Your answer was: …)" and "(What you
    wrote so far: …)" with the typed words; a change from the review did too."""
    talk = after_recall("RECALLCANARY they came")
    talk.press("continue")
    talk.send("FOLLOWCANARY extra")
    start = len(talk.turns)
    talk.command("back")  # to the follow-up
    talk.command("back")  # to the recall
    shown = [m.text for turn in talk.turns[start:] for m in turn.messages]
    assert shown and all("CANARY" not in text for text in shown)
    assert any("What you wrote before is kept" in text for text in shown)


def test_the_one_follow_up_is_asked_once_and_then_the_harms_consent() -> None:
    talk = after_recall()
    talk.press("continue")
    turn = talk.send("They came back the next week.")
    assert turn.messages[-1].ask == "harms-go-on"
    assert all(RECALL not in m.text for m in turn.messages)


def test_the_follow_up_is_passed_over_when_the_recall_was_skipped() -> None:
    talk = at_recall()
    talk.command("skip")
    assert talk.state == "harms-go-on"


def test_the_survivor_flow_quotes_no_answer_in_any_step() -> None:
    flow = Talk.of("survivor").flow
    assert not [s.id for s in flow.steps if s.quote_from or "{quote}" in s.text]


# -- 3. stop still gets the whole closing ----------------------------------------


def test_stop_at_the_first_check_in_gets_the_whole_closing_then_sends() -> None:
    talk = survivor()
    talk.run("1", "1", "1", "1", "1")  # urgency: yes, recent
    talk.run("1", "no", "1", "1", "2", "no", "1", "no", "1", "1")  # contact before mechanisms
    talk.send(RECALL)
    talk.press("done")
    talk.press("stop")
    turn = talk.press("review")
    assert turn.messages[-1].ask == "feeling"  # not straight to "sent"
    turn = talk.send("2")  # upset
    texts = [m.text for m in turn.messages]
    assert any(t.startswith("These services can help") for t in texts)
    assert any("72 hours" in t for t in texts)  # the medical reminder, urgent account
    assert turn.messages[-1].ask == "consent-final"
    assert "Keep my account in the secure archive: Yes" in turn.messages[-1].text
    turn = talk.press("keep")
    assert turn.messages[-1].ask == "review" and RECALL in turn.messages[-1].text
    turn = talk.press("send")
    assert turn.end == "submitted" and turn.account is not None and turn.account.urgent
    steps = [a.step for a in turn.account.answers]
    assert steps[-3:] == ["recall", "feeling", "consent-final"]
    assert "harms" not in steps and "recall-follow-up" not in steps


def test_going_on_after_a_stop_returns_to_the_questions() -> None:
    talk = after_recall()
    talk.press("stop")
    talk.press("review")
    assert talk.state == "feeling"
    talk.command("back")
    assert talk.state == "recall"
    talk.command("skip")  # nothing to add
    assert talk.state == "check-in"
    talk.press("continue")
    assert talk.state == "recall-follow-up"


def test_a_change_at_the_review_after_a_stop_still_spares_the_rest() -> None:
    talk = after_recall()
    talk.press("stop")
    talk.press("review")
    talk.send("1")
    talk.press("keep")
    talk.press("change")
    talk.press("topic:what")  # issue 14: the change list is grouped
    talk.press("recall")
    talk.send("And they burned the house.")
    turn = talk.press("done")
    assert turn.messages[-1].ask == "review"
    account = talk.press("send").account
    assert account is not None
    assert "And they burned the house." in str(account.answers[-3].value)


# -- 4. nothing irreversible on one tap --------------------------------------------


def test_stop_here_at_the_harms_consent_names_the_consequence_and_asks_once_more() -> None:
    talk = after_recall()
    talk.press("continue")
    talk.send("skip")
    labels = [c.label for c in talk.ask.choices]
    assert "No, stop here and delete what I wrote" in labels
    turn = talk.press("stop-here")
    assert turn.session is not None and not turn.effects
    assert turn.messages[-1].text.startswith("This deletes everything you wrote")
    assert [c.value for c in turn.messages[-1].choices] == ["delete", "back"]
    turn = talk.press("back")
    assert turn.messages[-1].ask == "harms-go-on"
    assert talk.session is not None and RECALL in talk.session.answers["recall"].parts
    talk.press("stop-here")
    turn = talk.press("delete")
    assert turn.session is None and turn.end == "declined" and ShredDraft() in turn.effects


def test_declining_the_archive_confirms_and_going_back_keeps_everything() -> None:
    talk = survivor()
    talk.run("1", "1", "1", "1", "2", "yes", "A group in my town.", "1")
    assert talk.state == "consent-archive"
    assert "No, and delete my answers" in [c.label for c in talk.ask.choices]
    turn = talk.send("2")
    assert turn.session is not None and turn.session.state == "confirm-delete"
    turn = talk.command("back")
    assert turn.messages[-1].ask == "consent-archive"
    assert talk.session is not None
    assert talk.session.answers["told-which"].value == "A group in my town."
    turn = talk.command("skip")  # a skip is a "no" here: asked once more too
    assert turn.session is not None and turn.session.state == "confirm-delete"
    turn = talk.send("1")
    assert turn.end == "declined" and turn.session is None


def test_not_sending_at_the_end_asks_once_more() -> None:
    talk = after_recall()
    talk.press("stop")
    talk.press("review")
    talk.send("1")
    turn = talk.press("stop-here")
    assert turn.session is not None and turn.session.state == "confirm-delete"
    turn = talk.press("back")
    assert turn.messages[-1].ask == "consent-final"
    talk.press("stop-here")
    assert talk.press("delete").end == "declined"


def test_delete_everything_at_a_stop_asks_once_more() -> None:
    talk = after_recall()
    talk.press("stop")
    assert "Delete everything I wrote" in [c.label for c in talk.ask.choices]
    turn = talk.press("delete")
    assert turn.session is not None and not turn.effects
    turn = talk.press("back")
    assert turn.messages[-1].ask == "stop"
    talk.press("delete")
    turn = talk.press("delete")
    assert turn.end == "exited" and set(turn.effects) == {ShredDraft(), EraseChat()}


def test_withdraw_in_the_middle_of_an_interview_says_it_deletes_and_asks_first() -> None:
    talk = after_recall()
    turn = talk.command("withdraw")
    assert "deletes everything you wrote" in turn.messages[-1].text
    assert [c.value for c in turn.messages[-1].choices] == ["delete", "back"]
    turn = talk.press("back")
    assert turn.messages[-1].ask == "check-in"
    assert talk.session is not None and "recall" in talk.session.answers
    talk.command("withdraw")
    turn = talk.press("delete")
    assert turn.messages[-1].ask == "withdraw-code" and turn.session is not None
    turn = talk.send(Inbound(kind="text", text="K7QM-4TXA-9XP", code_sent=True))
    assert turn.session is None and turn.end == "withdrawn"
    assert any(isinstance(e, RecordWithdrawal) for e in turn.effects)


def test_withdraw_before_anything_was_written_asks_for_the_code_at_once() -> None:
    talk = Talk.of("survivor")
    turn = talk.command("withdraw")
    assert turn.messages[-1].ask == "withdraw-code"


# -- 5. typed choices that cannot go together --------------------------------------


def to_step(step_id: str) -> Talk:
    talk = after_recall()
    talk.press("continue")
    for _ in range(40):
        if talk.state == step_id:
            return talk
        if talk.state == "check-in":
            talk.press("continue")
        else:
            talk.command("skip")
    raise AssertionError(f"never reached {step_id}")


@pytest.mark.parametrize(
    ("step_id", "typed", "named"),
    [
        ("evidence", "7, 8", ("“No, nothing”", "“Other, in your own words”")),
        ("rules", "6, 2", ("“About school or studying”", "“No, there were none”")),
        ("harms", "19, 1", ("“Sexual violence", "“Prefer not to say”")),
    ],
)
def test_typed_choices_that_cannot_go_together_are_asked_again_by_name(
    step_id: str, typed: str, named: tuple[str, ...]
) -> None:
    talk = to_step(step_id) if step_id != "harms" else to_step("harms-go-on")
    if step_id == "harms":
        talk.press("go-on")
    turn = talk.send(typed)
    assert turn.messages[-1].ask == step_id
    assert talk.session is not None and step_id not in talk.session.answers
    warning = turn.messages[0].text
    assert all(name in warning for name in named)
    assert "can only be chosen on its own" in warning


def test_the_other_follow_up_comes_when_the_choice_is_made_again() -> None:
    talk = to_step("evidence")
    talk.send("7, 8")
    turn = talk.send("8")
    assert turn.messages[-1].ask == "evidence-other"


# -- 7. a skipped safety question takes the safer path -----------------------------


def test_a_skipped_urgency_shows_medical_information_and_marks_urgent() -> None:
    talk = survivor()
    talk.run("1", "1", "1", "1")
    turn = talk.command("skip")
    assert any("72 hours" in m.text for m in turn.messages)
    assert turn.messages[-1].ask == "urgent-go-on"
    assert talk.session is not None and "urgent" in talk.session.flags
    assert talk.session.answers["urgency"].status == "skip"


def test_a_skipped_safety_question_is_not_sure_and_a_skipped_go_on_is_later() -> None:
    talk = survivor()
    talk.send("1")
    turn = talk.command("skip")
    assert any("turn off message previews" in m.text for m in turn.messages)
    assert turn.messages[-1].ask == "safety-go-on"
    turn = talk.command("skip")
    assert turn.end == "not-safe" and turn.session is None


def test_a_skipped_route_is_asked_once_more_then_taken_as_me() -> None:
    talk = survivor()
    talk.run("1", "1")
    turn = talk.command("skip")
    assert turn.messages[-1].ask == "route"
    assert "If you skip it again" in turn.messages[0].text
    turn = talk.command("skip")
    assert turn.messages[-1].ask == "age" and turn.session is not None
    assert turn.session.answers["route"].status == "skip"


def test_a_route_answered_after_one_skip_is_asked_once_more_only_the_next_time() -> None:
    talk = survivor()
    talk.run("1", "1")
    talk.command("skip")
    talk.send("1")
    talk.command("back")
    assert talk.state == "route"
    turn = talk.command("skip")  # an earlier answer is kept, as everywhere
    assert turn.messages[-1].ask == "age"


# -- the version bump: a draft saved at a step this version no longer has ------------


def test_a_version_1_draft_at_the_removed_follow_up_resumes_where_it_was() -> None:
    talk = after_recall()
    talk.press("continue")
    talk.send("They came back the next week.")  # the follow-up
    assert talk.session is not None and talk.state == "harms-go-on"
    # As a version-1 node saved it: waiting at the second, quoting follow-up.
    talk.session = talk.session.evolve(
        flow_version="1",
        state="recall-follow-up-2",
        history=(*talk.session.history[:-1], "recall-follow-up-2"),
        data={**talk.session.data, "resume_state": "recall-follow-up-2"},
    )
    turn = talk.send("Something more.")
    assert turn.messages[-1].ask == "resume" and turn.session is not None
    assert turn.session.flow_version == talk.flow.version
    turn = talk.press("resume")
    assert turn.messages[-1].ask == "harms-go-on"
    assert talk.session is not None and RECALL in talk.session.answers["recall"].parts
    turn = talk.command("back")
    assert turn.messages[-1].ask == "recall-follow-up"
