"""Inline keyboards for choices, with callback data that cannot be forged or replayed.

Telegram clients can send any callback data they like, so every button carries a MAC:
HMAC-SHA256 over (respondent pseudonym, step, value, nonce), truncated to 80 bits so the
whole payload fits Telegram's 64 bytes. A button made up, or copied from another person's
chat, fails the MAC. A button from an earlier question passes the MAC but names another
step; the dispatcher refuses it against the step being asked now.

The nonce is the one the session keeps for the step (the dispatcher draws it when the step
is first asked, `Outbound.nonce`): a press counts only if its nonce is the one kept for
the step asked now. The person's pseudonym is the same in every session, so without
this a button from before /exit (or from an interview already sent) would pass the MAC
and answer the same question in the next session.

Payload: `VALUE|STEPTAG|NONCE|MAC`, or `#N|STEPTAG|NONCE|MAC` (the option's number) when
the option id is too long to fit. STEPTAG is a short digest of the step id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.notes import DONE_BUTTON
from flows.types import DONE, Outbound, Translator

MAX_DATA_BYTES = 64
MAC_BYTES = 10
SELECTED_MARK = "✓ "


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def step_tag(step: str) -> str:
    """A short, stable digest of a step id (not secret: the MAC protects it)."""
    return _b64(hashlib.sha256(step.encode("utf-8")).digest()[:6])


@dataclass(frozen=True)
class Pressed:
    """A verified button: `value` is an option id, or None with `number` set."""

    step_tag: str
    value: str | None
    number: int | None
    nonce: str = ""

    def is_for(self, step: str) -> bool:
        """Made for a question of `step` (in this session or another)."""
        return step_tag(step) == self.step_tag

    def answers(self, step: str, nonce: str | None) -> bool:
        """An answer to `step` as asked in this session, whose button nonce is `nonce`."""
        return (
            nonce is not None
            and self.is_for(step)
            and hmac.compare_digest(self.nonce.encode(), nonce.encode())
        )


class ButtonSigner:
    """Signs and verifies callback data with a node-held key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the button key must be at least 16 bytes")
        self._key = key

    def _mac(self, respondent: str, tag: str, value: str, nonce: str) -> str:
        message = "\x1f".join((respondent, tag, value, nonce)).encode("utf-8")
        return _b64(hmac.digest(self._key, message, "sha256")[:MAC_BYTES])

    def sign(self, respondent: str, step: str, value: str, number: int, nonce: str) -> str:
        """Callback data for one button (at most 64 bytes)."""
        tag = step_tag(step)
        carried = value
        if len(f"{value}|{tag}|{nonce}|".encode()) + 14 > MAX_DATA_BYTES or "|" in value:
            carried = f"#{number}"
        data = f"{carried}|{tag}|{nonce}|{self._mac(respondent, tag, carried, nonce)}"
        assert len(data.encode("utf-8")) <= MAX_DATA_BYTES
        return data

    def verify(self, respondent: str, data: str) -> Pressed | None:
        """The button if the data was made by us for this respondent, else None."""
        parts = data.split("|")
        if len(parts) != 4:
            return None
        carried, tag, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(respondent, tag, carried, nonce)):
            return None
        if carried.startswith("#"):
            number = carried[1:]
            return Pressed(tag, None, int(number), nonce) if number.isdigit() else None
        return Pressed(tag, carried, None, nonce)


class _Nonces:
    """Nonces for an ask that has none from its session (a reply kept before nonces were
    kept): its buttons are refused and the question asked again, with the session's.

    A seeded generator rather than os.urandom per ask: urandom is a system call, and on
    some machines a slow one, paid for every question asked.
    """

    def __init__(self) -> None:
        self._random = random.Random(secrets.token_bytes(16))

    def next(self) -> str:
        return _b64(self._random.getrandbits(48).to_bytes(6, "big"))


_nonces = _Nonces()


def new_nonce() -> str:
    return _nonces.next()


@dataclass(frozen=True)
class Keyboard:
    """An inline keyboard, one button per row: (label, callback data) pairs.

    Kept as plain data and sent as the Bot API's JSON: building PTB's InlineKeyboardButton
    objects for every question asked costs more than the rest of the keyboard (bench/).
    """

    buttons: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """The `reply_markup` object as the Bot API takes it."""
        rows = [[{"text": label, "callback_data": data}] for label, data in self.buttons]
        return {"inline_keyboard": rows}

    def markup(self) -> InlineKeyboardMarkup:
        """The same keyboard as PTB objects."""
        rows = [[InlineKeyboardButton(label, callback_data=data)] for label, data in self.buttons]
        return InlineKeyboardMarkup(rows)


def keyboard_for(
    message: Outbound, respondent: str, signer: ButtonSigner, translator: Translator
) -> Keyboard | None:
    """The inline keyboard for an ask with choices (None for anything else)."""
    if message.ask is None or not message.choices:
        return None
    nonce = message.nonce or new_nonce()
    buttons = []
    for choice in message.choices:
        label = choice.label
        if message.multi and choice.value in message.selected:
            label = SELECTED_MARK + label
        data = signer.sign(respondent, message.ask, choice.value, choice.n, nonce)
        buttons.append((label, data))
    if message.multi and all(c.value != DONE for c in message.choices):
        done_number = max((c.n for c in message.choices), default=0) + 1
        data = signer.sign(respondent, message.ask, DONE, done_number, nonce)
        buttons.append((translator.gettext(DONE_BUTTON), data))
    return Keyboard(tuple(buttons))
