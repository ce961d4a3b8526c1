"""A real PTB Application, the real dispatcher and engine, a fake Telegram: for channel tests.

`Harness` plays the person: it makes updates with the fake Bot API (so message ids are
the chat's real sequence), runs them through `Application.process_update`, and reads
what the person would now see in the chat.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from telegram import Update

from bot.dispatcher import Dispatcher
from bot.telegram.app import build_application
from bot.telegram.channel import ChannelOptions, TelegramChannel
from bot.telegram.keyboards import ButtonSigner
from bot.telegram.media import MediaPolicy
from bot.telegram.sender import RetryPolicy
from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.loader import load_flow, load_flows
from storage.crypto import NodeKeys
from storage.intake.memory import MemoryIntakeStore
from tests.fakebotapi import TOKEN, FakeBotAPI, FakeRequest

MEDIA_FLOW = Path(__file__).with_name("flows") / "telegram-media.yaml"
CHAT = 4242


def make_dispatcher(store: Any, node: NodeKeys) -> Dispatcher:
    """The production dispatcher over the shipped flows and the media test flow."""
    deployment = demo_deployment()
    engines = {name: Engine(flow, deployment) for name, flow in load_flows().items()}
    media = load_flow(MEDIA_FLOW)
    engines[media.id] = Engine(media, deployment)
    return Dispatcher(
        engines=engines, default_flow="survivor", store=store, pseudonym=node.pseudonym
    )


def button_key(node: NodeKeys) -> bytes:
    return bytes.fromhex(node.pseudonym("attest-telegram-buttons", "v1"))


@dataclass
class Harness:
    api: FakeBotAPI
    app: Any
    channel: TelegramChannel
    dispatcher: Dispatcher
    store: Any

    async def deliver(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def say(self, text: str, chat: int = CHAT, **kw: Any) -> list[str]:
        """The person sends `text`; returns what the bot said back."""
        before = len(self.api.messages.get(chat, {}))
        await self.deliver(self.api.text(chat, text, **kw))
        return self.new_texts(chat, before)

    def new_texts(self, chat: int, before: int) -> list[str]:
        ids = sorted(self.api.messages.get(chat, {}))[before:]
        return [
            m.text or ""
            for i in ids
            if (m := self.api.messages[chat][i]).from_bot and not m.deleted
        ]

    def last_keyboard(self, chat: int = CHAT) -> tuple[int, list[tuple[str, str]]]:
        """(message id, buttons) of the newest bot message that has buttons."""
        for m in reversed(self.api.visible(chat)):
            if m.from_bot and m.reply_markup:
                return m.message_id, self.api.button_data(chat, m.message_id)
        raise AssertionError("no message with buttons")

    async def press(self, label: str, chat: int = CHAT) -> list[str]:
        """The person presses the button whose label contains `label` on the newest keyboard."""
        message_id, buttons = self.last_keyboard(chat)
        data = next((d for text, d in buttons if label.lower() in text.lower()), None)
        assert data is not None, f"no button {label!r} in {[t for t, _ in buttons]}"
        before = len(self.api.messages.get(chat, {}))
        await self.deliver(self.api.press(chat, message_id, data))
        return self.new_texts(chat, before)

    async def state(self, chat: int = CHAT) -> str | None:
        session = await self.store.load_session(self.dispatcher.respondent("telegram", chat))
        return None if session is None else session.state

    async def answers(self, chat: int = CHAT) -> dict[str, Any]:
        session = await self.store.load_session(self.dispatcher.respondent("telegram", chat))
        return {} if session is None else dict(session.answers)


def clock() -> datetime:
    return datetime.now(UTC)


async def open_harness(
    *,
    store: Any = None,
    flow: str | None = None,
    max_bytes: int = 1024 * 1024,
    api: FakeBotAPI | None = None,
    node: NodeKeys | None = None,
    local_dir: Path | None = None,
) -> Harness:
    """`store`, `api` and `node` shared by two harnesses are one node restarted."""
    node = node or NodeKeys.generate()
    store = store or MemoryIntakeStore(node)
    dispatcher = make_dispatcher(store, node)
    api = api or FakeBotAPI()

    def open_url(url: str) -> BinaryIO:
        return io.BytesIO(api.file_bytes(url.split("/file/bot", 1)[1].split("/", 1)[1]))

    options = ChannelOptions(
        media=MediaPolicy(max_bytes=max_bytes, open_url=open_url, local_dir=local_dir),
        retry=RetryPolicy(attempts=4, first_backoff=0.01),
        flow=flow,
    )
    channel = TelegramChannel(dispatcher, ButtonSigner(button_key(node)), options, clock)
    request = FakeRequest(api)
    app = build_application(TOKEN, channel, request=request, rate_limit=False)
    await app.initialize()
    return Harness(api, app, channel, dispatcher, store)


PREFERRED = ("Send my account", "Done", "Go on", "It happened to me", "18 or older")
TYPED_KINDS = ("free-text", "approximate-date", "place")


async def autopilot(h: Harness, chat: int = CHAT, limit: int = 200) -> list[str]:
    """Answer every question until the interview ends: buttons where offered, else text.

    Returns the states passed through. Multiple choice: the first option, then Done.
    """
    engine = h.dispatcher._engines["survivor"]
    passed: list[str] = []
    for _ in range(limit):
        state = await h.state(chat)
        if state is None:
            return passed
        passed.append(state)
        step = engine.flow.step(state) if engine.flow.has_step(state) else None
        if step is not None and step.kind in TYPED_KINDS:
            await h.say(f"My answer to {state}.", chat)
            continue
        _, buttons = h.last_keyboard(chat)
        labels = [text for text, _ in buttons]
        if step is not None and step.kind == "multiple-choice":
            await h.press(labels[0], chat)
            await h.press("Done", chat)
            continue
        pick = next((p for p in PREFERRED if any(p in label for label in labels)), labels[0])
        await h.press(pick, chat)
    raise AssertionError(f"the interview did not end: {passed[-5:]}")
