"""Answers per second through python-telegram-bot, durable and encrypted, against baselines.

    .venv/bin/python bench/telegram.py                      # 1,000 / 10,000 / 100,000 people
    .venv/bin/python bench/telegram.py --people 1000 --pickle-people 200   # a quick look

Every figure comes from the same run on the same machine, through the real PTB
`Application` (updates put on its update queue, handlers run by PTB) and the in-process
fake Bot API (tests/fakebotapi.py), with the rate limiter off (it would cap everything at
Telegram's 30 messages/s and measure nothing else):

- attest: the Telegram channel, the dispatcher, the engine and the SQLite intake store
  (WAL, synchronous=FULL, AES-GCM drafts, group commit). N people start an interview,
  then answer `--answers` questions each, all N concurrently; the rate counts answers.
- bare echo: one MessageHandler and one CallbackQueryHandler that only reply to a text
  message (one Bot API call). The ceiling for any PTB bot.
- bare button echo: a handler that answers a button press as any bot asking by buttons
  must (answerCallbackQuery, then sendMessage with a keyboard; two calls) and keeps
  nothing. Not asked for by issue #4; printed so the ratio can be read for what it is.
- pickle recipe: ConversationHandler + PicklePersistence with the file written after
  every answer (the common way to make a PTB conversation survive a restart).

Every variant runs with the garbage-collector setting `attest run` uses
(bot/runtime.py). Resident memory growth per 10,000 unfinished interviews: RSS after the
second half of the people minus after the first half, scaled (so first-time warm-up is
left out), also net of the bare echo's growth (what the fake Telegram and PTB keep per
chat; the fake keeps attest's messages with their keyboards, so "net" still holds some
of the fake's share). Each figure comes from its own process. The last line of output is
one JSON object.

Measured 2026-11-27 on this project's machine kind (2 cores, shared; nothing else running),
2 answers each (the language button, then "Yes" at the safety check):

| people | attest answers/s | bare echo /s | bare button echo /s | vs echo | vs button echo | RSS per 10,000 unfinished |
| --- | --- | --- | --- | --- | --- | --- |
| 1,000 | 1,709 | 9,556 | 5,173 | 0.179 | 0.330 | 25.4 MB (20.7 net) |
| 10,000 | 1,630 | 8,784 | 5,075 | 0.186 | 0.321 | 32.5 MB (28.5 net) |
| 100,000 | 1,528 | 9,038 | 5,076 | 0.169 | 0.301 | 28.4 MB (22.8 net) |

Pickle recipe at 2,000 people: 113 answers/s, so attest at 100,000 is **13.6 times** it
(target 10: met; an earlier run the same day gave 11.2). Against the bare echo attest is
at **0.169** (target 0.4: missed). Rates vary by up to 1.5x between runs on this shared
machine (the bare echo at 1,000 people gave 5,878/s in one run and 9,556/s in another);
compare ratios within one run.

Why 0.4 of the bare echo is out of reach here: over these two answers attest makes
4.0 Bot API calls per answer (the language choice is followed by four short safety
messages and the next question; then one question), each through PTB's request path and
the fake Telegram's validation, against the echo's one call per update. Even the bare
button echo, which stores nothing, runs at 0.56 of the bare echo. What is left of a turn
is the engine (~13% of the event loop's time), the store's read and two writes on their
threads (~20% of the GIL's time; the event loop has the rest), and asyncio. With
`--answers 6` (more typical turns: 2.8 calls per answer) attest is at about 0.33 of the
button echo.

History (answers/s at 100,000 people, ratio to the bare echo of the same run):
2026-11-23 0.048; 2026-11-27 morning 471/s, 0.095 (pickle 7.6x); then, each measured
A/B at 3,000-30,000 people: the turn's six statements run on the driver's cursor
(storage/intake/hot.py, +15%), answerCallbackQuery as raw JSON and the fake Telegram's lookups
read once (about +17% more), the garbage collector tuned (+65% for attest, +15% for the
echo: with Python's defaults its passes over the benchmark's large heap took ~40% of a
turn), PTB's Application no longer keeping every chat id seen. Earlier changes (raw JSON
replies, one read per turn, batched reads, pooled state machine) are described in the
git log of this file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, and this file's name would
# hide the real `telegram` package: put the repository there instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

from bot.runtime import tune_garbage_collector  # noqa: E402
from tests.fakebotapi import TOKEN, FakeBotAPI, FakeRequest  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def drain(app: Application[Any, Any, Any, Any, Any, Any], updates: list[Update]) -> float:
    """Put updates on PTB's queue and wait until PTB has handled them all; seconds taken."""
    done = asyncio.Event()
    remaining = len(updates)

    async def count(update: object, context: Any) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()

    from telegram.ext import TypeHandler

    counter = TypeHandler(Update, count)
    app.add_handler(counter, group=99)  # runs after the real handler of each update
    start = time.perf_counter()
    for update in updates:
        await app.update_queue.put(update)
    await done.wait()
    elapsed = time.perf_counter() - start
    app.remove_handler(counter, group=99)
    return elapsed


def presses(api: FakeBotAPI, chats: range, label_index: int, bot: Any) -> list[Update]:
    """Each person presses a button of the newest keyboard in their chat."""
    updates = []
    for chat in chats:
        for m in reversed(api.messages[chat].values()):
            if m.from_bot and m.reply_markup:
                data = api.button_data(chat, m.message_id)[label_index][1]
                updates.append(Update.de_json(api.press(chat, m.message_id, data), bot))
                break
    return updates


async def run_attest(people: int, answers: int, workdir: Path) -> dict[str, float]:
    from bot.dispatcher import Dispatcher
    from bot.telegram.app import build_application
    from bot.telegram.channel import TelegramChannel
    from bot.telegram.keyboards import ButtonSigner
    from flows.deployment import demo_deployment
    from flows.engine import Engine
    from flows.loader import load_flows
    from storage.crypto import NodeKeys, generate_reviewer_key
    from storage.intake.store import open_intake_store

    node = NodeKeys.generate()
    store = await open_intake_store(
        None, node, [generate_reviewer_key("x25519").public], data_dir=workdir
    )
    engines = {n: Engine(f, demo_deployment()) for n, f in load_flows().items()}
    dispatcher = Dispatcher(
        engines=engines, default_flow="survivor", store=store, pseudonym=node.pseudonym
    )
    signer = ButtonSigner(bytes.fromhex(node.pseudonym("attest-telegram-buttons", "v1")))
    channel = TelegramChannel(dispatcher, signer)
    api = FakeBotAPI(record_calls=False, keep_history=False)
    app = build_application(TOKEN, channel, request=FakeRequest(api), rate_limit=False)
    chats = range(1_000_000, 1_000_000 + people)
    half = people // 2
    start_seconds = answer_seconds = 0.0
    answer_calls = 0
    rss: list[float] = []
    async with app:
        await app.start()
        tune_garbage_collector()  # as `attest run` does, in every variant
        # Two halves, memory read after each: the growth over the second half is what
        # more unfinished interviews cost, without the first-time warm-up of caches.
        for group in (chats[:half], chats[half:]):
            starts = [Update.de_json(api.text(c, "/start"), app.bot) for c in group]
            start_seconds += await drain(app, starts)
            del starts
            # English, then "Yes" (safe), then "It happened to me", ...: the first button.
            for _ in range(answers):
                round_ = presses(api, group, 0, app.bot)
                calls_before = api.call_count
                answer_seconds += await drain(app, round_)
                answer_calls += api.call_count - calls_before
                del round_  # the benchmark's own Update objects are not the bot's memory
            gc.collect()
            rss.append(rss_mb())
        await app.stop()
    batches, jobs = store.commit_stats
    await store.close()
    return {
        "starts_per_s": people / start_seconds,
        "answers_per_s": people * answers / answer_seconds,
        "rss_growth_mb_per_10000_unfinished": (rss[1] - rss[0]) * 10_000 / (people - half),
        "turns_per_commit": jobs / max(batches, 1),
        "bot_api_calls_per_answer": answer_calls / (people * answers),
    }


def bare_application() -> tuple[FakeBotAPI, Application[Any, Any, Any, Any, Any, Any]]:
    """A plain PTB Application on the fake Telegram, updates handled concurrently."""
    api = FakeBotAPI(record_calls=False, keep_history=False)
    app = (
        Application.builder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .concurrent_updates(256)
        .build()
    )
    return api, app


async def run_bare_echo(people: int, answers: int) -> tuple[float, float]:
    """Updates per second, and RSS growth per 10,000 people (the harness's own share)."""
    api, app = bare_application()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "ok")

    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(echo))
    chats = range(2_000_000, 2_000_000 + people)
    half = people // 2
    seconds = 0.0
    rss: list[float] = []
    async with app:
        await app.start()
        tune_garbage_collector()  # as `attest run` does, in every variant
        for group in (chats[:half], chats[half:]):
            for _ in range(answers):
                updates = [Update.de_json(api.text(c, "an answer"), app.bot) for c in group]
                seconds += await drain(app, updates)
                del updates
            gc.collect()
            rss.append(rss_mb())
        await app.stop()
    return people * answers / seconds, (rss[1] - rss[0]) * 10_000 / (people - half)


async def run_button_echo(people: int, answers: int) -> float:
    """Button presses per second for a PTB handler that only does what any bot asking by
    buttons must: answer the press (answerCallbackQuery) and send the next question with
    its keyboard (sendMessage). No state, nothing stored: the ceiling for such a bot."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    api, app = bare_application()
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=label)] for label in ("Yes", "No", "Skip")]
    )

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "The next question?", reply_markup=keyboard
        )

    app.add_handler(MessageHandler(filters.ALL, ask))
    app.add_handler(CallbackQueryHandler(ask))
    chats = range(4_000_000, 4_000_000 + people)
    seconds = 0.0
    async with app:
        await app.start()
        tune_garbage_collector()  # as `attest run` does, in every variant
        await drain(app, [Update.de_json(api.text(c, "/start"), app.bot) for c in chats])
        for _ in range(answers):
            seconds += await drain(app, presses(api, chats, 0, app.bot))
        await app.stop()
    return people * answers / seconds


async def run_pickle_recipe(people: int, answers: int, workdir: Path) -> float:
    api = FakeBotAPI(record_calls=False, keep_history=False)
    persistence = PicklePersistence(workdir / "conversations.pickle", on_flush=False)
    app = (
        Application.builder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .persistence(persistence)
        .build()
    )

    def state(n: int) -> Callable[[Update, Any], Awaitable[int]]:
        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None
            context.user_data[f"q{n}"] = update.message.text  # type: ignore[index]
            await update.message.reply_text(f"question {n + 1}")
            await context.application.update_persistence()  # durable after every answer
            return n + 1

        return answer

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        await update.message.reply_text("question 1")
        await context.application.update_persistence()
        return 0

    conversation = ConversationHandler(
        entry_points=[MessageHandler(filters.Regex("^/start$"), start)],
        states={n: [MessageHandler(filters.TEXT, state(n))] for n in range(answers + 1)},
        fallbacks=[],
        name="interview",
        persistent=True,
    )
    app.add_handler(conversation)
    chats = range(3_000_000, 3_000_000 + people)
    async with app:
        await app.start()
        tune_garbage_collector()  # as `attest run` does, in every variant
        await drain(app, [Update.de_json(api.text(c, "/start"), app.bot) for c in chats])
        seconds = 0.0
        for _ in range(answers):
            updates = [Update.de_json(api.text(c, "an answer"), app.bot) for c in chats]
            seconds += await drain(app, updates)
        await app.stop()
    return people * answers / seconds


async def measure(variant: str, people: int, answers: int) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    with tempfile.TemporaryDirectory(prefix="attest-bench-") as tmp:
        if variant == "attest":
            return await run_attest(people, answers, Path(tmp))
        if variant == "echo":
            rate, rss = await run_bare_echo(people, answers)
            return {"updates_per_s": rate, "rss_growth_mb_per_10000": rss}
        if variant == "buttons":
            return {"presses_per_s": await run_button_echo(people, answers)}
        return {"answers_per_s": await run_pickle_recipe(people, answers, Path(tmp))}


def in_subprocess(variant: str, people: int, answers: int) -> dict[str, float]:
    """Each figure from its own process, so that memory one run freed cannot hide another's."""
    command = [sys.executable, __file__, "--one", variant, "--people", str(people)]
    done = subprocess.run(
        [*command, "--answers", str(answers)], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", default="1000,10000,100000")
    parser.add_argument("--answers", type=int, default=2)
    parser.add_argument("--pickle-people", type=int, default=2000)
    parser.add_argument(
        "--one", choices=("attest", "echo", "buttons", "pickle"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        figures = asyncio.run(measure(args.one, int(args.people), args.answers))
        print(json.dumps(figures))
        return
    sizes = [int(n) for n in args.people.split(",")]
    result: dict[str, Any] = {"answers_per_person": args.answers, "rate_limiter": "off"}
    for people in sizes:
        figures = in_subprocess("attest", people, args.answers)
        for key, value in figures.items():
            result[f"attest_{key}_{people}_people"] = round(value, 2)
        echo = in_subprocess("echo", people, args.answers)
        rate = echo["updates_per_s"]
        result[f"bare_echo_updates_per_s_{people}_people"] = round(rate, 1)
        # The fake Telegram and PTB keep something per chat in both runs; what attest
        # itself keeps per unfinished interview is the difference.
        net = figures["rss_growth_mb_per_10000_unfinished"] - echo["rss_growth_mb_per_10000"]
        result[f"attest_rss_growth_mb_per_10000_unfinished_net_{people}_people"] = round(net, 2)
        result[f"ratio_vs_bare_echo_{people}_people"] = round(figures["answers_per_s"] / rate, 3)
        presses = in_subprocess("buttons", people, args.answers)["presses_per_s"]
        result[f"bare_button_echo_presses_per_s_{people}_people"] = round(presses, 1)
        result[f"ratio_vs_bare_button_echo_{people}_people"] = round(
            figures["answers_per_s"] / presses, 3
        )
        print(
            f"{people:>7} people: attest {figures['answers_per_s']:8.0f} answers/s, "
            f"bare echo {rate:8.0f}/s, bare button echo {presses:8.0f}/s, RSS +"
            f"{figures['rss_growth_mb_per_10000_unfinished']:.1f} MB per 10,000 unfinished "
            f"({net:.1f} MB net of the harness)",
            flush=True,
        )
    pickle = in_subprocess("pickle", args.pickle_people, args.answers)["answers_per_s"]
    largest = max(sizes)
    attest_largest = result[f"attest_answers_per_s_{largest}_people"]
    result[f"pickle_recipe_answers_per_s_{args.pickle_people}_people"] = round(pickle, 1)
    result["ratio_vs_bare_echo"] = result[f"ratio_vs_bare_echo_{largest}_people"]
    result["ratio_vs_bare_button_echo"] = result[f"ratio_vs_bare_button_echo_{largest}_people"]
    result["ratio_vs_pickle_recipe"] = round(attest_largest / pickle, 2)
    result["target_ratio_vs_bare_echo"] = 0.4
    result["target_ratio_vs_pickle_recipe"] = 10
    print(f"pickle recipe at {args.pickle_people} people: {pickle:.0f} answers/s", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
