"""Reference codes carry a check character: a slip in typing one is caught at once.

A person who withdraws an account may be in danger; a code with one character wrong must
never be taken for a withdrawal. Codes issued before the check character (10 characters)
still work: accounts carrying them exist.
"""

from __future__ import annotations

import pytest

from flows.reference import ALPHABET, CodeReading, read_code, reference_code

CODES = [reference_code(bytes([n]) * 16) for n in range(40)]
OLD_CODE = "66WQ-96HV-VC"  # a code as issued before check characters: 10 characters


def compact(code: str) -> str:
    return code.replace("-", "")


def grouped(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def test_a_new_code_has_eleven_characters_grouped_four_four_three() -> None:
    for code in CODES:
        parts = code.split("-")
        assert [len(p) for p in parts] == [4, 4, 3]
        assert all(c in ALPHABET for c in compact(code))
    assert len(set(CODES)) == len(CODES)


def test_a_new_code_is_read_back_in_any_case_and_spacing() -> None:
    for code in CODES:
        assert read_code(code) == CodeReading("code", code)
        assert read_code(compact(code).lower()) == CodeReading("code", code)
        assert read_code(" ".join(code.split("-"))) == CodeReading("code", code)


@pytest.mark.parametrize("code", CODES[:12])
def test_every_single_character_typo_at_every_position_is_caught(code: str) -> None:
    chars = compact(code)
    for position, original in enumerate(chars):
        for other in ALPHABET:
            if other == original:
                continue
            typo = grouped(chars[:position] + other + chars[position + 1 :])
            assert read_code(typo).kind == "mistyped", (position, other)


@pytest.mark.parametrize("code", CODES)
def test_every_swap_of_two_neighbours_is_caught(code: str) -> None:
    chars = compact(code)
    for position in range(len(chars) - 1):
        a, b = chars[position], chars[position + 1]
        if a == b:
            continue
        swapped = grouped(chars[:position] + b + a + chars[position + 2 :])
        assert read_code(swapped).kind == "mistyped", position


def test_the_example_in_the_messages_is_a_well_formed_code() -> None:
    assert read_code("K7QM-4TXA-9XP").kind == "code"


def test_the_testers_typo_of_a_new_code_is_caught() -> None:
    code = CODES[0]
    last = compact(code)[-1]
    wrong = code[:-1] + next(c for c in ALPHABET if c != last)
    assert read_code(wrong).kind == "mistyped"


def test_a_code_issued_before_check_characters_is_still_read() -> None:
    assert read_code(OLD_CODE) == CodeReading("old-code", OLD_CODE)
    assert read_code("66wq 96hv vc") == CodeReading("old-code", OLD_CODE)


def test_a_look_alike_letter_no_code_has_is_a_typo_not_a_new_code() -> None:
    # Codes never hold O, 0, 1, I, L, U, B, 8, S or 5: one of those is a misread character.
    code = compact(CODES[1])
    assert read_code(grouped("O" + code[1:])).kind == "mistyped"
    assert read_code("66WQ-96HV-V0").kind == "mistyped"


def test_digits_typed_on_a_persian_or_arabic_keyboard_are_read() -> None:
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    for code in CODES[:5]:
        assert read_code(code.translate(persian)) == CodeReading("code", code)
        assert read_code(code.translate(arabic)) == CodeReading("code", code)


@pytest.mark.parametrize(
    "text", ["", "my code is gone", "K7QM-4TXA-9", "K7QM-4TXA-9XPX", "K7QM-4TXA-9XPXY", "/back"]
)
def test_text_of_another_length_is_not_a_code(text: str) -> None:
    assert read_code(text) == CodeReading("none", None)


def test_a_code_needs_enough_entropy() -> None:
    with pytest.raises(ValueError):
        reference_code(b"short")


def _as_the_bot_shows_it(code: str, language: str) -> str:
    """The reference code exactly as the confirmation message shows it in `language`."""
    from flows.deployment import demo_deployment
    from flows.i18n import translator
    from flows.render import Renderer
    from tests.golden.talk import Talk

    talk = Talk.of("survivor")
    talk.start(language)
    assert talk.session is not None
    renderer = Renderer(talk.flow, demo_deployment(), translator(language))
    return renderer.fill("{reference}", talk.session, {"reference": code})


def test_a_code_copied_from_the_message_is_read_in_every_shipped_language() -> None:
    """Persian and Arabic show a code inside invisible direction isolates; a person who
    copies it sends them back, and the code must still be read."""
    from flows import catalogs

    for language in catalogs.languages():
        for code in CODES[:3]:
            shown = _as_the_bot_shows_it(code, language)
            assert read_code(shown) == CodeReading("code", code), (language, shown)
    assert "\u2066" in _as_the_bot_shows_it(CODES[0], "fa")  # the case the tester hit


@pytest.mark.parametrize(
    "mark",
    ["\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
     "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"],
)  # fmt: skip
def test_invisible_marks_anywhere_in_a_code_are_ignored(mark: str) -> None:
    code = CODES[2]
    assert read_code(f"{mark}{code}{mark}") == CodeReading("code", code)
    assert read_code(code[:4] + mark + code[4:]) == CodeReading("code", code)
    assert read_code(f"{mark}{OLD_CODE}{mark}") == CodeReading("old-code", OLD_CODE)


def test_commands_and_codes_share_one_reader_of_invisible_marks() -> None:
    """A zero-width space or a byte-order mark around a command is ignored like a mark."""
    from flows.i18n import translator
    from flows.parse import read_command
    from flows.types import Inbound

    words = translator("en")
    for mark in ("\u2066", "\u200b", "\ufeff", "\u200d"):
        assert read_command(Inbound(kind="text", text=f"{mark}/withdraw{mark}"), words) == (
            "withdraw"
        )
        assert read_command(Inbound(kind="text", text=f"{mark}exit/{mark}"), words) == "exit"
