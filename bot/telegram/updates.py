"""Telegram updates turned into what the channel acts on, at the edge.

`read_update` looks at one `telegram.Update` and says what it is: something for the
engine (`Inbound`), a button to verify, a file to take in, or something the bot refuses
(another kind of chat, an edit, a shared location, a sticker, ...). Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from telegram import Message, Update

from flows.i18n import available_languages
from flows.types import Inbound

COMMANDS = frozenset(
    {"skip", "back", "pause", "resume", "exit", "help", "language", "withdraw", "hide"}
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")

EventKind = Literal[
    "inbound",  # text, a command or /start: goes to the engine
    "button",  # a button press: verify, then to the engine
    "file",  # voice note, photo or document: take in only where the step allows it
    "location",  # refused, not stored
    "unsupported",  # sticker, poll, contact, ...: gentle re-prompt
    "edited",  # edits are not read
    "not-private",  # groups, supergroups, channels: one short note, then leave
    "ignore",  # updates a survivor bot has no business with
]


# Chat member statuses that mean the bot is in the chat (again).
_PRESENT = frozenset({"member", "administrator", "restricted"})


@dataclass(frozen=True)
class IncomingFile:
    """A file a person sent, as Telegram describes it (nothing downloaded yet)."""

    file_id: str
    kind: str  # voice | audio | photo | document | video
    mime: str | None
    size: int | None


@dataclass(frozen=True)
class Event:
    """One update, read."""

    kind: EventKind
    chat_id: int | None = None
    message_id: int | None = None
    inbound: Inbound | None = None
    button_data: str | None = None
    callback_id: str | None = None
    file: IncomingFile | None = None
    language_hint: str | None = None
    chat_type: str | None = None
    joined: bool = False  # the bot was just added to this (group) chat


def language_hint(code: str | None) -> str | None:
    """A language code from a deep-link argument or Telegram's language code ("en-US").

    A shipped catalog's exact code when there is one, else the base language; the engine
    takes it only when the flow offers that language.
    """
    if not code or not _LANGUAGE.match(code):
        return None
    code = code.replace("_", "-").lower()
    shipped = available_languages()
    return code if code in shipped else code.split("-")[0]


def _command(text: str) -> tuple[str, str] | None:
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    word = head.split("@", 1)[0].lower()
    return (word, rest.strip()) if word else None


def _text_inbound(message: Message, hint: str | None) -> Inbound:
    text = message.text or ""
    command = _command(text)
    if command is not None and command[0] == "start":
        argument = command[1]
        return Inbound(
            kind="start",
            text=argument,
            message_id=message.message_id,
            language_hint=language_hint(argument) or hint,
        )
    if command is not None and command[0] in COMMANDS:
        return Inbound(
            kind="command",
            command=command[0],
            text=command[1],
            message_id=message.message_id,
            language_hint=hint,
        )
    # Bare command words ("skip", "exit") and unknown commands are text the engine reads.
    return Inbound(kind="text", text=text, message_id=message.message_id, language_hint=hint)


def _file_of(message: Message) -> IncomingFile | None:
    if message.voice is not None:
        v = message.voice
        return IncomingFile(v.file_id, "voice", v.mime_type, v.file_size)
    if message.audio is not None:
        a = message.audio
        return IncomingFile(a.file_id, "audio", a.mime_type, a.file_size)
    if message.photo:
        p = message.photo[-1]  # the largest size Telegram made
        return IncomingFile(p.file_id, "photo", "image/jpeg", p.file_size)
    if message.document is not None:
        d = message.document
        return IncomingFile(d.file_id, "document", d.mime_type, d.file_size)
    if message.video is not None:
        vd = message.video
        return IncomingFile(vd.file_id, "video", vd.mime_type, vd.file_size)
    return None


def read_update(update: Update) -> Event:
    """What this update is and what it carries."""
    chat = update.effective_chat
    user = update.effective_user
    hint = language_hint(user.language_code) if user else None
    if chat is None:
        return Event("ignore")
    if chat.type != "private":
        member = update.my_chat_member
        joined = member is not None and member.new_chat_member.status in _PRESENT
        return Event("not-private", chat_id=chat.id, chat_type=chat.type, joined=joined)
    if update.edited_message is not None:
        return Event(
            "edited",
            chat_id=chat.id,
            message_id=update.edited_message.message_id,
            language_hint=hint,
        )
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message else None
        return Event(
            "button",
            chat_id=chat.id,
            message_id=message_id,
            button_data=query.data or "",
            callback_id=query.id,
            language_hint=hint,
        )
    message = update.message
    if message is None:
        return Event("ignore", chat_id=chat.id)
    chat_id, message_id = chat.id, message.message_id
    if message.text is not None:
        return Event(
            "inbound",
            inbound=_text_inbound(message, hint),
            chat_id=chat_id,
            message_id=message_id,
            language_hint=hint,
        )
    if message.location is not None or message.venue is not None:
        return Event("location", chat_id=chat_id, message_id=message_id, language_hint=hint)
    incoming = _file_of(message)
    if incoming is not None:
        return Event(
            "file", file=incoming, chat_id=chat_id, message_id=message_id, language_hint=hint
        )
    return Event("unsupported", chat_id=chat_id, message_id=message_id, language_hint=hint)
