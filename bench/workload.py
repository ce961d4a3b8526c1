"""The logic behind bench/telegram.py, apart from the measuring: who answers what, how a
Bot API call is recorded for replay, and which area of the code a profiled function is in.

Kept out of bench/telegram.py so that tests/test_bench_workload.py can check it without
running a benchmark.
"""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Sequence
from typing import Any

# The answer a cooperative adult survivor gives at each choice, by option value: the same
# as the console tests' cooperative person.
from tests.console_driver import PREFERRED

SKIPS = frozenset({"dont-know", "prefer-not"})  # buttons beside a question answered by typing
DONE = "done"
# A keyboard with Done and at least this many other options is a multiple choice (toggles,
# then Done); "Add more / Done" is a single choice
MULTI_AT_LEAST = 3
TEXT_LENGTHS = (12, 40, 120, 400)  # characters typed into a free-text question, seeded
SENTENCE = (
    "It happened in the spring, near the market, when they came to the house and took "
    "my sister and me to the station; we were held there for some days. "
)

# Update kinds in a trace
START, TEXT, PRESS = 0, 1, 2

Buttons = Sequence[tuple[str, str]]  # (label, callback data) of the newest keyboard


def value_of(data: str) -> str:
    """The option a button carries (`VALUE|STEPTAG|NONCE|MAC`; `#N` when it did not fit)."""
    return data.split("|", 1)[0]


class Answerer:
    """One person answering every question in order, cooperatively, with a seeded mix:
    free texts of seeded length, one to three seeded options of each multiple choice
    (pressed one by one, then Done), the preferred option of a single choice."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._plan: list[str] | None = None

    def next(self, buttons: Buttons | None) -> tuple[int, str]:
        """(TEXT, what to type) or (PRESS, the callback data of the button to press)."""
        values = [value_of(data) for _, data in buttons or ()]
        if not values or all(v in SKIPS for v in values):
            self._plan = None
            length = self._random.choice(TEXT_LENGTHS)
            return TEXT, (SENTENCE * (length // len(SENTENCE) + 1))[:length].strip()
        options = [v for v in values if v not in SKIPS and v != DONE]
        if DONE in values and len(options) >= MULTI_AT_LEAST:
            if self._plan is None:
                picks = self._random.randint(1, min(3, len(options))) if options else 0
                self._plan = [*self._random.sample(options, picks), DONE]
            wanted = self._plan.pop(0)
            if not self._plan:
                self._plan = None
            return PRESS, buttons[values.index(wanted)][1] if wanted in values else ""
        self._plan = None
        for wanted in PREFERRED:
            if wanted in values:
                return PRESS, buttons[values.index(wanted)][1]  # type: ignore[index]
        return PRESS, buttons[0][1]  # type: ignore[index]


# ------------------------------------------------------------------ recording calls

CHAT, QUERY, MESSAGE = "<chat>", "<query>", "<message>"
_PLACEHOLDERS = {"chat_id": CHAT, "callback_query_id": QUERY, "message_id": MESSAGE}


def markup_of(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup if isinstance(markup, dict) else None


def buttons_of(params: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    markup = markup_of(params)
    if markup is None:
        return None
    return tuple(
        (b.get("text", ""), b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    )


def shape_of(method: str, params: dict[str, Any]) -> str:
    """A call as replayable text: the same method, text and keyboard labels; ids left as
    placeholders; each button's callback data replaced by as many bytes of filler."""
    shaped: dict[str, Any] = {}
    for key, value in params.items():
        if key in _PLACEHOLDERS:
            shaped[key] = _PLACEHOLDERS[key]
        elif key == "reply_markup":
            markup = markup_of(params) or {}
            shaped[key] = {
                "inline_keyboard": [
                    [
                        {
                            **b,
                            "callback_data": "d" * len(b.get("callback_data", "").encode()),
                        }
                        for b in row
                    ]
                    for row in markup.get("inline_keyboard", [])
                ]
            }
        else:
            shaped[key] = value
    return json.dumps([method, shaped], sort_keys=True, ensure_ascii=False)


def fill(shape: tuple[str, dict[str, Any]], chat: int, query: str, message: int) -> dict[str, Any]:
    """The parameters of a recorded call, for another chat (a fresh dict each time)."""
    values = {CHAT: chat, QUERY: query, MESSAGE: message}
    return {k: values.get(v, v) if isinstance(v, str) else v for k, v in shape[1].items()}


def text_update(update_id: int, chat: int, message_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": 1_764_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "P"},
        "from": {"id": chat, "is_bot": False, "first_name": "P"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


def press_update(update_id: int, chat: int, message_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "P"},
            "chat_instance": str(chat),
            "message": {
                "message_id": message_id,
                "date": 1_764_000_000,
                "chat": {"id": chat, "type": "private", "first_name": "P"},
            },
            "data": data,
        },
    }


# ------------------------------------------------------------------ summaries

AREAS = (
    ("/tests/", "the fake Bot API"),
    ("/bench/", "the bench itself"),
    ("/storage/crypto/", "crypto"),
    ("/cryptography/", "crypto"),
    ("/flows/", "engine"),
    ("/transitions/", "engine"),
    ("/storage/", "store"),
    ("/sqlalchemy/", "store"),
    ("/sqlite3/", "store"),
    ("/bot/", "channel and dispatcher"),
    ("/telegram/", "PTB"),
    ("/json/", "JSON"),
    ("/asyncio/", "asyncio"),
    ("/babel/", "i18n"),
    ("gettext", "i18n"),
)


def area_of(path: str) -> str:
    """The part of the system a source file belongs to (profile summaries)."""
    path = path.replace("\\", "/")
    for marker, area in AREAS:
        if marker in path:
            return area
    return "other"


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)
