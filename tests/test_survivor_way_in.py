"""Issue 14: plain words, a shorter way in, and what the review lists.

Driven through the real engine with the demo deployment. The path the issue counts:
Yes (private) -> it happened to me -> 18 or older -> not recent -> not told before ->
all five scopes answered, contact "no" -> both understanding checks right.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from flows.catalogs import ROOT
from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flow
from flows.types import Inbound, Outbound, Session, Turn

FLOW = load_flow(ROOT / "flows" / "definitions" / "survivor.yaml")
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

THE_WAY_IN = {
    "language": "en",
    "safety": "yes",
    "route": "self",
    "age": "adult",
    "urgency": "no",
    "told-before": "no",
    "consent-pace": "go-on",
    "consent-archive": "yes",
    "consent-reports": "yes",
    "consent-contact": "no",
    "consent-mechanisms": "anonymised",
    "consent-referral": "yes",
    "check-skip": "yes",
    "check-stop": "exit-command",
}


@dataclass
class Chat:
    """One person tapping buttons; counts taps and the bot's messages."""

    engine: Engine = field(default_factory=lambda: Engine(FLOW, demo_deployment(), translator))
    session: Session | None = None
    said: list[Outbound] = field(default_factory=list)
    taps: int = 0

    def start(self, hint: str | None = None) -> Turn:
        self.session = self.engine.new_session("someone", NOW)
        return self.send(Inbound(kind="start", language_hint=hint), tap=False)

    def send(self, inbound: Inbound, *, tap: bool = True) -> Turn:
        assert self.session is not None
        turn = self.engine.handle(
            self.session,
            replace(inbound, entropy=b"e" * 16),
            NOW,
            translator(self.session.language),
        )
        self.taps += tap
        self.said.extend(turn.messages)
        self.session = turn.session
        return turn

    @property
    def asking(self) -> str | None:
        return self.said[-1].ask if self.said else None

    def tap(self, value: str) -> Turn:
        assert value in [c.value for c in self.said[-1].choices], (self.asking, value)
        return self.send(Inbound(kind="choice", choice=value))

    def until(self, step: str, answers: dict[str, str]) -> None:
        while self.asking != step:
            assert self.asking in answers, f"unexpected question {self.asking!r}"
            self.tap(answers[self.asking or ""])


def messages_before_recall(hint: str | None = None) -> Chat:
    chat = Chat()
    chat.start(hint)
    chat.until("recall", THE_WAY_IN)
    return chat


def test_the_way_in_takes_at_most_14_taps_and_18_messages_before_the_free_recall() -> None:
    chat = messages_before_recall()
    before = chat.said[:-1]  # the last message asks the free recall itself
    assert chat.taps <= 14, chat.taps
    assert len(before) <= 18, [m.text[:40] for m in before]


def test_a_preselected_language_saves_a_tap() -> None:
    chat = messages_before_recall(hint="en")
    assert chat.taps <= 13
    assert not any(m.ask == "language" for m in chat.said)


def test_the_short_consent_still_names_every_item_and_tell_me_more_gives_the_detail() -> None:
    short = messages_before_recall()
    said = " ".join(m.text for m in short.said)
    for item in (
        "Example Documentation Project (demo)",  # who runs it
        "automated",
        "encrypted",
        "kept on the project's own server",  # where (storage_location)
        "skip any question",
        "withdraw",
        "painful feelings",  # risks
        "can't promise a court case",
        "Example Helpline (demo)",  # scope (e) names its services
    ):
        assert item in said, item

    longer = Chat()
    longer.start()
    longer.until("recall", {**THE_WAY_IN, "consent-pace": "more"})
    detail = " ".join(m.text for m in longer.said)
    for item in (
        "It will ask what happened",
        "/pause",
        "kept for 7 days",
        "up to 10 years",
        "questions@example.org",
        "reference code",
    ):
        assert item in detail, item
    assert "Only the small team" not in detail


def test_telegram_is_described_in_plain_words() -> None:
    said = " ".join(m.text for m in messages_before_recall().said)
    assert "Telegram, the company, can technically read this chat." in said
    assert "end-to-end" not in said


def test_the_age_question_asks_for_yes_or_no_not_a_number() -> None:
    chat = Chat()
    chat.start()
    chat.until("age", THE_WAY_IN)
    assert chat.said[-1].text == "Are you 18 or older?"
    chat.send(Inbound(kind="text", text="17"))
    assert chat.asking == "age"
    assert "from 1 to" in chat.said[-2].text  # the terminal shows numbers


def test_named_sharing_is_offered_only_with_contact_and_never_asks_a_name() -> None:
    without = Chat()
    without.start()
    without.until("consent-mechanisms", THE_WAY_IN)
    assert [c.value for c in without.said[-1].choices] == ["anonymised", "no"]

    with_contact = Chat()
    with_contact.start()
    answers = {**THE_WAY_IN, "consent-contact": "yes"}
    while with_contact.asking != "consent-mechanisms":
        if with_contact.asking in ("contact-how", "contact-code-word"):
            with_contact.send(Inbound(kind="text", text="Signal, evenings"))
        else:
            with_contact.tap(answers[with_contact.asking or ""])
    labels = {c.value: c.label for c in with_contact.said[-1].choices}
    assert labels["named"] == "Yes, and they may contact me to confirm who I am"
    assert "name" not in with_contact.said[-1].text.replace("named", "")


def test_named_is_asked_again_when_contact_is_changed_to_no() -> None:
    chat = Chat()
    chat.start()
    answers = {**THE_WAY_IN, "consent-contact": "yes", "consent-mechanisms": "named"}
    while chat.asking != "consent-referral":
        if chat.asking in ("contact-how", "contact-code-word"):
            chat.send(Inbound(kind="text", text="Signal, evenings"))
        else:
            chat.tap(answers[chat.asking or ""])
    assert chat.session is not None and chat.session.consent is not None
    assert chat.session.consent.scopes["mechanisms"] == "named"
    chat.send(Inbound(kind="command", command="back"))  # to mechanisms
    chat.send(Inbound(kind="command", command="back"))  # to the code word
    while chat.asking != "consent-contact":
        chat.send(Inbound(kind="command", command="back"))
    chat.tap("no")
    assert chat.asking == "consent-mechanisms"
    assert [c.value for c in chat.said[-1].choices] == ["anonymised", "no"]
    assert chat.session.consent.scopes.get("mechanisms") != "named"


def test_list_b_other_asks_for_the_words() -> None:
    step = FLOW.step("perpetrators-other")
    assert step.kind == "free-text"
    assert [(c.step, c.in_) for c in step.ask_if] == [("perpetrators", ("other",))]


def test_plain_words_replace_the_jargon() -> None:
    texts = " ".join(
        t
        for s in FLOW.steps
        for t in (s.text, *(o.text for o in s.options), *(o.reply or "" for o in s.options))
    )
    for jargon in (
        "people like you",
        "hold those responsible to account",
        "non-state armed group",
        "De-facto",
        "Detention staff",
        "How old are you",
        "end-to-end",
        "from our list",
    ):
        assert jargon not in texts, jargon


def test_the_urgency_reply_is_one_idea_per_message_and_says_a_check_up_still_helps() -> None:
    chat = Chat()
    chat.start()
    chat.until("urgency", THE_WAY_IN)
    chat.tap("yes")
    after = [m.text for m in chat.said[-5:-1]]
    assert after[0] == "Please think about getting medical help soon, even if you feel fine."
    assert "72 hours" in after[1] and "5 days" not in after[1]
    assert "5 days" in after[2] and "72 hours" not in after[2]
    assert after[3].startswith("Even after that, a check-up can still help.")
    assert "Example Clinic (demo)" in after[3]
    assert chat.asking == "urgent-go-on"


def test_a_skipped_urgency_question_still_shows_every_medical_message() -> None:
    chat = Chat()
    chat.start()
    chat.until("urgency", THE_WAY_IN)
    chat.send(Inbound(kind="command", command="skip"))
    said = " ".join(m.text for m in chat.said[-5:])
    assert "72 hours" in said and "5 days" in said and "check-up" in said


def test_a_reprompt_on_telegram_asks_for_a_tap_not_a_number() -> None:
    chat = Chat()
    chat.start()
    chat.until("safety", THE_WAY_IN)
    chat.send(Inbound(kind="text", text="maybe", numbered=False))
    assert chat.said[-2].text == "Sorry, I didn't understand that. Please tap one of the buttons."
    chat.tap("yes")
    chat.tap("self")
    chat.tap("adult")
    chat.tap("no")
    chat.tap("no")
    chat.until("recall", THE_WAY_IN)
    chat.send(Inbound(kind="text", text="What happened."))
    chat.send(Inbound(kind="text", text="what", numbered=False))  # at more / done
    assert "number" not in chat.said[-2].text


ONE_OPTION = """
id: one
version: "1"
mode: survivor
start: pace
steps:
  - id: pace
    kind: single-choice
    text: "Shall I go on?"
    options:
      - {id: go-on, text: "Yes, go on"}
  - id: bye
    kind: end
    reason: declined
    text: "Bye."
"""


def test_a_one_option_question_never_says_from_1_to_1(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(ONE_OPTION, encoding="utf-8")
    chat = Chat(engine=Engine(load_flow(path), demo_deployment(), translator))
    chat.start()
    chat.send(Inbound(kind="text", text="7"))
    assert chat.said[-2].text == "Sorry, I didn't understand that. To answer, reply with 1."
    chat.send(Inbound(kind="text", text="7", numbered=False))
    assert chat.said[-2].text == "Sorry, I didn't understand that. Please tap one of the buttons."
    assert not any("from 1 to 1" in m.text for m in chat.said)


# ---------------------------------------------------------------- languages


def test_persian_uses_its_own_digits_and_a_skip_word_that_does_not_mean_rejected() -> None:
    persian = translator("fa")
    assert persian.gettext("skip") == "بگذر"
    chat = Chat()
    chat.start(hint="fa")
    chat.until("safety", THE_WAY_IN)
    chat.send(Inbound(kind="text", text="شاید"))
    assert "از ۱ تا ۳" in chat.said[-2].text
    chat.send(Inbound(kind="text", text="۱"))  # the person's own digits are read
    assert chat.asking == "route"
    chat.until("recall", THE_WAY_IN)
    chat.send(Inbound(kind="text", text="رد"))  # an answer now, not a skip
    assert chat.session is not None
    assert chat.session.answers["recall"].status == "answered"


def test_arabic_lists_are_separated_with_arabic_punctuation() -> None:
    chat = Chat()
    chat.start(hint="ar")
    chat.until("recall", THE_WAY_IN)
    chat.send(Inbound(kind="command", command="skip"))
    chat.tap("go-on")
    chat.send(Inbound(kind="text", text="1, 2"))
    chat.send(Inbound(kind="command", command="back"))  # the list again, with its answer
    shown = chat.said[-1].text
    assert "؛ " in shown and "; " not in shown


def test_a_version_2_draft_waiting_at_mechanisms_resumes_at_the_contact_scope() -> None:
    """Version 2 asked mechanisms before contact; a draft saved there resumes without a
    gap: contact first, then mechanisms (with "named" offered only after a yes)."""
    chat = Chat()
    chat.start()
    chat.until("consent-contact", THE_WAY_IN)
    assert chat.session is not None
    chat.session = chat.session.evolve(
        flow_version="2",
        state="consent-mechanisms",
        history=(*chat.session.history[:-1], "consent-mechanisms"),
    )
    chat.send(Inbound(kind="start"))
    assert chat.asking == "resume"
    chat.tap("resume")
    assert chat.asking == "consent-contact"
    chat.tap("yes")
    chat.send(Inbound(kind="text", text="Signal, evenings"))
    chat.send(Inbound(kind="text", text="heron"))
    assert chat.asking == "consent-mechanisms"
    assert "named" in [c.value for c in chat.said[-1].choices]
