"""The last consent check needs an answer: /skip there is never taken as "yes".

"Before you send your account, here is what you agreed to … Is this still what you
want?" went on as if the answer were "Yes, send it like this" when the person sent /skip.
Consent is never assumed: /skip is refused kindly and the question asked again, at the
terminal and on Telegram, in the survivor and the documenter flows.
"""

from __future__ import annotations

import pytest

from flows.loader import load_flow
from tests.golden.talk import Talk, flow_path
from tests.test_console_back_from_change import to_review_step


def at_consent_final(*, numbered: bool) -> Talk:
    talk = Talk.of("survivor", numbered=numbered)
    talk.start(hint="en")
    while talk.ask.ask != "consent-final":
        assert talk.ask.ask != "review", "the last consent check was never asked"
        to_review_step(talk)
    return talk


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("skip", ["/skip", "skip", "command"])
def test_skip_at_the_last_consent_check_is_refused(numbered: bool, skip: str) -> None:
    talk = at_consent_final(numbered=numbered)
    turn = talk.command("skip") if skip == "command" else talk.send(skip)
    texts = "\n".join(m.text for m in turn.messages)
    assert "needs an answer" in texts
    assert talk.ask.ask == "consent-final"  # asked again
    assert talk.session is not None and "consent-final" not in talk.session.answers
    talk.press("keep")
    assert talk.ask.ask == "review"


@pytest.mark.parametrize("name", ["survivor", "documenter"])
def test_the_last_consent_check_of_each_flow_needs_an_answer(name: str) -> None:
    flow = load_flow(flow_path(name))
    assert flow.step("consent-final").needs_answer
