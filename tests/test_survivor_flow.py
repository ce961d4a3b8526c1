"""The survivor interview keeps the interview guide's rules (../shared/INTERVIEW-GUIDE.md).

Structural checks on the loaded flow: what comes before what, which scopes consent
asks, that the lists offer exactly the guide's items, that nothing asks for files.
Conversations through the engine are shown by the golden transcripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from flows.catalogs import ROOT
from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flow
from flows.spec import CONSENT_VALUES, Flow, Step
from flows.types import Inbound, Outbound, Session, Turn

FLOW = load_flow(ROOT / "flows" / "definitions" / "survivor.yaml")
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# The guide's lists, in its order, as (stable option id, label). Changing one changes
# what accounts mean: add a new id and bump the flow version instead of editing these.
LIST_A = [
    ("sexual-violence", "Sexual violence (including sexual threats or forced nudity)"),
    ("forced-marriage", "Forced or child marriage"),
    ("forced-pregnancy-abortion-sterilisation", "Forced pregnancy, abortion or sterilisation"),
    ("detention-arrest-abduction", "Detention, arrest or abduction"),
    ("beating-torture", "Beating or torture"),
    ("threats-harassment", "Threats or harassment, including online"),
    ("relative-killed-disappeared-detained", "A relative killed, disappeared or detained"),
    ("barred-education", "Barred from school or university"),
    ("barred-work", "Barred from work, or dismissed"),
    ("movement-restricted", "Movement restricted (male-guardian rules, checkpoints)"),
    ("denied-health-care", "Denied health care, including reproductive care"),
    ("dress-appearance-rules", "Dress or appearance rules, or punishment under them"),
    ("punished-expression-assembly", "Punished for speaking, protesting or gathering"),
    ("barred-politics", "Barred from voting, office or politics"),
    ("forced-to-leave-home", "Forced to leave home"),
    ("property-taken-destroyed", "Property or inheritance taken or destroyed"),
    ("denied-justice", "Denied police help or justice"),
    ("other", "Other, in your own words"),
]
LIST_B = [
    ("state-armed-forces", "The state's army or armed forces"),
    ("police-intelligence", "Police or intelligence services"),
    ("morality-police", "“Morality” or vice-and-virtue police"),
    ("non-state-armed-group", "An armed group that is not the state's (rebels, militia)"),
    ("de-facto-local-authorities", "The people in control of the area, or local officials"),
    ("courts-judges", "Courts or judges"),
    ("detention-staff", "Guards or staff where you were held"),
    ("religious-community-leaders", "Religious or community leaders"),
    ("family-members", "Family members (including under rules or pressure)"),
    ("school-employer-staff", "School or employer staff enforcing rules"),
    ("unknown", "Unknown"),
    ("other", "Other, in your own words"),
]
# "Don't know" of list C is the step's own answer (`dont_know: true`), kept apart in data.
LIST_C = [
    ("woman-or-girl", "Being a woman or girl"),
    ("man-or-boy", "Being a man or boy"),
    ("gender-identity", "Gender identity"),
    ("gender-expression", "Gender expression (dress, looks, behaviour)"),
    ("sexual-orientation", "Sexual orientation"),
    ("supporting-rights", "Supporting women's or LGBTQI+ rights"),
    ("ethnicity", "Ethnicity"),
    ("religion-belief", "Religion or belief"),
    ("race-colour", "Race or colour"),
    ("nationality", "Nationality"),
    ("disability", "Disability"),
    ("age", "Age"),
    ("migration-displacement", "Migration or displacement status"),
    ("political-opinion", "Political opinion or activism"),
    ("other", "Other, in your own words"),
]
LIST_D_IDS = [
    "urgent-medical-care",
    "care-after-sexual-violence",
    "health-care",
    "psychosocial-support",
    "legal-help",
    "immediate-safety",
    "shelter",
    "money-food-livelihood",
    "digital-security",
    "nothing-now",
    "other",
]
# Every list the guide gives ends with "other, in your own words".
LISTS_ENDING_IN_OTHER = ("harms", "perpetrators", "grounds", "rules", "evidence", "needs")


def reachable_avoiding(flow: Flow, start: str, avoid: str) -> set[str]:
    """Steps reachable from `start` along any path that does not pass through `avoid`."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen or current == avoid:
            continue
        seen.add(current)
        todo.extend(flow.successors(current))
    return seen


def index(step_id: str) -> int:
    return [s.id for s in FLOW.steps].index(step_id)


def texts(step: Step) -> Iterable[str]:
    yield step.text
    if step.explain:
        yield step.explain
    for option in step.options:
        yield option.text
        if option.reply:
            yield option.reply


def test_the_interview_starts_with_the_language_choice() -> None:
    language = FLOW.step(FLOW.start)
    assert language.sets == "language"
    assert language.options[0].id == "en"
    assert all(re.fullmatch(r"[a-z]{2,3}", o.id) for o in language.options)


def test_no_consent_and_no_account_question_can_come_before_the_safety_gate() -> None:
    before_safety = reachable_avoiding(FLOW, FLOW.start, "safety")
    assert all(FLOW.step(s).section is None for s in before_safety)
    assert not any(FLOW.step(s).elements for s in before_safety)


def test_the_safety_gate_says_what_telegram_can_expose_and_how_to_leave() -> None:
    said = " ".join(
        FLOW.step(s).text for s in sorted(reachable_avoiding(FLOW, "language", "safety"))
    )
    # Issue 14: plain words instead of "not end-to-end encrypted".
    for fact in ("lock screen", "stays on your phone", "can technically read this chat", "/exit"):
        assert fact in said
    not_safe = FLOW.step(FLOW.step("safety").option("no").next or "")
    leaving = " ".join(FLOW.step(s).text for s in reachable_avoiding(FLOW, not_safe.id, ""))
    assert "Nothing you wrote here is kept" in leaving and "/start" in leaving
    assert FLOW.step("not-safe").reason == "not-safe"


def test_route_age_urgency_and_told_before_come_before_consent() -> None:
    first_consent = min(index(s.id) for s in FLOW.steps if s.section == "consent")
    for step_id in ("safety", "route", "age", "urgency", "told-before", "told-which"):
        assert index(step_id) < first_consent
    assert FLOW.step(FLOW.step("route").option("someone-else").next or "").kind == "end"
    under_18 = FLOW.step(FLOW.step("age").option("under-18").next or "")
    assert (under_18.kind, under_18.reason) == ("end", "not-eligible")
    assert "{child_protection}" in under_18.text


def test_recent_events_show_medical_windows_at_once_and_mark_the_account_urgent() -> None:
    recent = FLOW.step("urgency").option("yes")
    assert recent is not None and recent.flags == ("urgent",) and recent.reply
    # Issue 14: one idea per message; the windows follow in info steps of their own.
    medical = [FLOW.step(s) for s in ("urgent-pep", "urgent-contraception", "urgent-check-up")]
    assert all(s.ask_if[0].flag == "urgent" and s.kind == "info" for s in medical)
    said = " ".join(s.text for s in medical)
    for must in ("72 hours", "5 days", "{emergency}", "a check-up can still help"):
        assert must in said
    assert index("urgency") < index("urgent-pep") < index("urgent-go-on")
    assert FLOW.step("urgent-go-on").ask_if[0].flag == "urgent"
    assert FLOW.step("told-which").ask_if[0].in_ == ("yes",)


def test_consent_asks_every_scope_separately_and_a_skip_means_no() -> None:
    scopes = {s.consent: s for s in FLOW.steps if s.consent}
    assert set(scopes) == set(CONSENT_VALUES)
    for scope, step in scopes.items():
        assert step.section == "consent"
        assert step.skip_as == "no", scope
        assert {o.id for o in step.options} == set(CONSENT_VALUES[scope])
    declined = FLOW.step(scopes["archive"].option("no").next or "")
    assert (declined.kind, declined.reason) == ("end", "declined")
    assert "Nothing you wrote here is kept" in declined.text


def test_nothing_of_the_account_is_asked_before_the_archive_consent() -> None:
    before_consent = reachable_avoiding(FLOW, FLOW.start, "consent-archive")
    assert not any(FLOW.step(s).elements for s in before_consent)


def test_the_consent_texts_say_what_the_guide_requires_and_promise_nothing() -> None:
    said = " ".join(s.text for s in FLOW.steps if s.section == "consent" and s.kind == "info")
    for must in ("{org_name}", "automated", "/skip", "/pause", "/exit", "{draft_days}"):
        assert must in said
    for must in ("{account_keep}", "risks", "/withdraw", "court", "{org_contact}"):
        assert must in said
    assert "cannot promise a court case, money, asylum, or a move" in said


def test_understanding_checks_explain_again_instead_of_blocking() -> None:
    for step_id in ("check-skip", "check-stop"):
        step = FLOW.step(step_id)
        assert step.explain
        assert [o.id for o in step.options if o.correct] and all(
            o.next is None for o in step.options
        )


def test_contact_details_are_asked_only_with_consent_and_marked_identifying() -> None:
    for step_id in ("contact-how", "contact-code-word"):
        step = FLOW.step(step_id)
        assert step.identifying
        assert step.ask_if[0].step == "consent-contact" and step.ask_if[0].in_ == ("yes",)


def test_free_recall_is_the_first_account_question_and_may_take_many_messages() -> None:
    account = [s for s in FLOW.steps if s.elements]
    recall = account[0]
    assert recall.id == "recall" and recall.kind == "free-text"
    assert recall.multi and recall.media and recall.check_in
    # Issue 14: no content note before it (the way in stays short); the question itself
    # says "take your time".
    assert FLOW.section("account") is not None and FLOW.section("account").content_note is None
    assert recall.text.startswith("Take your time.")
    # One neutral follow-up that never quotes the person's words back (issue 12).
    assert not [s for s in FLOW.steps if s.quote_from or "{quote}" in s.text]
    follow_up = FLOW.step("recall-follow-up")
    assert follow_up.text == "Is there anything you want to add? You can skip this."
    assert index("recall") < index("recall-follow-up") < index("harms")


def test_consent_is_confirmed_again_before_the_harms_list_and_at_the_end() -> None:
    assert index("recall") < index("harms-go-on") < index("harms")
    assert FLOW.step("harms").ask_if[0].step == "harms-go-on"
    final = FLOW.step("consent-final")
    assert "{consent_summary}" in final.text
    assert index("anything-else") < index("consent-final") < index("review")
    assert FLOW.step(final.option("stop-here").next or "").reason == "declined"


def test_questions_3_to_15_come_in_the_guides_order() -> None:
    order = [
        "harms", "when-started", "place", "perpetrators", "names-roles", "words-said",
        "grounds", "rules", "others-affected", "evidence", "impact", "needs", "anything-else",
    ]  # fmt: skip
    assert [index(s) for s in order] == sorted(index(s) for s in order)


@pytest.mark.parametrize(
    ("step_id", "expected"), [("harms", LIST_A), ("perpetrators", LIST_B), ("grounds", LIST_C)]
)
def test_lists_a_to_c_offer_exactly_the_guides_items(
    step_id: str, expected: list[tuple[str, str]]
) -> None:
    assert [(o.id, o.text) for o in FLOW.step(step_id).options] == expected


def test_list_d_offers_the_guides_needs_with_the_medical_windows() -> None:
    needs = FLOW.step("needs")
    assert [o.id for o in needs.options] == LIST_D_IDS
    care = needs.option("care-after-sexual-violence")
    assert care is not None and "72 hours" in care.text and "5" in care.text
    nothing = needs.option("nothing-now")
    assert nothing is not None and nothing.exclusive


@pytest.mark.parametrize("step_id", LISTS_ENDING_IN_OTHER)
def test_every_list_ends_with_other_in_your_own_words(step_id: str) -> None:
    assert FLOW.step(step_id).options[-1].id == "other"


def test_grounds_are_never_compulsory_and_dont_know_stays_its_own_answer() -> None:
    grounds = FLOW.step("grounds")
    assert grounds.dont_know and grounds.prefer_not


def test_sexual_violence_needs_no_more_than_a_tick() -> None:
    assert "choosing it is enough" in FLOW.step("harms").text


def test_check_ins_follow_the_sensitive_questions_1_3_and_8() -> None:
    assert {s.id for s in FLOW.steps if s.check_in} == {"recall", "harms", "words-said"}


def test_answers_that_may_identify_someone_are_marked() -> None:
    marked = {s.id for s in FLOW.steps if s.identifying}
    assert {"place", "names-roles", "contact-how", "contact-code-word"} <= marked


def test_the_rules_follow_up_is_skipped_when_there_were_no_rules() -> None:
    conditions = FLOW.step("rules-who").ask_if
    assert any(c.step == "rules" and c.not_in == ("none",) for c in conditions)
    assert any(c.step == "rules" and c.answered for c in conditions)


def test_no_step_asks_for_files() -> None:
    assert not [s.id for s in FLOW.steps if s.kind == "media"]
    assert "don't send" in FLOW.step("evidence").text


def test_the_end_gives_the_code_and_says_how_to_leave_safely() -> None:
    submitted = [s for s in FLOW.steps if s.kind == "end" and s.reason == "submitted"]
    assert len(submitted) == 1
    text = submitted[0].text
    for must in ("{reference}", "does not delete your account", "/withdraw", "/exit"):
        assert must in text
    assert index("review") < index("submitted")
    assert "{referrals}" in FLOW.step("referrals").text
    assert FLOW.step("referrals-urgent").ask_if[0].flag == "urgent"


BLAME = re.compile(r"\bwhy (did|didn't|did not) you\b", re.IGNORECASE)
GENDERED = re.compile(r"\b(he|she|him|his|hers|her|himself|herself)\b", re.IGNORECASE)


def test_no_text_blames_or_assumes_anyones_gender() -> None:
    for step in FLOW.steps:
        for text in texts(step):
            assert not BLAME.search(text), step.id
            assert not GENDERED.search(text), step.id


# ---------------------------------------------------------------- through the engine
# A few paths whose outcome is a safety promise of the texts above, driven through the
# real engine: the golden transcripts show whole conversations; these pin the promises.


class Survivor:
    """A scripted person: answers by option id, text or command; defaults go forward."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.engine = Engine(FLOW, demo_deployment())
        self.answers = answers
        self.said: list[str] = []

    def talk(self) -> Turn:
        session: Session | None = self.engine.new_session("someone", NOW)
        inbound = Inbound(kind="start")
        for index in range(200):
            assert session is not None
            turn = self.engine.handle(session, inbound, NOW, translator("en"))
            self.said.extend(m.text for m in turn.messages)
            if turn.end is not None:
                return turn
            session = turn.session
            ask = turn.messages[-1]
            inbound = self.reply(ask, index)
        raise AssertionError("the interview did not end")

    def reply(self, ask: Outbound, index: int) -> Inbound:
        entropy = bytes([index % 256]) * 16
        wanted = self.answers.get(ask.ask or "")
        if wanted is not None and wanted.startswith("/"):
            return Inbound(kind="command", command=wanted[1:], entropy=entropy)
        if not ask.choices:
            return Inbound(kind="text", text=wanted or "In my own words.", entropy=entropy)
        defaults = {"more": "done", "check-in": "continue", "review": "send"}
        value = wanted or defaults.get(ask.ask or "") or ask.choices[0].value
        number = next(c.n for c in ask.choices if c.value == value)
        return Inbound(kind="text", text=str(number), entropy=entropy)


def test_skipped_optional_consent_scopes_are_recorded_as_no() -> None:
    skipped = {s.id: "/skip" for s in FLOW.steps if s.consent and s.consent != "archive"}
    turn = Survivor(skipped).talk()
    assert turn.end == "submitted" and turn.account is not None
    assert turn.account.consent.scopes == {
        "archive": "yes",
        "reports": "no",
        "mechanisms": "no",
        "contact": "no",
        "referral": "no",
    }


@pytest.mark.parametrize("answer", ["no", "/skip"])
def test_without_the_archive_consent_nothing_is_kept(answer: str) -> None:
    turn = Survivor({"consent-archive": answer}).talk()
    assert (turn.end, turn.session, turn.account) == ("declined", None, None)


def test_not_safe_now_ends_with_how_to_come_back_and_nothing_kept() -> None:
    person = Survivor({"safety": "no"})
    turn = person.talk()
    assert (turn.end, turn.session) == ("not-safe", None)
    assert "/start" in person.said[-1]


def test_under_18_ends_with_child_protection_contacts() -> None:
    person = Survivor({"age": "under-18"})
    turn = person.talk()
    assert (turn.end, turn.session) == ("not-eligible", None)
    assert "Example Child Protection Line (demo)" in person.said[-1]


def test_recent_events_show_medical_help_at_once_and_the_account_is_urgent() -> None:
    person = Survivor({"urgency": "yes"})
    turn = person.talk()
    assert turn.account is not None and turn.account.urgent
    assert any("72 hours" in t for t in person.said)
    medical = next(t for t in person.said if "a check-up can still help" in t)
    assert "Example Clinic (demo)" in medical


def test_leaving_out_the_list_asks_no_harms_and_no_check_in_for_it() -> None:
    turn = Survivor({"harms-go-on": "leave-out-list", "rules": "none"}).talk()
    assert turn.account is not None
    asked = {a.step for a in turn.account.answers}
    assert "harms" not in asked and "rules-who" not in asked and "rules" in asked
