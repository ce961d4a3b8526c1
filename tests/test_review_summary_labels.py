"""Issue f3: the review names each answer by its short label, never a question cut short.

"Is this what you want to send?" listed each answer under its question cut at about 100
characters ("…without your name or anything that could identify…"). Each answer now
stands under its `label` (as in the change list): shorter, and nothing is cut. In
right-to-left languages the arrow before an answer points at it.
"""

from __future__ import annotations

import pytest

from flows import catalogs
from flows.bidi import LRI, PDI, is_rtl
from flows.i18n import translator
from tests.golden.talk import Talk
from tests.test_change_list_labels import to_review

LANGUAGES = catalogs.languages()


def review_of(language: str, flow_id: str = "survivor") -> Talk:
    talk = Talk.of(flow_id, numbered=False)
    talk.start(hint=language)
    to_review(talk)
    return talk


def items(review: str) -> list[tuple[str, str]]:
    """(label line, answer line) of each listed answer."""
    lines = review.split("\n")
    return [(lines[i], lines[i + 1]) for i, line in enumerate(lines) if line.startswith("• ")]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("flow_id", ["survivor", "documenter"])
def test_each_answer_stands_under_its_label_and_no_question_is_cut(
    flow_id: str, language: str
) -> None:
    talk = review_of(language, flow_id)
    review = "\n".join(talk.texts())
    _ = translator(language).gettext
    answers = talk.session.answers  # type: ignore[union-attr]
    listed = [step for step in talk.flow.steps if step.id in answers and step.listed]
    found = items(review)
    labels = [head.removeprefix("• ") for head, _answer in found]
    for step in listed:
        assert _(step.label or "") in labels, (language, step.id)
        assert _(step.text) not in review, (language, step.id)
    for head, _answer in found:
        assert not head.endswith("…"), head
    assert len(found) == len(listed)


def test_the_english_review_reads_labels_not_questions() -> None:
    talk = review_of("en")
    review = "\n".join(talk.texts())
    assert "• What happened, in your words\n   → A few words." in review
    assert "• Public reports, without your name\n   → " in review
    assert "without your name or anything that could identify" not in review


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_arrow_before_an_answer_points_at_it(language: str) -> None:
    """An RTL paragraph puts the label on the right and the answer to its left: "←"."""
    talk = review_of(language)
    found = items("\n".join(talk.texts()))
    assert found
    arrow = "←" if is_rtl(language) else "→"
    wrong = "→" if is_rtl(language) else "←"
    for _head, answer in found:
        shown = answer.replace(LRI, "").replace(PDI, "")
        assert shown.lstrip("\u200f ").startswith(arrow + " "), (language, answer)
        assert wrong not in shown, (language, answer)
