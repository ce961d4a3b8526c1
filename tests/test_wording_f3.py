"""Issue f3: translations that could hurt or mislead.

The code word is a word agreed between the person and whoever contacts them, not a
password ("كلمة السرّ", "کلمهٔ رمز"), and each catalog names it the same way everywhere.
Ukrainian "why was it done to you in particular" can read as blaming: the grounds
question and its label say "why you were targeted", as the English source does.
"""

from __future__ import annotations

import pytest

from flows.i18n import translator

CODE_WORD = (
    "Your code word",
    "You can choose a code word. Whoever contacts you will say it first, so you know it "
    "is really us. What word would you like?",
    "What is a safe way and time to reach them? A code word they will recognise is wise.",
)
AGREED = {"ar": "كلمة متّفق عليها", "fa": "کلمهٔ قراردادی"}
PASSWORD = {"ar": ("كلمة السر", "كلمة سرّ", "كلمة السرّ"), "fa": ("رمز",)}


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_the_code_word_is_an_agreed_word_not_a_password(language: str) -> None:
    _ = translator(language).gettext
    for msgid in CODE_WORD:
        text = _(msgid)
        assert text != msgid, msgid  # translated
        assert not any(word in text for word in PASSWORD[language]), text
    # One term, the same in the question, its label and the documenter's question.
    assert AGREED[language] in _(CODE_WORD[1])
    assert AGREED[language] in _(CODE_WORD[2])
    label = _(CODE_WORD[0])
    stem = AGREED[language].split()[0].removeprefix("ال")
    assert stem in label and ("متّفق" in label or "قراردادی" in label), label


def test_ukrainian_grounds_do_not_ask_why_you_in_particular() -> None:
    _ = translator("uk").gettext
    texts = [
        _("Why you think you were targeted"),
        _(
            "Do you think any of these were part of why you were targeted? It can be "
            "something real, or something they assumed about you. Choose any that fit."
        ),
        _("In your own words, what else do you think was part of why you were targeted?"),
    ]
    for text in texts:
        assert "саме з вами" not in text, text
        assert "обрали ціллю" in text, text
