"""Reading what a person typed: command words, option numbers and labels, long texts.

Pure functions over strings; the engine decides what a reading means in its state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from flows.bidi import without_invisible
from flows.types import Choice, Inbound, Translator

COMMANDS: tuple[str, ...] = (
    "skip",
    "back",
    "pause",
    "resume",
    "help",
    "language",
    "exit",
    "withdraw",
    "hide",
)
MAX_MESSAGE_CHARS = 4000
# Separators as keyboards type them: Latin, Arabic/Persian (، ؛) and full-width (，、；).
_SEPARATORS = ",;،؛，、；"
_NUMBERS = re.compile(rf"^\d+(?:\s*[{_SEPARATORS}]?\s*\d+)*$")  # \d: any script's digits


def command_words(translator: Translator) -> dict[str, str]:
    """Each command's word in the translator's language (for bare-word commands)."""
    _ = translator.gettext
    return {
        "skip": _("skip"),
        "back": _("back"),
        "pause": _("pause"),
        "resume": _("resume"),
        "help": _("help"),
        "language": _("language"),
        "exit": _("exit"),
        "withdraw": _("withdraw"),
        "hide": _("hide"),
    }


def _fold(text: str) -> str:
    """Case, accents and spacing folded away: "Atras", "atrás" and "ATRÁS" read alike.

    People on cheap phones often type without accents (or Arabic without vowel marks);
    a command or a label must still be recognised.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).translate(_LETTER_VARIANTS).split())


def _bare(text: str) -> str:
    """`text` stripped of surrounding blanks and of every invisible mark (direction
    controls, zero-width characters: a command copied out of a right-to-left message
    carries them)."""
    return without_invisible(text).strip()


def _unreversed(text: str) -> str:
    """A command typed as it showed inside right-to-left text ("exit/") the right way round.

    Arabic and Persian display "/exit" as "exit/" when it is not isolated, and a person
    types what they see. Only a single word with one trailing slash is turned round.
    """
    if text.endswith("/") and not text.startswith("/"):
        word = text[:-1].rstrip()
        if word and "/" not in word and len(word.split()) == 1:
            return "/" + word
    return text


# Arabic-script letters that keyboards (Arabic, Persian, Urdu) type differently.
_LETTER_VARIANTS = str.maketrans({"ى": "ي", "ی": "ي", "ك": "ک", "ة": "ه", "ـ": None})


def read_command(inbound: Inbound, translator: Translator) -> str | None:
    """The command an inbound event carries: a COMMANDS word, "start", "unknown" or None.

    A command is `/word` (also `/word@botname`), a command event, or a message that is
    exactly a command word, in English or in the person's language, in any case. The
    reversed form a right-to-left text shows ("exit/") and invisible direction marks
    around it are read as the command too.
    """
    typed = _bare(inbound.text) if inbound.kind == "text" else ""
    turned = _unreversed(typed)
    if turned != typed and _known(turned[1:].split("@")[0], translator):
        typed = turned
    if inbound.kind == "command":
        word = _fold(_bare(inbound.command or "")).lstrip("/")
    elif inbound.kind == "text" and typed.startswith("/"):
        parts = typed[1:].split(maxsplit=1)
        word = _fold(parts[0].split("@")[0]) if parts else ""
    elif inbound.kind == "choice" and (inbound.choice or "").startswith("/"):
        # A command offered as a button (the pause message's "hide this chat").
        name = (inbound.choice or "")[1:]
        return name if name in COMMANDS else None
    elif inbound.kind == "text":
        bare = _fold(typed).strip(".!。")
        if bare in COMMANDS:
            return bare
        translated = {_fold(w): c for c, w in command_words(translator).items()}
        return translated.get(bare)
    else:
        return None
    if word == "start":
        return "start"
    if word in COMMANDS:
        return word
    translated = {_fold(w): c for c, w in command_words(translator).items()}
    return translated.get(word, "unknown")


def _known(word: str, translator: Translator) -> bool:
    """Whether `word` names a command (or start), in English or the person's language."""
    folded = _fold(word)
    words = {_fold(w) for w in command_words(translator).values()}
    return folded == "start" or folded in COMMANDS or folded in words


def _match_label(piece: str, choices: Sequence[Choice]) -> str | None:
    folded = _fold(piece)
    for choice in choices:
        if folded in (_fold(choice.label), choice.value):
            return choice.value
    return None


def only_numbers(text: str) -> bool:
    """True for a typed number or list of numbers ("1", "2, 3", "١"), in any script."""
    return bool(_NUMBERS.match(text.strip()))


def read_choices(text: str, choices: Sequence[Choice], multi: bool) -> tuple[str, ...] | None:
    """Option values a typed answer selects by number or label, or None if unreadable."""
    cleaned = text.strip()
    if not cleaned:
        return None
    whole = _match_label(cleaned, choices)
    if whole is not None:
        return (whole,)
    if _NUMBERS.match(cleaned):
        # A run of digits too long to be an option number is no option (and int() refuses
        # more than 4300 digits, which made such a message fail its turn every time).
        numbers = [int(n) if len(n) <= 6 else -1 for n in re.findall(r"\d+", cleaned)]
        by_number = {c.n: c.value for c in choices}
        if any(n not in by_number for n in numbers) or (len(numbers) > 1 and not multi):
            return None
        return tuple(dict.fromkeys(by_number[n] for n in numbers))
    if multi:
        pieces = [p for p in re.split(rf"[{_SEPARATORS}\n]", cleaned) if p.strip()]
        values = [_match_label(p, choices) for p in pieces]
        if values and all(v is not None for v in values):
            return tuple(dict.fromkeys(v for v in values if v is not None))
    return None


def clean_text(text: str) -> str:
    """Text as kept: surrounding blanks removed, nothing else touched."""
    return text.strip()


def split_long(text: str, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, ...]:
    """Cut a text longer than `limit` into parts, at a blank where possible; nothing is lost."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", limit // 2, limit)
        cut = cut if cut > 0 else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return tuple(p for p in parts if p)
