"""The few things the Telegram channel says itself (everything else comes from the flow).

Each is an English source string translated with the person's language, kept short and
free of anything that would reveal what the chat is about on a lock screen.
"""

from __future__ import annotations

from flows.i18n import N_, translator

NOT_PRIVATE = N_("I only talk in private chats. Please write to me directly.")
EDITED = N_(
    "I can't read edited messages, so your change was not saved. "
    "To change your last answer, send /back and answer again."
)
LOCATION = N_(
    "For your safety I don't keep shared locations, and I removed it from this chat. "
    "If you want, describe the place in words instead: a town or an area is enough."
)
UNSUPPORTED = N_(
    "I can't read this kind of message. Please answer with a text message "
    "or with the buttons above."
)
MEDIA_NOT_HERE = N_(
    "I can't take files or voice notes for this question. Please answer with a text "
    "message or with the buttons above."
)
VOICE_ONLY = N_(
    "I can't take photos, documents or videos here, so I did not keep it. Please write "
    "your answer, or send a voice note."
)
TOO_LARGE = N_(
    "This file is too large for me to receive, so it was not saved. You could send a "
    "shorter voice note, or several short ones, or write your answer instead."
)
FILE_FAILED = N_(
    "I could not receive this file, so it was not saved. Please try again, or write your "
    "answer instead."
)
OLDER_REMAIN = N_(
    "Messages older than 48 hours can no longer be erased by me. To remove them, delete "
    "this chat in Telegram yourself: open the chat menu and choose Delete chat."
)
NOT_SAVED = N_(
    "Sorry, something went wrong on our side and your last message was not saved. "
    "Please send it again."
)
DONE_BUTTON = N_("Done")


def say(message: str, language: str | None) -> str:
    """A note in the person's language (English when it has no catalog)."""
    return translator(language or "en").gettext(message)
