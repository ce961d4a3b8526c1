"""An in-process fake Telegram Bot API that answers and refuses like the real one.

`FakeBotAPI` holds what Telegram would: chats and their messages (one id sequence per
chat, shared by the person's and the bot's messages, as in private chats), files,
pending updates and a record of every call. `FakeRequest` plugs it into
python-telegram-bot as a `telegram.request.BaseRequest`, so the real `Bot` and
`Application` run against it without a network. `tests/fake_bot_server.py` serves the
same object over HTTP.

Every call is checked against the published API description
(`/work/shared/reference/telegram-bot-api.json`): an unknown method, a missing required
field, a value of the wrong type, text outside 1-4096 characters, callback data outside
1-64 bytes and deleteMessages with other than 1-100 ids are errors, answered with the
status code and JSON body Telegram uses. Tests can inject an error or a RetryAfter for
the next calls of a method, queue updates for getUpdates, and move the fake's clock.

The checks themselves live in `tests/botapi_spec.py`. This file stays whole (a little
over 500 lines) because the state and the builders of incoming updates describe one fake
Telegram and are read together.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, RequestData

from tests.botapi_spec import ApiError, bad_request, buttons_of, spec, validate

BOT_ID = 7000000001
TOKEN = f"{BOT_ID}:AAFakeTokenForTestsOnly_abcdefghijk"
PUBLIC_FILE_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files on the public gateway
DELETE_WINDOW = 48 * 3600  # a bot may delete messages for 48 hours


# ---------------------------------------------------------------------------- state


@dataclass
class Call:
    """One request the bot made, as the fake saw it."""

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None = None


@dataclass
class StoredMessage:
    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    reply_markup: dict[str, Any] | None = None
    protect_content: bool = False
    deleted: bool = False


@dataclass
class _Fault:
    error: ApiError
    times: int


@dataclass
class FakeBotAPI:
    """A fake Telegram: chats, messages, files, updates, and every call recorded."""

    token: str = TOKEN
    file_limit: int = PUBLIC_FILE_LIMIT
    clock_offset: float = 0.0
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[int, StoredMessage]] = field(default_factory=dict)
    left_chats: set[int] = field(default_factory=set)
    local_dir: Path | None = None  # set: like a self-hosted server in --local mode
    # file_id -> the file_path getFile answers with, verbatim (a hostile or broken server)
    file_paths: dict[str, str] = field(default_factory=dict)
    record_calls: bool = True  # False: keep no call log (long benchmarks)
    keep_history: bool = True  # False: per chat keep only the newest message and keyboard
    # False: keep no message at all (benchmarks): ids come from one sequence, edits of any
    # id are taken, and the memory a chat costs is the bot's alone
    keep_messages: bool = True
    # Called with (method, params, result) after each call answered (benchmarks record
    # the calls a bot made per update this way without keeping a log here)
    on_call: Callable[[str, dict[str, Any], Any], None] | None = None
    webhook_url: str = ""
    webhook_secret: str | None = None
    call_count: int = 0  # every call answered or refused, recorded or not
    polls_started: int = 0  # getUpdates calls received (recorded only once they return)
    closing: bool = False  # set when the server stops: long polls return at once
    _files: dict[str, bytes] = field(default_factory=dict)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- clock and injection

    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (e.g. past the 48-hour deletion window)."""
        self.clock_offset += seconds

    def fail(
        self,
        method: str,
        *,
        code: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (429 + retry_after for RetryAfter)."""
        if retry_after is not None:
            code, description = 429, f"Too Many Requests: retry after {retry_after}"
        with self._lock:
            self._faults.setdefault(method, []).append(
                _Fault(ApiError(code, description, retry_after), times)
            )

    # -- answering calls

    def call(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        """Validate and answer one call; raise ApiError as Telegram would refuse it."""
        with self._lock:
            self.call_count += 1
            try:
                canonical = validate(method, params, files)
                self._injected(canonical)
                result = self._answer(canonical, params)
            except ApiError as exc:
                self.calls.append(Call(method, params, ok=False, error=exc.description))
                raise
            if self.record_calls:
                self.calls.append(Call(canonical, params, ok=True))
            if self.on_call is not None:
                self.on_call(canonical, params, result)
            return result

    def _injected(self, method: str) -> None:
        faults = self._faults.get(method)
        if not faults:
            return
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        raise fault.error

    def _answer(self, method: str, p: dict[str, Any]) -> Any:
        handler = getattr(self, f"_on_{method}", None)
        if handler is not None:
            return handler(p)
        returns = spec()["methods"][method].get("returns", [])
        if returns == ["Boolean"]:
            return True
        raise ApiError(501, f"Not Implemented: the fake does not answer {method}")

    def _chat_id(self, p: dict[str, Any]) -> int:
        try:
            chat_id = int(p["chat_id"])
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id in self.left_chats:
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        return chat_id

    def _new_message(self, chat_id: int, from_bot: bool, **kw: Any) -> StoredMessage:
        if not self.keep_messages:
            return StoredMessage(next(self._message_ids), chat_id, from_bot, self.now(), **kw)
        chat = self.messages.setdefault(chat_id, {})
        message_id = max(chat, default=0) + 1
        message = StoredMessage(message_id, chat_id, from_bot, self.now(), **kw)
        chat[message_id] = message
        if not self.keep_history:
            self._forget_old(chat)
        return message

    @staticmethod
    def _forget_old(chat: dict[int, StoredMessage]) -> None:
        newest = max(chat)
        keyboard = max((i for i, m in chat.items() if m.reply_markup), default=newest)
        for message_id in [i for i in chat if i not in (newest, keyboard)]:
            del chat[message_id]

    def _message_json(self, m: StoredMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "date": m.date,
            "chat": _chat_json(m.chat_id),
            "from": self._bot_user() if m.from_bot else _user_json(m.chat_id),
        }
        if m.text is not None:
            out["text"] = m.text
        if m.reply_markup:
            out["reply_markup"] = m.reply_markup
        if m.protect_content:
            out["has_protected_content"] = True
        return out

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Attest", "username": "attest_bot"}

    def _on_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": False, "supports_inline_queries": False}

    def _on_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(p)
        m = self._new_message(
            chat_id,
            True,
            text=p["text"],
            reply_markup=p.get("reply_markup"),
            protect_content=bool(p.get("protect_content")),
        )
        return self._message_json(m)

    def _existing(self, p: dict[str, Any]) -> StoredMessage:
        if not self.keep_messages:  # nothing kept: any id the bot names is taken as its own
            return StoredMessage(int(p.get("message_id", 0)), self._chat_id(p), True, self.now())
        m = self.messages.get(self._chat_id(p), {}).get(int(p.get("message_id", 0)))
        if m is None or m.deleted:
            raise bad_request("message to edit not found")
        if not m.from_bot:
            raise bad_request("message can't be edited")
        return m

    def _on_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._existing(p)
        if m.text == p["text"] and m.reply_markup == p.get("reply_markup"):
            raise bad_request("message is not modified")
        m.text, m.reply_markup = p["text"], p.get("reply_markup")
        return self._message_json(m)

    def _on_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._existing(p)
        m.reply_markup = p.get("reply_markup")
        return self._message_json(m)

    def _on_deleteMessages(self, p: dict[str, Any]) -> bool:
        chat = self.messages.get(self._chat_id(p), {})
        for message_id in p["message_ids"]:
            m = chat.get(message_id)
            # Too old or already gone: skipped, as Telegram does.
            if m is not None and not m.deleted and self.now() - m.date < DELETE_WINDOW:
                m.deleted = True
        return True

    def _on_deleteMessage(self, p: dict[str, Any]) -> bool:
        m = self.messages.get(self._chat_id(p), {}).get(int(p["message_id"]))
        if m is None or m.deleted or self.now() - m.date >= DELETE_WINDOW:
            raise bad_request("message can't be deleted")
        m.deleted = True
        return True

    def _on_leaveChat(self, p: dict[str, Any]) -> bool:
        self.left_chats.add(self._chat_id(p))
        return True

    def _on_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        data = self._files.get(p["file_id"])
        if data is None:
            raise bad_request("invalid file_id")
        if len(data) > self.file_limit:
            raise bad_request("file is too big")
        path = f"voice/{p['file_id']}.oga"
        if p["file_id"] in self.file_paths:
            path = self.file_paths[p["file_id"]]
        elif self.local_dir is not None:
            # A local server answers with the absolute path of its own copy on disk, in a
            # directory named after the bot's token below its working directory.
            local = self.local_dir / self.token / path
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
            path = str(local.resolve())
        return {
            "file_id": p["file_id"],
            "file_unique_id": p["file_id"][:16],
            "file_size": len(data),
            "file_path": path,
        }

    def _on_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook_url, self.webhook_secret = p["url"], p.get("secret_token")
        return True

    def _on_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        return True

    def _on_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _on_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset", 0))
        limit = int(p.get("limit", 100))
        # Telegram forgets updates below the offset the bot confirmed.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[:limit]

    def has_updates(self, offset: int) -> bool:
        with self._lock:
            return any(u["update_id"] >= offset for u in self._updates)

    def file_bytes(self, file_path: str) -> bytes:
        file_id = file_path.rsplit("/", 1)[-1].split(".", 1)[0]
        data = self._files.get(file_id)
        if data is None:
            raise ApiError(404, "Not Found")
        return data

    # -- incoming updates

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make `update` available to getUpdates; returns it."""
        with self._lock:
            self._updates.append(update)
        return update

    def _update(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), key: payload}

    def _incoming(
        self, chat_id: int, chat_type: str, language: str | None, **content: Any
    ) -> dict[str, Any]:
        with self._lock:
            m = self._new_message(chat_id, False, text=content.get("text"))
        user = _user_json(chat_id if chat_type == "private" else abs(chat_id) % 10**9, language)
        return {
            "message_id": m.message_id,
            "date": m.date,
            "chat": _chat_json(chat_id, chat_type),
            "from": user,
            **content,
        }

    def text(
        self, chat_id: int, text: str, *, language: str | None = None, chat_type: str = "private"
    ) -> dict[str, Any]:
        """An update: the person sent `text` (commands get their bot_command entity)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self._update("message", self._incoming(chat_id, chat_type, language, **content))

    def added_to(self, chat_id: int, chat_type: str = "supergroup") -> dict[str, Any]:
        """An update: someone added the bot to a group (or re-added it after it left)."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Attest", "username": "attest_bot"}
        with self._lock:
            self.left_chats.discard(chat_id)
        return self._update(
            "my_chat_member",
            {
                "chat": _chat_json(chat_id, chat_type),
                "from": _user_json(abs(chat_id) % 10**9),
                "date": self.now(),
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            },
        )

    def press(self, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        """An update: the person pressed a button carrying `data` on message `message_id`."""
        with self._lock:
            m = self.messages.get(chat_id, {}).get(message_id)
            message = (
                self._message_json(m)
                if m is not None
                else {"message_id": message_id, "date": 0, "chat": _chat_json(chat_id)}
            )
        query = {
            "id": hashlib.sha256(
                f"{chat_id}:{message_id}:{data}:{time.time_ns()}".encode()
            ).hexdigest()[:16],
            "from": _user_json(chat_id),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        return self._update("callback_query", query)

    def button_data(self, chat_id: int, message_id: int) -> list[tuple[str, str]]:
        """(label, callback data) of each button on a message the bot sent."""
        m = self.messages[chat_id][message_id]
        return [(b["text"], b.get("callback_data", "")) for b in buttons_of(m.reply_markup)]

    def add_file(self, data: bytes) -> str:
        file_id = "f" + hashlib.sha256(data).hexdigest()[:24]
        with self._lock:
            self._files[file_id] = data
        return file_id

    def voice(self, chat_id: int, data: bytes, *, duration: int = 5) -> dict[str, Any]:
        file_id = self.add_file(data)
        voice = {
            "file_id": file_id,
            "file_unique_id": file_id[:16],
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._update("message", self._incoming(chat_id, "private", None, voice=voice))

    def document(
        self, chat_id: int, data: bytes, *, mime: str = "application/pdf"
    ) -> dict[str, Any]:
        file_id = self.add_file(data)
        doc = {
            "file_id": file_id,
            "file_unique_id": file_id[:16],
            "file_name": "evidence",
            "mime_type": mime,
            "file_size": len(data),
        }
        return self._update("message", self._incoming(chat_id, "private", None, document=doc))

    def photo(self, chat_id: int, data: bytes) -> dict[str, Any]:
        file_id = self.add_file(data)
        size = {
            "file_id": file_id,
            "file_unique_id": file_id[:16],
            "width": 640,
            "height": 480,
            "file_size": len(data),
        }
        return self._update("message", self._incoming(chat_id, "private", None, photo=[size]))

    def audio(self, chat_id: int, data: bytes, *, duration: int = 30) -> dict[str, Any]:
        file_id = self.add_file(data)
        audio = {
            "file_id": file_id,
            "file_unique_id": file_id[:16],
            "duration": duration,
            "mime_type": "audio/mpeg",
            "file_size": len(data),
        }
        return self._update("message", self._incoming(chat_id, "private", None, audio=audio))

    def video(self, chat_id: int, data: bytes, *, duration: int = 10) -> dict[str, Any]:
        file_id = self.add_file(data)
        video = {
            "file_id": file_id,
            "file_unique_id": file_id[:16],
            "width": 640,
            "height": 480,
            "duration": duration,
            "mime_type": "video/mp4",
            "file_size": len(data),
        }
        return self._update("message", self._incoming(chat_id, "private", None, video=video))

    def sticker(self, chat_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._update("message", self._incoming(chat_id, "private", None, sticker=sticker))

    def location(self, chat_id: int) -> dict[str, Any]:
        where = {"latitude": 36.19, "longitude": 44.01}
        return self._update("message", self._incoming(chat_id, "private", None, location=where))

    def contact(self, chat_id: int) -> dict[str, Any]:
        card = {"phone_number": "+000000", "first_name": "Someone"}
        return self._update("message", self._incoming(chat_id, "private", None, contact=card))

    def edited(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": self.now() - 5,
            "edit_date": self.now(),
            "chat": _chat_json(chat_id),
            "from": _user_json(chat_id),
            "text": text,
        }
        return self._update("edited_message", message)

    # -- what a person would see

    def visible(self, chat_id: int) -> list[StoredMessage]:
        """The chat's messages that are still there, both sides, in order."""
        return [m for _, m in sorted(self.messages.get(chat_id, {}).items()) if not m.deleted]

    def bot_texts(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.visible(chat_id) if m.from_bot]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.ok]


def _user_json(user_id: int, language: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": abs(user_id), "is_bot": False, "first_name": "P"}
    if language:
        user["language_code"] = language
    return user


def _chat_json(chat_id: int, chat_type: str = "private") -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "P"
    else:
        chat["title"] = "Some group"
    return chat


# ---------------------------------------------------------------------------- PTB plug


class FakeRequest(BaseRequest):
    """A `BaseRequest` that answers from a FakeBotAPI instead of the network."""

    def __init__(self, api: FakeBotAPI, *, poll_step: float = 0.01) -> None:
        self.api = api
        self._poll_step = poll_step

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            try:
                return 200, self.api.file_bytes(url.split("/file/bot", 1)[1].split("/", 1)[1])
            except ApiError as exc:
                return exc.code, json.dumps(exc.body()).encode()
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {k: b"" for k in (request_data.multipart_data or {})} if request_data else {}
        return await answer(self.api, api_method, params, files, self._poll_step)


async def answer(
    api: FakeBotAPI,
    method: str,
    params: dict[str, Any],
    files: dict[str, bytes],
    poll_step: float = 0.01,
) -> tuple[int, bytes]:
    """HTTP status and JSON body for one call (long polling waits for updates like Telegram)."""
    if method.lower() == "getupdates" and not api.webhook_url:
        api.polls_started += 1
        deadline = time.monotonic() + float(params.get("timeout", 0) or 0)
        offset = int(params.get("offset", 0) or 0)
        while not api.has_updates(offset) and time.monotonic() < deadline and not api.closing:
            await asyncio.sleep(poll_step)
    try:
        result = api.call(method, params, files)
    except ApiError as exc:
        return exc.code, json.dumps(exc.body()).encode()
    return 200, json.dumps({"ok": True, "result": result}).encode()
