"""Issue f3: contact details switched off are gone, never brought back without asking.

Someone who sets "Contacting you again" to No because that number is no longer safe must
not get it back, shown as "Set (hidden)", by switching contact on again: the contact
questions are asked afresh. While No is set, the account leaves them out.
"""

from __future__ import annotations

from tests.golden.talk import Talk
from tests.test_change_list_labels import to_review

CONTACT = ("contact-how", "contact-code-word")


def change(talk: Talk, step: str, value: str) -> None:
    talk.press("change")
    talk.press("topic:consent")
    talk.press(step)
    talk.press(value)


def at_review_with_contact() -> Talk:
    talk = Talk.of("survivor", numbered=False)
    talk.start(hint="en")
    to_review(talk)  # first choices: contact "Yes", then "A few words." for each
    answers = talk.session.answers  # type: ignore[union-attr]
    assert answers["consent-contact"].value == "yes"
    assert all(answers[s].value == "A few words." for s in CONTACT)
    return talk


def test_contact_set_to_no_deletes_the_contact_way_and_code_word() -> None:
    talk = at_review_with_contact()
    change(talk, "consent-contact", "no")
    for _ in range(5):  # on to the review (the last consent check comes again first)
        if talk.ask.ask == "review":
            break
        talk.press(talk.ask.choices[0].value)
    assert talk.ask.ask == "review"
    answers = talk.session.answers  # type: ignore[union-attr]
    assert not set(CONTACT) & set(answers)  # gone from the draft, not kept aside
    review = "\n".join(talk.texts())
    assert "A safe way to reach you" not in review and "Your code word" not in review
    turn = talk.press("send")
    assert turn.account is not None
    assert not {a.step for a in turn.account.answers} & set(CONTACT)
    assert turn.account.consent.scopes["contact"] == "no"


def test_switching_contact_back_on_asks_the_contact_questions_again() -> None:
    talk = at_review_with_contact()
    change(talk, "consent-contact", "no")
    while talk.ask.ask != "review":
        talk.press(talk.ask.choices[0].value)
    change(talk, "consent-contact", "yes")
    # Asked afresh, not shown back as "Set (hidden)".
    assert talk.ask.ask == "contact-how"
    assert "Set (hidden)" not in "\n".join(talk.texts())
    talk.send("Signal, evenings")
    assert talk.ask.ask == "contact-code-word"
    talk.send("blue river")
    answers = talk.session.answers  # type: ignore[union-attr]
    assert answers["contact-how"].value == "Signal, evenings"
    assert answers["contact-code-word"].value == "blue river"


def test_no_then_yes_by_going_back_also_asks_again() -> None:
    """The same when the answer is changed by /back rather than from the review."""
    talk = Talk.of("survivor", numbered=False)
    talk.start(hint="en")
    while talk.ask.ask != "contact-code-word":
        to = talk.ask
        if to.ask == "contact-how":
            talk.send("+1 555 0100")
        elif to.choices:
            talk.press("yes" if to.ask == "consent-contact" else to.choices[0].value)
        else:
            talk.send("Something.")
    talk.command("back")  # to contact-how
    talk.command("back")  # to consent-contact
    assert talk.ask.ask == "consent-contact"
    talk.press("no")
    assert "contact-how" not in talk.session.answers  # type: ignore[union-attr]
    talk.command("back")
    assert talk.ask.ask == "consent-contact"
    talk.press("yes")
    assert talk.ask.ask == "contact-how"
    assert "Set (hidden)" not in "\n".join(talk.texts())
