"""The desk's one unlocked session: the private key, its cookie, its CSRF token, its idle clock.

The desk serves one reviewer on their own machine, so there is one session at a time.
Unlocking loads the private key with the passphrase and starts a session: a random
cookie value (HttpOnly, SameSite=Strict) that every decrypted page requires, and a
random CSRF token that every form carries. Locking (on demand, or after `idle` without a
request) drops the key and both secrets; Python cannot wipe the key's bytes, but nothing
refers to them any more. A locked desk hands out a fresh CSRF token for its unlock form.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from storage.crypto import CannotSign, ReviewerPrivateKey
from storage.errors import N_

DEFAULT_IDLE_MINUTES = 15
COOKIE = "attest_desk"
LOCKED = N_("The desk is locked, so nothing was signed or changed. Unlock it and try again.")


class DeskLock:
    """Who is unlocked, until when. Thread-safe; `clock` is injectable for tests."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._mutex = threading.Lock()
        self._key: ReviewerPrivateKey | None = None
        self._session: str | None = None
        self._csrf = secrets.token_urlsafe(32)
        self._last_seen = clock()

    def unlock(self, key_path: Path, passphrase: str) -> tuple[str, str | None]:
        """Load the key (CryptoError on a wrong passphrase, which changes nothing: the
        session unlocked before goes on); (the new session's cookie value, the session it
        replaced if the desk was unlocked, so that one can be told why it ended)."""
        key = ReviewerPrivateKey.load(key_path, passphrase)
        with self._mutex:
            replaced = self._session if self._key is not None else None
            self._key = key
            self._session = secrets.token_urlsafe(32)
            self._csrf = secrets.token_urlsafe(32)
            self._last_seen = self.clock()
            return self._session, replaced

    def current_session(self) -> str | None:
        """The unlocked session's cookie value (None when locked): for its notices only."""
        with self._mutex:
            return self._session if self._key is not None else None

    def lock(self) -> None:
        with self._mutex:
            self._key = None
            self._session = None
            self._csrf = secrets.token_urlsafe(32)

    def expire_if_idle(self) -> bool:
        """Lock when idle too long; True if this call locked it."""
        with self._mutex:
            idle = self._key is not None and self.clock() - self._last_seen >= self.idle_seconds
        if idle:
            self.lock()
        return idle

    def key_for(self, cookie: str | None) -> ReviewerPrivateKey | None:
        """The key if `cookie` is this session's and it has not gone idle; touches the clock."""
        self.expire_if_idle()
        with self._mutex:
            if self._key is None or self._session is None or cookie is None:
                return None
            if not hmac.compare_digest(cookie.encode(), self._session.encode()):
                return None
            self._last_seen = self.clock()
            return self._key

    def sign(self, data: bytes) -> bytes:
        """Sign an audit entry with the unlocked key; CannotSign once the desk is locked.

        The queue's signer calls this instead of holding the key, so locking leaves
        nothing that refers to it.
        """
        with self._mutex:
            key = self._key
        if key is None:
            raise CannotSign(LOCKED)
        return key.sign(data)

    @property
    def unlocked(self) -> bool:
        with self._mutex:
            return self._key is not None

    @property
    def csrf(self) -> str:
        with self._mutex:
            return self._csrf

    def csrf_ok(self, token: str | None) -> bool:
        with self._mutex:
            expected = self._csrf
        return token is not None and hmac.compare_digest(token.encode(), expected.encode())
