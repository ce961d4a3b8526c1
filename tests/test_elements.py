"""The option-level element map and the support computed from answers (flows.elements)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from flows.elements import (
    NOT_SHOWN,
    POSSIBLY,
    SUPPORTED,
    element_map_problems,
    element_support,
    lacking,
)
from flows.loader import load_flows
from flows.shared import SHARED_LISTS
from flows.spec import ELEMENTS
from tests.console_driver import ATTEST

FLOWS = load_flows()
SURVIVOR = FLOWS["survivor"]
DEFINITIONS = Path(__file__).resolve().parents[1] / "flows" / "definitions"


def levels(answers: list[dict[str, Any]]) -> dict[str, str]:
    return {s.element: s.level for s in element_support(SURVIVOR, answers)}


def answered(step: str, value: Any, kind: str = "multiple-choice") -> dict[str, Any]:
    return {"step": step, "status": "answered", "value": value, "kind": kind}


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@pytest.mark.parametrize("list_id", SHARED_LISTS)
def test_every_option_of_every_shared_list_is_mapped_or_mapped_to_nothing(
    flow_id: str, list_id: str
) -> None:
    step = FLOWS[flow_id].step(list_id)
    unmapped = [o.id for o in step.options if o.elements is None]
    assert unmapped == []
    for option in step.options:
        assert set(option.elements or ()) <= set(step.elements)


def test_the_shipped_map_has_no_problems_and_both_flows_map_alike() -> None:
    assert element_map_problems(FLOWS) == []
    for list_id in SHARED_LISTS:
        maps = [
            {o.id: o.elements for o in FLOWS[f].step(list_id).options}
            for f in ("survivor", "documenter")
        ]
        assert maps[0] == maps[1], list_id


def test_the_map_examples_of_the_issue() -> None:
    harms, grounds = SURVIVOR.step("harms"), SURVIVOR.step("grounds")
    assert harms.option("sexual-violence").elements == ("E1", "E4")  # type: ignore[union-attr]
    assert grounds.option("gender-identity").elements == ("E2", "E3")  # type: ignore[union-attr]
    assert harms.option("other").elements == ()  # type: ignore[union-attr]
    # A ground that is not gender shows targeting (E2), never the gender element by itself.
    assert grounds.option("ethnicity").elements == ("E2",)  # type: ignore[union-attr]


def test_support_comes_only_from_answered_choices_through_the_option_map() -> None:
    got = levels([answered("harms", ["sexual-violence"]), answered("grounds", ["gender-identity"])])
    assert [e for e, level in got.items() if level == SUPPORTED] == ["E1", "E2", "E3", "E4"]
    assert {got[e] for e in ("E5", "E6", "E7", "E8")} == {NOT_SHOWN}
    support = {
        s.element: s for s in element_support(SURVIVOR, [answered("harms", ["a", "barred-work"])])
    }
    assert support["E1"].supporting[0].step == "harms"
    assert support["E1"].supporting[0].options == ("barred-work",)
    assert support["E4"].level == NOT_SHOWN  # barred from work alone is no other crime


def test_an_answered_recall_is_possibly_for_its_elements_never_support() -> None:
    got = levels([answered("recall", "They came at night.", "free-text")])
    assert set(got.values()) == {POSSIBLY}
    assert lacking(element_support(SURVIVOR, [answered("recall", "x", "free-text")])) == set(
        ELEMENTS
    )
    # A choice that supports wins over a free text that only may.
    mixed = levels([answered("recall", "x", "free-text"), answered("harms", ["beating-torture"])])
    assert mixed["E1"] == SUPPORTED and mixed["E2"] == POSSIBLY


@pytest.mark.parametrize("status", ["skip", "dont-know", "prefer-not"])
def test_skipped_dont_know_and_prefer_not_support_nothing(status: str) -> None:
    answers = [
        {"step": "harms", "status": status, "value": None, "kind": "multiple-choice"},
        {"step": "recall", "status": status, "value": None, "kind": "free-text"},
        {"step": "grounds", "status": status, "value": None, "kind": "multiple-choice"},
    ]
    assert set(levels(answers).values()) == {NOT_SHOWN}


def test_options_mapped_to_nothing_and_unknown_steps_support_nothing() -> None:
    got = levels(
        [
            answered("perpetrators", ["unknown"]),
            answered("others-affected", "none", "single-choice"),
            answered("rules", ["none"]),
            answered("a-step-an-older-version-had", ["x"]),
        ]
    )
    assert set(got.values()) == {NOT_SHOWN}
    # A free text of an older version keeps the elements it carried: possibly.
    old = [
        {
            "step": "gone",
            "status": "answered",
            "value": "t",
            "kind": "free-text",
            "elements": ["E8"],
        }
    ]
    assert levels(old)["E8"] == POSSIBLY


def test_perpetrators_and_patterns_map_to_who_policy_and_scale() -> None:
    got = levels(
        [
            answered("perpetrators", ["morality-police"]),
            answered("others-affected", "many", "single-choice"),
        ]
    )
    assert got["E6"] == got["E7"] == got["E5"] == SUPPORTED


def _flows_in(tmp_path: Path) -> Path:
    for name in ("survivor", "documenter"):
        (tmp_path / f"{name}.yaml").write_text(
            (DEFINITIONS / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    return tmp_path


def _check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ATTEST, "flows", "check", *sorted(str(p) for p in directory.glob("*.yaml"))],
        capture_output=True,
        text=True,
        check=False,
    )


def test_flows_check_refuses_an_option_left_unmapped(tmp_path: Path) -> None:
    survivor = _flows_in(tmp_path) / "survivor.yaml"
    text = survivor.read_text(encoding="utf-8")
    old = "      - id: barred-work\n        elements: [E1]\n"
    assert old in text
    survivor.write_text(text.replace(old, "      - id: barred-work\n"), encoding="utf-8")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "'barred-work' maps no elements" in result.stderr


def test_flows_check_refuses_an_element_the_step_does_not_name(tmp_path: Path) -> None:
    documenter = _flows_in(tmp_path) / "documenter.yaml"
    text = documenter.read_text(encoding="utf-8")
    old = "      - id: barred-work\n        elements: [E1]\n"
    documenter.write_text(
        text.replace(old, "      - id: barred-work\n        elements: [E1, E8]\n"), encoding="utf-8"
    )
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "names E8, which the step does not" in result.stderr
    assert "harms: the flows map its options to different elements" in result.stderr


def test_flows_check_reports_the_map() -> None:
    result = _check(DEFINITIONS)
    assert result.returncode == 0, result.stderr
    assert "ok  element map" in result.stdout
