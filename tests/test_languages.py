"""Languages: the flow offers exactly the shipped catalogs, and a choice speaks at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import available_languages, translator
from flows.loader import load_flows
from flows.types import Inbound

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def survivor() -> Engine:
    return Engine(load_flows()["survivor"], demo_deployment(), translator)


def test_the_language_question_offers_every_shipped_catalog() -> None:
    step = load_flows()["survivor"].language_step
    assert step is not None
    assert sorted(o.id for o in step.options) == sorted(available_languages())


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
def test_choosing_a_language_speaks_it_from_the_next_message(language: str) -> None:
    engine = survivor()
    session = engine.new_session("r", NOW)
    turn = engine.handle(session, Inbound(kind="start"), NOW, translator("en"))
    ask = turn.messages[-1]
    number = next(c.n for c in ask.choices if c.value == language)
    turn = engine.handle(
        turn.session, Inbound(kind="text", text=str(number)), NOW, translator("en")
    )
    assert turn.session is not None and turn.session.language == language
    english = translator("en").gettext("Are you somewhere you can write privately right now?")
    safety = turn.messages[-1]
    assert safety.ask == "safety"
    assert safety.text != english
    assert safety.text == translator(language).gettext(english)


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
def test_a_deep_link_language_skips_the_question(language: str) -> None:
    engine = survivor()
    session = engine.new_session("r", NOW)
    turn = engine.handle(
        session, Inbound(kind="start", language_hint=language), NOW, translator("en")
    )
    assert turn.session is not None and turn.session.language == language
    assert turn.messages[-1].ask == "safety"


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
def test_translated_command_words_work(language: str) -> None:
    engine = survivor()
    session = engine.new_session("r", NOW)
    turn = engine.handle(
        session, Inbound(kind="start", language_hint=language), NOW, translator("en")
    )
    word = translator(language).gettext("exit")
    assert word != "exit"
    turn = engine.handle(
        turn.session, Inbound(kind="text", text=word.upper()), NOW, translator(language)
    )
    assert turn.end == "exited"


def test_an_unknown_language_hint_falls_back_to_asking() -> None:
    engine = survivor()
    session = engine.new_session("r", NOW)
    turn = engine.handle(session, Inbound(kind="start", language_hint="xx"), NOW, translator("en"))
    assert turn.messages[-1].ask == "language"


def test_commands_and_labels_are_read_without_accents() -> None:
    from flows.parse import read_command

    spanish = translator("es")
    assert spanish.gettext("back") == "atrás"
    assert read_command(Inbound(kind="text", text="ATRAS"), spanish) == "back"
    assert read_command(Inbound(kind="text", text="Atrás"), spanish) == "back"


def test_arabic_keyboard_variants_and_question_marks() -> None:
    from flows.parse import read_command
    from flows.render import QUESTION

    arabic = translator("ar")
    word = arabic.gettext("skip")
    variant = word.replace("ي", "ى")
    assert read_command(Inbound(kind="text", text=variant), arabic) == "skip"
    assert QUESTION.findall("مرحبا. هل أنت بخير؟") == [" هل أنت بخير؟"]


def test_numbers_in_persian_and_arabic_digits_and_commas() -> None:
    from flows.parse import read_choices
    from flows.types import Choice

    choices = tuple(Choice(n, f"v{n}", f"label {n}") for n in range(1, 5))
    assert read_choices("۱، ۳", choices, multi=True) == ("v1", "v3")
    assert read_choices("١،٤", choices, multi=True) == ("v1", "v4")
    assert read_choices("۲", choices, multi=False) == ("v2",)
