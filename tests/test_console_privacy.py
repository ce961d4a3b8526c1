"""The terminal channel (`attest console --jsonl`, a real process): masked answers, /hide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.console_driver import cooperative, run_console

pytestmark = pytest.mark.slow

SECRETS = {
    "contact-how": "Signal +44 7700 900123, evenings",
    "contact-code-word": "BLUEHERON",
    "names-roles": "Captain Rashidov",
    "rules-who": "Commander Karimov read the decree",
}
SECRET_WORDS = ("7700", "BLUEHERON", "Rashidov", "Karimov")


def test_once_typed_the_code_word_and_contact_details_never_show_again(tmp_path: Path) -> None:
    base = cooperative("Some words.")
    reviews = 0

    def answer(ask: dict[str, Any]) -> str:
        nonlocal reviews
        step = ask["step"]
        if step in SECRETS:
            # Typed once; asked again from the review, the earlier answer is kept.
            return "/skip" if reviews else SECRETS[step]
        if step == "review":
            reviews += 1
            return "2" if reviews == 1 else "1"  # change an answer, then send
        if step == "review-change":
            # Issue 14: the group first, then the answer.
            wanted = ("topic:consent", "contact-code-word")
            return next(str(o["n"]) for o in ask["options"] if o["value"] in wanted)
        return base(ask)

    events, _ = run_console(tmp_path / "data", answer, respondent="masked")
    assert events[-1] == {
        "type": "end",
        "reason": "submitted",
        "reference": events[-1]["reference"],
    }
    first = next(i for i, e in enumerate(events) if e.get("step") == "contact-how")
    later = "\n".join(json.dumps(e, ensure_ascii=False) for e in events[first + 1 :])
    for word in SECRET_WORDS:
        assert word not in later, word
    assert "Set (hidden)" in later
    assert "(You answered this before. What you send now takes its place.)" in later


def test_hide_at_a_terminal_says_what_it_could_not_clear_and_resume_goes_on(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    base = cooperative("They came at night.")

    def hide_at_recall(ask: dict[str, Any]) -> str:
        return "/hide" if ask["step"] == "recall" else base(ask)

    events, _ = run_console(data_dir, hide_at_recall, respondent="hider")
    assert events[-1] == {"type": "end", "reason": "paused"}
    said = [e["text"] for e in events[-3:-1]]
    assert "cannot clear what was shown" in said[0]
    assert "Your answers are kept" in said[1]
    assert not any("cleared" in text for text in said)  # never "cannot clear" and "cleared"

    asked: list[str] = []

    def resume(ask: dict[str, Any]) -> str:
        asked.append(ask["step"])
        return "1" if ask["step"] == "resume" else "/pause"

    events, _ = run_console(data_dir, resume, respondent="hider")
    assert asked == ["resume", "recall"]
    # The terminal ends at a pause: no button to press, and it says what stays on screen.
    assert events[-1] == {"type": "end", "reason": "paused"}
    assert events[-2]["type"] == "message" and "stays on this screen" in events[-2]["text"]
    assert "button" not in events[-2]["text"]
