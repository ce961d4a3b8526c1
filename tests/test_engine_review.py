"""The engine on the small test flow: consent, check-ins, the review, and submission."""

from __future__ import annotations

import hashlib
import re

from flows.types import EraseChat, Inbound, ShredDraft
from tests.golden.talk import Talk
from tests.test_engine import TO_CONSENT, at_recall, through_recall


def test_declining_consent_ends_kindly_with_nothing_kept() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run(*TO_CONSENT, "no")
    assert turn.session is None and turn.account is None
    assert turn.end == "declined" and ShredDraft() in turn.effects


def test_skipping_the_archive_consent_counts_as_no() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run(*TO_CONSENT)
    turn = talk.command("skip")
    assert turn.end == "declined" and turn.session is None


def test_consent_is_recorded_with_text_hash_language_and_time() -> None:
    talk = Talk.of("tiny")
    talk.start()
    talk.run(*TO_CONSENT, "yes")
    talk.command("skip")  # mechanisms: optional, skipped
    consent = talk.session.consent if talk.session else None
    assert consent is not None
    assert consent.scopes == {"archive": "yes", "mechanisms": "no"}
    assert consent.text_version == talk.flow.consent_hash
    assert consent.language == "en" and consent.given_at == talk.now.replace(minute=6)
    assert talk.session is not None and talk.session.answers["mechanisms"].status == "skip"


def test_urgent_answer_shows_medical_help_and_marks_the_account_urgent() -> None:
    talk = Talk.of("tiny")
    talk.start()
    turn = talk.run("1", "1", "yes", "yes")
    assert turn.messages[0].text.startswith("Medical care can help")
    assert "Example Clinic (demo)" in turn.messages[0].text
    assert talk.session is not None and talk.session.flags == frozenset({"urgent"})
    talk.run("yes", "1", "1")
    through_recall(talk)
    turn = talk.run("skip", "skip", "skip")
    assert turn.messages[0].text.startswith("Because this was recent")
    turn = talk.press("send")
    assert turn.account is not None and turn.account.urgent


def test_the_review_lists_every_answer_with_its_status() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.run("skip")
    talk.press("prefer-not")
    turn = talk.press("dont-know")
    review = turn.messages[-1]
    assert review.ask == "review"
    assert [c.value for c in review.choices] == ["send", "change"]
    assert "• 18 or older\n   → Yes" in review.text  # its label (issue f3), not the question
    assert "→ Skipped" in review.text
    assert "→ Prefer not to say" in review.text
    assert "→ I don't know" in review.text
    assert "They took my brother at night." in review.text
    assert "• Keep my account in the secure archive: Yes" in review.text


def test_changing_an_answer_from_the_review_asks_it_again_and_returns() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.run("skip", "skip", "skip")
    talk.press("change")
    change = talk.ask
    assert change.ask == "review-change"
    assert "The list of what happened" in [c.label for c in change.choices]
    assert "Which language would you like to use?" not in [c.label for c in change.choices]
    turn = talk.press("when")
    assert "(Your answer was: Skipped)" in turn.messages[-1].text
    turn = talk.send("summer 2022")
    assert turn.messages[-1].ask == "review"
    assert "→ summer 2022" in turn.messages[-1].text


def test_submitting_produces_the_account_for_reviewers() -> None:
    talk = at_recall()
    through_recall(talk, "They took my brother at night.")
    talk.run("They wore green.", "1", "Townville")
    talk.press("dont-know")
    turn = talk.press("send")
    assert turn.end == "submitted" and turn.session is None
    assert turn.effects == (ShredDraft(),)
    assert turn.reference is not None and re.fullmatch(
        r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{3}", turn.reference
    )
    assert turn.reference in turn.messages[-1].text
    account = turn.account
    assert account is not None
    assert account.reference_code == turn.reference
    assert account.consent.scopes == {"archive": "yes", "mechanisms": "anonymised"}
    assert not account.urgent and account.mode == "survivor" and account.flow_version == "1"
    records = {a.step: a for a in account.answers}
    assert records["harms"].labels == ("Detention",)
    assert records["harms"].question == "Which of these happened?"
    assert records["harms"].elements == ("E1", "E4") and records["harms"].section == "account"
    assert records["held-where"].identifying and records["held-where"].value == "Townville"
    assert records["when"].status == "dont-know" and records["when"].labels == ("I don't know",)
    recall = records["recall"]
    assert recall.sha256 == hashlib.sha256(b"They took my brother at night.").hexdigest()
    assert recall.received_at is not None and recall.message_ids == (9,)


def test_changing_consent_to_no_at_the_review_sends_nothing() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.run("skip", "skip", "skip")
    talk.press("change")
    talk.press("archive")
    turn = talk.send("no")
    assert turn.account is None and turn.end == "declined" and turn.session is None
    assert "Nothing you wrote has been kept" in turn.messages[-1].text


def test_a_change_at_the_review_asks_what_it_newly_opens_then_returns() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.run("skip", "3", "skip")  # harms: other, so held-where is passed over
    talk.press("change")
    talk.press("harms")
    talk.send("1")  # detention ticked beside other
    turn = talk.send("6")  # Done
    assert turn.messages[-1].ask == "held-where"
    turn = talk.send("Townville")
    assert turn.messages[-1].ask == "review"
    # held-where is identifying: listed, but masked (issue 12, item 6).
    assert "→ Set (hidden)" in turn.messages[-1].text
    assert "Townville" not in turn.messages[-1].text
    talk.press("change")
    talk.press("harms")
    talk.send("1, 2, 3")  # untick detention and other, tick threats
    turn = talk.send("6")  # Done, threats only: held-where drops out of the account
    assert "Townville" not in turn.messages[-1].text
    account = talk.press("send").account
    assert account is not None and "held-where" not in {a.step for a in account.answers}


def test_check_in_break_pauses_and_stop_offers_send_or_delete() -> None:
    talk = at_recall()
    talk.send("Something happened.")
    talk.press("done")
    turn = talk.press("break")
    assert turn.end == "paused" and talk.session is not None and talk.session.status == "paused"
    talk.start()
    assert talk.state == "resume"
    talk.press("resume")
    assert talk.state == "check-in"
    talk.press("stop")
    assert [c.value for c in talk.ask.choices] == ["review", "delete", "continue"]
    turn = talk.press("review")
    assert turn.messages[-1].ask == "review"
    assert "Something happened." in turn.messages[-1].text


def test_stop_at_a_check_in_can_delete_everything() -> None:
    talk = at_recall()
    talk.send("Something happened.")
    talk.press("done")
    talk.press("stop")
    turn = talk.press("delete")
    assert turn.session is not None and turn.messages[-1].ask == "confirm-delete"  # asked once more
    turn = talk.press("delete")
    assert turn.session is None and turn.end == "exited"
    assert set(turn.effects) == {ShredDraft(), EraseChat()}


def test_a_change_at_the_review_shows_information_it_newly_opens() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.run("skip", "skip", "skip")
    talk.press("change")
    talk.press("recent")
    turn = talk.send("yes")
    texts = [m.text for m in turn.messages]
    assert texts[0].startswith("Medical care can help")
    assert any(t.startswith("Because this was recent") for t in texts)
    assert turn.messages[-1].ask == "review"
    talk.press("change")
    talk.press("when")
    turn = talk.send("last spring")
    assert not any(m.text.startswith("Because this was recent") for m in turn.messages)


def test_account_questions_are_filled_english_text_for_reviewers() -> None:
    """Reviewers read the question as asked: no `{placeholder}` left in the sealed body."""
    from datetime import UTC, datetime

    from flows.deployment import demo_deployment
    from flows.engine import Engine
    from flows.i18n import translator
    from flows.loader import load_flows
    from tests.console_driver import cooperative

    engine = Engine(load_flows()["survivor"], demo_deployment(), translator)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    session = engine.new_session("r", now)
    answer = cooperative("They took my sister away.")
    turn = engine.handle(session, Inbound(kind="start"), now, translator("en"))
    for _ in range(200):
        ask = next(m for m in reversed(turn.messages) if m.ask)
        event = {
            "step": ask.ask,
            "kind": ask.kind,
            "options": [{"n": c.n, "value": c.value} for c in ask.choices],
        }
        text = answer(event)
        turn = engine.handle(
            turn.session,
            Inbound(kind="text", text=text, entropy=bytes(16)),
            now,
            translator("en"),
        )
        if turn.end:
            break
    assert turn.end == "submitted" and turn.account is not None
    questions = [a.question for a in turn.account.answers]
    assert not [q for q in questions if "{" in q]
    assert not any("They took my sister away" in q for q in questions)  # no follow-up quotes
    assert any("Example Documentation Project" in q for q in questions)


KEPT_NOTE = "(shortened here — everything you wrote is kept)"


def at_review_with(recall: str) -> str:
    talk = at_recall()
    through_recall(talk, recall)
    talk.run("skip")
    talk.press("prefer-not")
    review = talk.press("dont-know").messages[-1]
    assert review.ask == "review"
    return review.text


def test_a_long_answer_shortened_in_the_review_says_the_whole_text_is_kept() -> None:
    """A person who sees her account cut with "…" must not think part of it was lost."""
    long_recall = "They came at night and took my brother. " * 12  # 480 characters
    text = at_review_with(long_recall)
    assert "…" in text and KEPT_NOTE in text
    assert text.count(KEPT_NOTE) == 1  # only after the shortened answer


def test_a_short_answer_in_the_review_has_no_note() -> None:
    text = at_review_with("They took my brother at night.")
    assert KEPT_NOTE not in text and "…" not in text


def test_the_note_is_translated_and_counted_within_the_message_split() -> None:
    from flows.deployment import demo_deployment
    from flows.i18n import translator
    from flows.render import MESSAGE_CHARS, Renderer, pack_items, units
    from flows.types import Answer

    talk = at_recall()
    through_recall(talk)
    assert talk.session is not None
    step = talk.flow.step("recall")
    answer = Answer(step="recall", status="answered", value="word " * 400)
    for language in ("en", "ar", "es", "fa", "fr", "uk"):
        renderer = Renderer(talk.flow, demo_deployment(), translator(language))
        item = renderer.review_item(step, answer, talk.session)
        note = translator(language).gettext(KEPT_NOTE)
        assert item.endswith(note) and (language == "en" or note != KEPT_NOTE), language
        # Enough shortened answers to need several messages: each keeps its note whole.
        messages = pack_items("Review:", [item] * 14, "Send it?")
        assert len(messages) > 1
        assert all(units(m) <= MESSAGE_CHARS for m in messages)
        assert sum(m.count(note) for m in messages) == 14
