"""The way into documenter mode: `/documenter CODE`, its local words, or a deep link.

A chat (or a console person) becomes a documenter's once, by an invite code the node
issued (`attest documenters invite`); after that every new interview in it runs the
documenter flow, under the documenter's pseudonym. The code is read here and handed to
the store, which keeps only its hash (storage/intake/documenters.py). Nothing about the
code or the person is logged.
"""

from __future__ import annotations

import functools
import unicodedata

from flows.bidi import without_invisible
from flows.i18n import N_, available_languages
from flows.i18n import translator as translator_for
from flows.types import Inbound, Translator

DOCUMENTER_FLOW = "documenter"
DEEP_LINK_PREFIX = "doc-"
# A code is 16 base32 characters (dashes and spaces allowed); anything much longer is
# not a code, and is not read (a huge message must not become a database lookup).
MAX_CODE_CHARS = 64

BIND_MESSAGES: dict[str, str] = {
    "bound": N_(
        "Welcome. This chat is now set up for recording accounts as a documenter, and no "
        "code is needed here again. Send /start to record an account."
    ),
    "already": N_(
        "This chat is already set up for documenter mode. Send /start to record an account."
    ),
    "wrong": N_(
        "That invite code was not recognised. Please check it and send /documenter with "
        "the code again."
    ),
    "used": N_(
        "That invite code has already been used. Each code works once: please ask for a new one."
    ),
    "expired": N_("That invite code has expired. Please ask for a new one."),
    "revoked": N_("That invite code has been withdrawn. Please ask the person who gave it to you."),
    "rate-limited": N_(
        "Several codes were tried in a short time. For safety, please wait an hour and try again."
    ),
    "no-code": N_("To use documenter mode, send /documenter followed by your invite code."),
    "unavailable": N_("Documenter mode is not available on this service."),
}
DOCUMENTER_REVOKED = N_(
    "Documenter access for this chat has been withdrawn, so it can no longer send "
    "accounts. The unfinished account was deleted."
)
ERASE_NOTICE = N_(
    "One more thing, before your first account: after each account is sent, its "
    "conversation is deleted from this chat on both sides, so this device keeps no copy. "
    "You will then get the person's reference code, to hand over to them."
)
PROFILE_AGAIN = N_(
    "Your role, and whether you were affected too, will be asked again at the start of "
    "your next account. In the account you are recording now, you can change them at the "
    "review step."
)
SCRIPT_HEADING = N_("The consent text, to read aloud:")
SCRIPT_LANGUAGES = N_(
    "To see the consent text in another language, type /script and a language code: {languages}."
)
ACCOUNT_REFUSED = N_(
    "This account was not sent: documenter access for this chat has been withdrawn. "
    "Nothing of it was kept."
)


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKC", without_invisible(word)).casefold().strip()


def documenter_words(translator: Translator) -> set[str]:
    """The command's word in English, the person's language and every shipped language.

    Before a first interview the chat's language is not known yet: a documenter typing
    the word of their own language must still be understood.
    """
    return {"documenter", _fold(translator.gettext("documenter")), *_every_language_word()}


@functools.cache
def _every_language_word() -> frozenset[str]:
    return frozenset(
        _fold(translator_for(language).gettext("documenter")) for language in available_languages()
    )


def documenter_request(inbound: Inbound, translator: Translator) -> str | None:
    """The invite code this event brings ("" for the command without a code), or None.

    Read from a deep link (`/start doc-CODE`), `/documenter CODE`, the local word with a
    code, or the word alone, with or without its slash (also reversed as right-to-left
    text shows it: `documenter/ CODE`).
    """
    if inbound.kind == "start":
        argument = inbound.text.strip()
        if argument.lower().startswith(DEEP_LINK_PREFIX) and len(argument) <= MAX_CODE_CHARS:
            return argument[len(DEEP_LINK_PREFIX) :]
        return None
    if inbound.kind == "command":
        word, rest = inbound.command or "", inbound.text
    elif inbound.kind == "text":
        text = without_invisible(inbound.text).strip()
        if len(text) > MAX_CODE_CHARS + 40:
            return None
        word, _, rest = text.partition(" ")
    else:
        return None
    word = _fold(word)
    if word.endswith("/") and not word.startswith("/"):
        word = "/" + word[:-1]
    slashed = word.startswith("/") or inbound.kind == "command"
    word = word.lstrip("/").split("@", 1)[0]
    if word not in documenter_words(translator):
        return None
    code = rest.strip()
    if not slashed and code and not _looks_like_code(code):
        return None  # an answer that starts with the word ("Documenter notes: ...")
    return code if len(code) <= MAX_CODE_CHARS else ""


def _looks_like_code(text: str) -> bool:
    """Letters and digits in groups, about as many as a code has."""
    if any(not (c.isascii() and c.isalnum()) and c not in "- " for c in text):
        return False
    return 12 <= sum(c.isalnum() for c in text) <= 24


def documenter_command(inbound: Inbound, translator: Translator) -> tuple[str, str] | None:
    """`/profile` or `/script [LANG]` (or their local words): (command, argument), else None.

    Only with a slash, or a word alone: "profile" or "script" inside an answer is text.
    """
    if inbound.kind == "command":
        word, rest = inbound.command or "", inbound.text
    elif inbound.kind == "text":
        text = without_invisible(inbound.text).strip()
        if len(text) > 40:
            return None
        word, _, rest = text.partition(" ")
    else:
        return None
    word = _fold(word)
    if word.endswith("/") and not word.startswith("/"):
        word = "/" + word[:-1]
    slashed = word.startswith("/") or inbound.kind == "command"
    word = word.lstrip("/").split("@", 1)[0]
    rest = rest.strip()
    if not slashed and rest:
        return None
    if word in {"profile", _fold(translator.gettext("profile"))}:
        return ("profile", "") if not rest else None
    if word in {"script", _fold(translator.gettext("script"))} and len(rest) <= 8:
        return "script", rest.lower()
    return None
