"""The storage package's exceptions, in one tree.

    StorageError
     └── CryptoError              something about keys or ciphertext is wrong
          ├── WrongPassphrase     the passphrase does not open this private key file
          ├── TamperedData        authentication failed: changed bytes, wrong row, wrong key
          ├── UntrustedNode       a sealed account was signed by a node that is not pinned
          ├── UntrustedReviewer   a reseal or audit entry was signed by a reviewer not pinned
          ├── UntrustedAfter      the queue received it after its node key was untrusted
          ├── NotARecipient       this reviewer key is not among an account's recipients
          ├── CorruptData         a record or key file is truncated, malformed or inconsistent
          ├── KeyFileMissing      a configured key file does not exist
          ├── KeyFileExposed      a key file without a passphrase others can read
          ├── NodeKeyLocked       the node key is protected and no passphrase was given
          └── CannotSign          a version 1 reviewer key has no signing key
     ├── CorruptDraft             a stored draft cannot be opened (damaged or not this row's)
     └── FileTooLarge             an incoming file is over the size limit

Default messages are static English source strings marked for gettext (`N_`), so a caller
that shows one to a person can translate it with `translator(lang).gettext(str(error))`;
some messages name a field or a file path instead (for the person running the node). They
never carry key material, plaintext, passphrases or chat ids: only what went wrong and
what to do next. `KeyFileMissing` also keeps the path in `.path` (paths are not secret).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def N_(message: str) -> str:
    """Mark a string for extraction (storage imports only types from flows, so not flows.i18n)."""
    return message


class StorageError(Exception):
    """Base of every error the storage package raises on purpose."""

    default_message = N_("Something went wrong while storing data.")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else self.default_message)


class CryptoError(StorageError):
    """Keys or ciphertext are wrong; nothing was decrypted."""

    default_message = N_("The data could not be decrypted or verified.")


class WrongPassphrase(CryptoError):
    """The passphrase does not open this private key file."""

    default_message = N_(
        "That passphrase does not open this key file. Check it and try again "
        "(if it is right, the key file may have been changed)."
    )


class TamperedData(CryptoError):
    """Authentication failed: the bytes were changed, moved to another row, or the key is wrong."""

    default_message = N_(
        "The data failed its integrity check: it was changed, copied from elsewhere, "
        "or the key does not match. It was not opened."
    )


class UntrustedNode(CryptoError):
    """The account was signed by a node key that is not pinned as trusted."""

    default_message = N_(
        "This account was signed by a node you have not marked as trusted. "
        "It was not opened. Check the node's fingerprint with whoever runs it."
    )


class NotARecipient(CryptoError):
    """The given reviewer key is not one the account was sealed to."""

    default_message = N_(
        "This account was not sealed to your reviewer key, so it cannot be opened with it."
    )


class CorruptData(CryptoError):
    """A stored record or key file is truncated, malformed or inconsistent."""

    default_message = N_(
        "The stored record or key file is damaged or incomplete. It was not opened."
    )


class KeyFileMissing(CryptoError):
    """A key file that the settings name does not exist."""

    default_message = N_("A key file named in the settings does not exist.")

    def __init__(self, path: Path, message: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class KeyFileExposed(CryptoError):
    """A key file kept without a passphrase can be read by group or others; it was not used.

    `template` names the file as `{path}`; `translated` gives the message in a language.
    """

    default_message = N_(
        "A key file without a passphrase can be read by other users of this computer, "
        "so it was not used."
    )

    def __init__(self, path: Path, template: str) -> None:
        super().__init__(template.format(path=path))
        self.path = path
        self.template = template

    def translated(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(path=self.path)


class CorruptDraft(StorageError):
    """A stored draft could not be opened: damaged, truncated, or not this respondent's."""

    default_message = N_("A saved interview could not be opened; it may be damaged.")


class FileTooLarge(StorageError):
    """An incoming file is over the configured size limit."""

    default_message = N_("That file is too large to keep.")


class NodeKeyLocked(CryptoError):
    """The node key file is protected with a passphrase and none was given."""

    default_message = N_(
        "The node key is protected with a passphrase. Set ATTEST_NODE_PASSPHRASE, or give "
        "it as the systemd credential 'attest-node-passphrase'."
    )


class CannotSign(CryptoError):
    """A version 1 reviewer key has no signing key."""

    default_message = N_(
        "Your reviewer key is of the old kind, which cannot sign. Upgrade it with "
        "'attest keys upgrade --key FILE --name NAME' (the same passphrase stays), then try again."
    )


class UntrustedReviewer(CryptoError):
    """A reseal was signed by a reviewer key this reader has not pinned."""

    default_message = N_(
        "This account was resealed for you by a reviewer whose key you have not marked as "
        "trusted. It was not opened. Check that reviewer's fingerprint with them, then run "
        "'attest keys trust-reviewer FILE' with their reviewer.pub."
    )


class UntrustedAfter(CryptoError):
    """The queue received this account after its node key's trust cut-off."""

    default_message = N_(
        "This account's node key was untrusted from a time before the queue received it, "
        "so it was not opened: it may have been signed with a stolen key."
    )
