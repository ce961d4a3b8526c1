"""The terminal channel: `attest console`, the same flows without Telegram.

Three ways to talk to it:
- at a terminal: messages are printed with numbered options and a prompt; quick exit
  clears the screen and its scrollback;
- standard input not a terminal: one answer per line; each message is printed followed by
  its numbered options (scriptable);
- `--jsonl`: one answer per line in, one JSON object per line out:
  {"type": "message", "text": T}
  {"type": "ask", "step": S, "kind": K, "text": T, "options": [{"n", "value", "label"}]}
  {"type": "end", "reason": R[, "reference": CODE]}
  R is `submitted` (with the account's reference code), `declined`, `not-safe`,
  `not-eligible`, `exited`, `paused`, `withdrawn` (a withdrawal recorded for an account
  this node sent), `withdrawal-requested` (a code this node has no record of, recorded
  for the team to match: nothing may be withdrawn), `input-ended`, `documenter-refused`.

An answer is an option's number, numbers separated by commas, free text, or a command
(`/skip`, `/back`, `/exit`, ...). When input ends before the interview does, the
unfinished answers stay (encrypted) and the end reason is `input-ended`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.dispatcher import Dispatcher, Reply
from flows.i18n import N_, translator
from flows.types import Inbound, Outbound

CHANNEL = "console"
TURN_FAILED = N_(
    "Sorry, something went wrong on our side and your last message was not saved. "
    "Everything before it is safe. Please send it again."
)
HIDDEN_SCREEN = N_(
    "The screen is cleared. A terminal cannot delete copies kept elsewhere, such as a "
    "log or a recording of this session."
)
CANNOT_HIDE = N_(
    "This terminal cannot clear what was shown. Close this window, or clear its history "
    "yourself. Your answers are kept."
)
# Quick exit at a terminal: cursor home, clear the screen, clear the scrollback. The
# conversation must not stay readable behind the person (Telegram deletes the messages).
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"
log = logging.getLogger(__name__)


def inbound_from_line(line: str) -> Inbound:
    """A typed line as the engine expects it: `/word` is a command, the rest is text."""
    text = line.rstrip("\r\n")
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped:
        return Inbound(kind="command", command=stripped[1:].lower(), text=stripped)
    return Inbound(kind="text", text=text)


class Printer:
    """Writes replies in one of the three output styles."""

    def __init__(self, out: TextIO, *, jsonl: bool, interactive: bool) -> None:
        self.out = out
        self.jsonl = jsonl
        self.interactive = interactive

    def _json(self, event: dict[str, Any]) -> None:
        self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.out.flush()

    def message(self, message: Outbound) -> None:
        if self.jsonl:
            if message.ask is None:
                self._json({"type": "message", "text": message.text})
            else:
                self._json(
                    {
                        "type": "ask",
                        "step": message.ask,
                        "kind": message.kind,
                        "text": message.text,
                        "options": [
                            {"n": c.n, "value": c.value, "label": c.label} for c in message.choices
                        ],
                    }
                )
            return
        self.out.write(message.text.rstrip() + "\n")
        for choice in message.choices:
            mark = "x" if choice.value in message.selected else " "
            box = f"[{mark}] " if message.multi else ""
            self.out.write(f"  {choice.n}. {box}{choice.label}\n")
        self.out.write("\n")
        self.out.flush()

    def erase(self) -> bool:
        """Clear a terminal screen and its scrollback; nothing when output is not a terminal.

        True when it could clear it.
        """
        if self.interactive and not self.jsonl and self.out.isatty():
            self.out.write(CLEAR_SCREEN)
            self.out.flush()
            return True
        return False

    def end(self, reason: str, reference: str | None) -> None:
        if self.jsonl:
            event: dict[str, Any] = {"type": "end", "reason": reason}
            if reference:
                event["reference"] = reference
            self._json(event)

    def prompt(self) -> None:
        if self.interactive and not self.jsonl:
            self.out.write("> ")
            self.out.flush()


async def run_console(
    dispatcher: Dispatcher,
    *,
    respondent_name: str,
    flow: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    jsonl: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    documenter_code: str | None = None,
) -> str:
    """Run one conversation until it ends or input runs out; returns the end reason.

    With `documenter_code`, the code is bound to this console person first (once; after
    that no code is needed); a code refused ends the run with reason `documenter-refused`.
    """
    printer = Printer(stdout, jsonl=jsonl, interactive=stdin.isatty())
    last = Reply(messages=())

    async def turn(inbound: Inbound) -> Reply:
        nonlocal last
        try:
            reply = await dispatcher.handle(
                CHANNEL, respondent_name, inbound, update_key=None, now=clock(), flow=flow
            )
        except Exception:
            # Nothing of this turn was saved, so nothing is half-done: say so, in the
            # person's language, and ask the same question again (a script reading --jsonl
            # waits for an ask). The log line carries no content (bot.logs).
            log.exception("a console turn failed")
            printer.message(Outbound(text=translator(last.language).gettext(TURN_FAILED)))
            for message in last.messages:
                if message.ask is not None:
                    printer.message(message)
            return Reply(messages=(), language=last.language)
        cleared = printer.erase() if reply.erase_chat else False
        if reply.erase_chat and reply.end != "exited":
            # /hide: the answers are kept, and the person must know what stayed on screen.
            note = HIDDEN_SCREEN if cleared else CANNOT_HIDE
            printer.message(Outbound(text=translator(reply.language).gettext(note)))
        for message in reply.messages:
            if reply.end is not None and message.choices:
                # The conversation ends here: no button can be answered any more.
                message = Outbound(text=message.text)
            printer.message(message)
        if any(message.ask is not None for message in reply.messages):
            last = reply
        return reply

    if documenter_code is not None:
        reply = await turn(Inbound(kind="command", command="documenter", text=documenter_code))
        if not await dispatcher.is_documenter(CHANNEL, respondent_name):
            printer.end("documenter-refused", None)
            return "documenter-refused"
    reply = await turn(Inbound(kind="start"))
    while reply.end is None:
        printer.prompt()
        line = stdin.readline()
        if not line:
            printer.end("input-ended", None)
            return "input-ended"
        reply = await turn(inbound_from_line(line))
    printer.end(reply.end, reply.reference)
    return reply.end
