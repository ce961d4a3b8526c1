"""Issue 14: one region question after `place` when the referral directory has regions.

The closing's services follow the answer; it is stored as the region code (with its
English name as the label), which an anonymised export keeps for counting.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import ConfigError, load_deployment
from flows.deployment import Deployment, Referral, demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.types import Inbound, Turn
from tests.test_survivor_way_in import FLOW, THE_WAY_IN, Chat

REGIONS = replace(
    demo_deployment(),
    regions={"north": {"en": "The north", "fr": "Le nord"}, "south": {"en": "The south"}},
    referrals=(
        *demo_deployment().referrals,
        Referral(name={"en": "Northern Shelter"}, kind="shelter", region="north"),
        Referral(name={"en": "Southern Clinic"}, kind="medical", region="south"),
    ),
)


def to_the_end(deployment: Deployment, region: str | None) -> tuple[Chat, Turn]:
    chat = Chat(engine=Engine(FLOW, deployment, translator))
    chat.start()
    for _ in range(200):
        state = chat.asking
        last = chat.said[-1]
        if state in THE_WAY_IN:
            turn = chat.tap(THE_WAY_IN[state])
        elif state == "region":
            assert region is not None
            turn = chat.tap(region)
        elif state == "more":
            turn = chat.tap("done")
        elif state in ("check-in", "review"):
            turn = chat.tap({"check-in": "continue", "review": "send"}[state])
        elif not last.choices or last.multi:
            turn = chat.send(Inbound(kind="command", command="skip"))
        else:
            turn = chat.tap(last.choices[0].value)
        if turn.end is not None:
            return chat, turn
    raise AssertionError("no end")


def test_the_region_question_offers_the_directorys_regions_after_place() -> None:
    chat = Chat(engine=Engine(FLOW, REGIONS, translator))
    chat.start()
    for _ in range(100):
        if chat.asking == "region":
            break
        last = chat.said[-1]
        if chat.asking in THE_WAY_IN:
            chat.tap(THE_WAY_IN[chat.asking or ""])
        elif chat.asking == "more":
            chat.tap("done")
        elif not last.choices or last.multi:
            chat.send(Inbound(kind="command", command="skip"))
        else:
            chat.tap(last.choices[0].value)
    assert chat.session is not None and "place" in chat.session.answers
    ask = chat.said[-1]
    assert ask.text == "Which of these regions did it happen in, or near?"
    assert [(c.value, c.label) for c in ask.choices] == [
        ("north", "The north"),
        ("south", "The south"),
        ("elsewhere", "Somewhere else"),
        ("prefer-not", "Prefer not to say"),
    ]


def test_the_closing_services_follow_the_region_and_the_answer_is_structured() -> None:
    chat, turn = to_the_end(REGIONS, "north")
    closing = next(m.text for m in chat.said if m.text.startswith("These services can help"))
    assert "Northern Shelter (The north)" in closing
    assert "Southern Clinic" not in closing
    assert "Example Helpline (demo)" in closing  # services for everyone stay
    assert turn.account is not None
    region = next(a for a in turn.account.answers if a.step == "region")
    assert (region.value, region.labels) == ("north", ("The north",))
    assert not region.identifying


@pytest.mark.parametrize("answer", ["elsewhere", "prefer-not"])
def test_somewhere_else_or_prefer_not_shows_every_service(answer: str) -> None:
    chat, _turn = to_the_end(REGIONS, answer)
    closing = next(m.text for m in chat.said if m.text.startswith("These services can help"))
    assert "Northern Shelter" in closing and "Southern Clinic" in closing


def test_without_regions_there_is_no_region_question() -> None:
    chat, turn = to_the_end(demo_deployment(), None)
    assert turn.account is not None
    assert not any(m.ask == "region" for m in chat.said)


def test_regions_are_read_from_the_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "attest.yaml"
    path.write_text(
        "org_name: X\norg_contact: c\nregions: {north: {en: The north, ar: الشمال}}\n"
        "referrals:\n  - {name: A, kind: shelter, region: north}\n"
        "  - {name: B, kind: shelter, region: east}\n",
        encoding="utf-8",
    )
    deployment = load_deployment(path)
    assert deployment.region_codes() == ("north", "east")
    assert deployment.region_name("north", "ar") == "الشمال"
    assert deployment.region_name("east", "ar") == "east"
    path.write_text(
        "org_name: X\norg_contact: c\nreferrals:\n  - {name: A, kind: shelter, region: Elsewhere}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="region 'Elsewhere' must be lower-case"):
        load_deployment(path)
