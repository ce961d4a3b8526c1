"""A walk that goes on from an earlier one (flows/path.py `walk_on`) is the walk from the start.

Each turn walks the flow before and after it records an answer; the second walk starts
where the first stopped when nothing it passed has changed. Any sequence of messages
(the engine fuzz test's moves, and whole golden interviews) must give the same path,
flags and stopping place either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flows.path
import flows.sprint
from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flows
from flows.path import Walked, _walk, walk_on
from flows.spec import Flow
from flows.types import Answer, Inbound
from tests.golden.talk import flow_path
from tests.intake_support import T0
from tests.test_engine_fuzz import play, step
from tests.test_session_blob_store import reply_to

Calls = list[bool]


@pytest.fixture
def checked_walks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    """Every walk a turn makes compared with a walk from the start; True: it went on."""
    went_on: Calls = []

    def compared(
        flow: Flow, answers: Mapping[str, Answer], stop_from: str | None, earlier: Walked | None
    ) -> Walked:
        walked = walk_on(flow, answers, stop_from, earlier)
        fresh = _walk(flow, answers, stop_from)
        assert [(s.id, a) for s, a in walked.path] == [(s.id, a) for s, a in fresh.path]
        assert (walked.flags, walked.stopped_at) == (fresh.flags, fresh.stopped_at)
        assert walked.on_path == fresh.on_path and walked.read == fresh.read
        return walked

    def noted(
        flow: Flow,
        answers: Mapping[str, Answer],
        stop_from: str | None = None,
        earlier: Walked | None = None,
    ) -> Walked:
        went_on.append(earlier is not None)
        return _walk(flow, answers, stop_from, earlier)

    monkeypatch.setattr(flows.sprint, "walk_on", compared)
    monkeypatch.setattr(flows.path, "_walk", noted)
    yield went_on


NAMES = [n for n in ("tiny", "survivor") if flow_path(n).exists()]


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(step, min_size=1, max_size=60))
def test_going_on_from_an_earlier_walk_gives_the_walk_from_the_start(
    checked_walks: Calls, name: str, moves: list[tuple[str, str]]
) -> None:
    play(name, moves)


def test_a_cooperative_interview_goes_on_from_the_earlier_walk_after_each_answer(
    checked_walks: Calls,
) -> None:
    engine = Engine(load_flows()["survivor"], demo_deployment())
    en = translator("en")
    turn = engine.handle(engine.new_session("x", T0), Inbound(kind="start"), T0, en)
    while turn.session is not None and turn.end is None:
        turn = engine.handle(turn.session, reply_to(turn, "It happened at night"), T0, en)
    assert turn.end == "submitted"
    # The first walk of every turn starts at the start; nearly every second one goes on.
    assert sum(checked_walks) > len(checked_walks) / 3
