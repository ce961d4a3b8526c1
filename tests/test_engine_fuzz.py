"""Whatever a person sends, in whatever order, the engine answers sensibly and never fails."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.types import Inbound, MediaRef
from tests.golden.talk import Talk, flow_path

TYPED = [
    "1", "2", "3", "99", "1, 2", "yes", "no", "done", "more", "Done", "", "   ",
    "hello", "I don't know", "prefer not to say", "/back", "/skip", "back", "skip",
    "/pause", "/resume", "/help", "/language", "/withdraw", "K7QM-4TXA-9P", "/frobnicate",
    "/start", "x" * 5000, "exit",
]  # fmt: skip
ENDED_WITHOUT_SESSION = {
    "submitted",
    "declined",
    "not-safe",
    "not-eligible",
    "exited",
    "withdrawn",
    "withdrawal-requested",
}

step = st.one_of(
    st.sampled_from(TYPED).map(lambda t: ("text", t)),
    st.integers(min_value=0, max_value=30).map(lambda i: ("button", str(i))),
    st.just(("start", "")),
    st.just(("media", "")),
)


def play(name: str, moves: list[tuple[str, str]]) -> None:
    talk = Talk.of(name)
    talk.start()
    for kind, value in moves:
        choices = talk.last.messages[-1].choices if talk.last.messages else ()
        if kind == "text":
            turn = talk.send(value)
        elif kind == "button":
            index = int(value)
            # Mostly a button of the current question; sometimes a stale or forged one.
            picked = (
                choices[index % len(choices)].value if choices and index < 25 else f"forged-{index}"
            )
            turn = talk.press(picked)
        elif kind == "start":
            turn = talk.start()
        else:
            ref = MediaRef(file_id="f", kind="voice", sha256="0" * 64, size=1)
            turn = talk.send(Inbound(kind="media", media=ref))
        assert turn.messages, "every turn says something"
        if turn.end in ENDED_WITHOUT_SESSION:
            assert turn.session is None
        else:
            assert turn.session is not None
            state = turn.session.state
            assert state in talk.engine.rulebook.states
            if turn.end == "paused":
                assert turn.session.status == "paused"
            elif state != "new":
                assert turn.messages[-1].ask == state, (kind, value, turn.messages[-1])
            assert all(talk.flow.step(s).asks for s in turn.session.history)
        if turn.account is not None:
            assert turn.end == "submitted" and turn.account.consent.scopes["archive"] == "yes"


@pytest.mark.parametrize("name", [n for n in ("tiny", "survivor") if flow_path(n).exists()])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(step, min_size=1, max_size=60))
def test_any_sequence_of_messages_gets_a_sensible_turn(
    name: str, moves: list[tuple[str, str]]
) -> None:
    play(name, moves)
