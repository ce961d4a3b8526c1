"""Right-to-left texts: commands shown the right way round, and read when typed reversed.

Arabic and Persian display a bare "/exit" inside their text as "exit/"; a person who
types what they see must get the command, never an answer saved or a "1 to 1" re-prompt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.bidi import isolate_latin, unisolated
from flows.i18n import translator
from flows.parse import COMMANDS, read_command
from flows.types import EraseChat, Inbound, ShredDraft
from tests.golden.talk import Talk

# Arabic, from the language question to the free recall (numbers, as a phone would type).
AR_TO_URGENCY = ("1", "1", "1")  # private: yes; it happened to me; 18 or older
# Issue 14: the contact scope (no) now comes before the mechanisms scope (anonymised).
AR_TO_RECALL = (*AR_TO_URGENCY, "2", "2", "1", "1", "1", "2", "1", "2", "1", "1")

LRI, PDI, RLM = "\u2066", "\u2069", "\u200f"


def arabic_at(*answers: str) -> Talk:
    talk = Talk.of("survivor")
    talk.start(hint="ar")
    talk.run(*answers)
    return talk


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "exit"])
def test_every_command_reads_the_same_reversed(command: str) -> None:
    for language in ("ar", "fa", "en"):
        tr = translator(language)
        assert read_command(Inbound(kind="text", text=f"{command}/"), tr) == command
        assert read_command(Inbound(kind="text", text=f" {command.upper()}/ "), tr) == command


@pytest.mark.parametrize(
    "typed",
    ["exit/", "Exit/", " exit/ ", f"{LRI}/exit{PDI}", f"{RLM}exit/", f"{LRI}exit/{PDI}", "خروج/"],
)
def test_reversed_or_isolated_exit_quick_exits_at_a_free_text_step(typed: str) -> None:
    talk = arabic_at(*AR_TO_RECALL)
    assert talk.state == "recall"
    turn = talk.send(typed)
    assert turn.end == "exited" and turn.session is None
    assert turn.effects == (ShredDraft(), EraseChat())


def test_exit_reversed_at_a_choice_quick_exits_instead_of_asking_for_a_number() -> None:
    talk = arabic_at(*AR_TO_URGENCY)
    assert talk.state == "urgency"
    turn = talk.send("exit/")
    assert turn.end == "exited" and turn.session is None
    assert not any("1" in m.text and "3" in m.text for m in turn.messages)


def test_skip_reversed_at_a_free_text_step_skips_and_saves_nothing_as_the_answer() -> None:
    talk = arabic_at(*AR_TO_RECALL)
    talk.send("skip/")
    assert talk.session is not None
    assert talk.session.answers["recall"].status == "skip"


def test_a_word_with_a_slash_that_is_no_command_stays_an_answer() -> None:
    talk = arabic_at(*AR_TO_RECALL)
    talk.send("نعم/")
    assert talk.session is not None
    assert talk.session.answers["recall"].value == "نعم/"


@pytest.mark.parametrize("language", ["ar", "fa", "uk", "es", "fr"])
def test_the_safety_message_names_the_local_word_for_exit(language: str) -> None:
    local = translator(language).gettext("exit")
    assert local != "exit"
    talk = Talk.of("survivor")
    turn = talk.start(hint=language)
    safety = next(m.text for m in turn.messages if "/exit" in m.text)
    assert local in safety
    assert talk.send(local).end == "exited"


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_every_command_an_rtl_interview_shows_is_isolated(language: str) -> None:
    talk = Talk.of("survivor")
    talk.start(hint=language)
    for typed in (*AR_TO_RECALL[:3], "/help", "/pause"):
        talk.send(typed)
    shown = [m.text for turn in talk.turns for m in turn.messages]
    shown += [c.label for turn in talk.turns for m in turn.messages for c in m.choices]
    assert any("/exit" in text for text in shown)
    for text in shown:
        assert not unisolated(text), (unisolated(text), text)


def test_update_isolates_rtl_catalogs_and_check_names_a_bare_command(tmp_path: Path) -> None:
    from babel.messages.catalog import Catalog

    from flows.catalogs import _render, incomplete, update_catalog

    locales = tmp_path / "locales"
    template = Catalog(locale=None, fuzzy=False)
    template.add("Type /exit to leave.")
    template.add("English")
    (locales / "ar" / "LC_MESSAGES").mkdir(parents=True)
    (locales / "messages.pot").write_bytes(_render(template))
    shipped = Catalog(locale="ar", fuzzy=False)
    shipped.add("Type /exit to leave.", "اكتب /exit للمغادرة.")
    shipped.add("English", "English")  # a language's own name stays as it is
    po = locales / "ar" / "LC_MESSAGES" / "messages.po"
    po.write_bytes(_render(shipped))
    [problem] = incomplete("ar", locales)
    assert "'/exit' not in direction isolates" in str(problem)
    update_catalog("ar", template, locales)
    assert incomplete("ar", locales) == []
    text = po.read_text(encoding="utf-8")
    assert f"اكتب {LRI}/exit{PDI} للمغادرة." in text
    assert 'msgstr "English"' in text


def test_isolating_leaves_placeholders_and_is_idempotent() -> None:
    text = "يديرها {org_name}. اكتب /exit أو K7QM-4TXA-9P."
    once = isolate_latin(text)
    assert once == f"يديرها {{org_name}}. اكتب {LRI}/exit{PDI} أو {LRI}K7QM-4TXA-9P{PDI}."
    assert isolate_latin(once) == once
    assert unisolated(once) == [] and unisolated(text) == ["/exit", "K7QM-4TXA-9P"]


@pytest.mark.parametrize("language", ["ar", "fa", "uk", "es", "fr"])
def test_every_translation_keeps_its_placeholders_whole(language: str) -> None:
    import re

    from flows.catalogs import po_path, read_catalog

    fields = re.compile(r"\{[^{}\s]*\}")
    for message in read_catalog(po_path(language), language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        wanted = set(fields.findall(ids[-1]))
        for text in strings:
            assert set(fields.findall(text)) <= wanted | set(fields.findall(ids[0])), (ids[0], text)
            assert wanted - {"{count}", "{draft_days}", "{n}"} <= set(fields.findall(text)), text


async def test_a_withdrawn_accounts_code_is_isolated_in_arabic(tmp_path: Path) -> None:
    import io
    from datetime import UTC, datetime

    from bot.node import open_node
    from bot.settings import load_settings
    from tests.console_driver import cooperative

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    node = await open_node(load_settings({"ATTEST_DATA_DIR": str(tmp_path)}), warn=io.StringIO())
    try:
        answer = cooperative("كلمات")
        handle = node.dispatcher.handle
        reply = await handle(
            "test", "ar1", Inbound(kind="start", language_hint="ar"), update_key=None, now=now
        )
        while reply.end is None:
            ask = next(m for m in reversed(reply.messages) if m.ask)
            event = {
                "step": ask.ask,
                "kind": ask.kind,
                "options": [{"n": c.n, "value": c.value} for c in ask.choices],
            }
            typed = Inbound(kind="text", text=answer(event))
            reply = await handle("test", "ar1", typed, update_key=None, now=now)
        code = reply.reference
        assert reply.end == "submitted" and code
        # Back in Arabic (a new conversation), the person withdraws it by the local word.
        again = Inbound(kind="start", language_hint="ar")
        await handle("test", "ar1", again, update_key=None, now=now)
        await handle("test", "ar1", Inbound(kind="text", text="سحب"), update_key=None, now=now)
        said = await handle(
            "test", "ar1", Inbound(kind="text", text=code), update_key=None, now=now
        )
        assert said.language == "ar"
        assert all(not unisolated(m.text) for m in said.messages)
        assert any(f"{LRI}{code}{PDI}" in m.text for m in said.messages)
    finally:
        await node.close()


def test_a_phone_number_in_a_right_to_left_text_is_kept_the_right_way_round() -> None:
    """Found by a fresh-eyed tester: a referral's "+964 770 123 4567" in an Arabic line was
    laid out "4567 123 770 964+"; a person dialling it by eye would dial a wrong number."""
    from flows.bidi import LRI, PDI, isolate_latin

    assert isolate_latin("• عيادة النساء: +964 770 123 4567") == (
        f"• عيادة النساء: {LRI}+964 770 123 4567{PDI}"
    )
    assert isolate_latin("اتصل على ٠٧٧٠١٢٣٤٥٦٧") == f"اتصل على {LRI}٠٧٧٠١٢٣٤٥٦٧{PDI}"
    assert isolate_latin("خلال 72 ساعة") == "خلال 72 ساعة"  # short numbers stay as they are
    once = isolate_latin("هاتف: 0912 345 678")
    assert isolate_latin(once) == once
