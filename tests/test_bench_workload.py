"""The logic of bench/telegram.py that is not measurement: answering, recording, areas."""

from __future__ import annotations

import json

from bench.workload import (
    PRESS,
    TEXT,
    Answerer,
    area_of,
    buttons_of,
    fill,
    shape_of,
    spread,
    text_update,
)


def data(value: str) -> str:
    return f"{value}|tag|nonce|mac"


def test_single_choice_takes_the_preferred_option_else_the_first() -> None:
    buttons = [("No", data("no")), ("Yes", data("yes"))]
    assert Answerer(1).next(buttons) == (PRESS, data("yes"))
    assert Answerer(1).next([("A", data("a")), ("B", data("b"))]) == (PRESS, data("a"))
    # "Add more / Done" is a single choice whose preferred answer is Done
    assert Answerer(1).next([("More", data("more")), ("Done", data("done"))]) == (
        PRESS,
        data("done"),
    )


def test_free_text_is_typed_with_a_seeded_length_even_beside_skip_buttons() -> None:
    first = [Answerer(7).next(None) for _ in range(1)]
    assert first == [Answerer(7).next(None)]  # same seed, same answer
    kind, text = Answerer(3).next([("I'd rather not say", data("prefer-not"))])
    assert kind == TEXT and text


def test_multiple_choice_presses_some_options_then_done() -> None:
    options = [(v, data(v)) for v in ("a", "b", "c", "d", "prefer-not")]
    buttons = [*options, ("Done", data("done"))]
    person = Answerer(5)
    presses = []
    while True:
        kind, pressed = person.next(buttons)
        assert kind == PRESS
        presses.append(pressed.split("|")[0])
        if presses[-1] == "done":
            break
    assert 2 <= len(presses) <= 4
    assert set(presses[:-1]) <= {"a", "b", "c", "d"}
    assert len(set(presses)) == len(presses)


def test_a_call_is_shaped_without_ids_and_filled_for_another_chat() -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes|t|n|m"}]]}
    params = {"chat_id": 5, "text": "Are you safe?", "reply_markup": json.dumps(markup)}
    shape = shape_of("sendMessage", params)
    assert "5" not in shape and "yes|t" not in shape
    method, shaped = json.loads(shape)
    assert method == "sendMessage"
    filled = fill((method, shaped), 9, "q1", 3)
    assert filled["chat_id"] == 9 and filled["text"] == "Are you safe?"
    button = filled["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Yes", "callback_data": "d" * len("yes|t|n|m")}
    assert buttons_of(params) == (("Yes", "yes|t|n|m"),)
    answer = fill(
        ("answerCallbackQuery", json.loads(shape_of("x", {"callback_query_id": "q"}))[1]),
        1,
        "q7",
        0,
    )
    assert answer == {"callback_query_id": "q7"}


def test_updates_areas_and_spread() -> None:
    update = text_update(1, 42, 1, "/start")
    assert update["message"]["entities"][0]["type"] == "bot_command"
    assert area_of("/x/site-packages/telegram/_bot.py") == "PTB"
    assert area_of("/work/wt/bot/telegram/channel.py") == "channel and dispatcher"
    assert area_of("/work/wt/storage/crypto/drafts.py") == "crypto"
    assert area_of("/work/wt/storage/intake/rows.py") == "store"
    assert area_of("/work/wt/tests/botapi_spec.py") == "the fake Bot API"
    assert spread([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
