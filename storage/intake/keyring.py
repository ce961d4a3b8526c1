"""Which reviewer keys this node seals to: the data directory's, the environment's, or the demo key.

    DATA_DIR/reviewers/<fingerprint>.pub    added with `attest keys add-reviewer FILE`
    ATTEST_REVIEWER_KEYS=path1:path2        more public key files (os.pathsep, like PATH)
    DATA_DIR/demo-reviewer/reviewer.{pub,key}
                                            made on a first local run when neither of the
                                            above names a key; its passphrase is
                                            DEMO_PASSPHRASE ("demo"), so it protects nothing

Once a real key is configured the demo key is no longer sealed to: `load_reviewer_keys`
leaves it out. A configured file that is missing or damaged is an error, never skipped:
skipping it would silently seal accounts without that reviewer.

A long-running process (`attest console`, `attest run`) seals through `LiveReviewerKeys`,
which reads these same places again at every seal, so a key added or removed while it
runs counts from the next account on, without a restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from storage.crypto import FAST_KDF, ReviewerPublicKey, generate_reviewer_key
from storage.crypto.keyfiles import ensure_private_dir, fsync_dir
from storage.errors import N_, CorruptData, KeyFileMissing, StorageError

NODE_KEY_FILE = "node.key"
REVIEWERS_DIR = "reviewers"
DEMO_DIR = "demo-reviewer"
PUBLIC_FILE = "reviewer.pub"
PRIVATE_FILE = "reviewer.key"
ENV_KEYS = "ATTEST_REVIEWER_KEYS"
DEMO_PASSPHRASE = "demo"
MIN_FINGERPRINT_PREFIX = 8

DEMO_WARNING = N_(
    "WARNING: no reviewer key is configured, so accounts are sealed to a DEMO reviewer key "
    "kept on this machine (in the data directory's demo-reviewer folder, passphrase "
    "'demo'). Anyone with access to this machine can read them. Use this only to try "
    "Attest, never for real accounts. Create a real key on the reviewer's own computer "
    "with 'attest keys init-reviewer --out DIR', then add its reviewer.pub here with "
    "'attest keys add-reviewer FILE'."
)

SINGLE_KEY_WARNING = N_(
    "WARNING: accounts are sealed to only one reviewer key. If that key or its passphrase "
    "is lost, every account sealed to it is lost too. Add a second reviewer's key (or an "
    "offline backup key) with 'attest keys add-reviewer FILE'."
)

UNOPENABLE_WAITING = N_(
    "WARNING: accounts waiting in this node's outbox that no current reviewer key opens: {count}."
)
UNOPENABLE_SYNCED = N_(
    "WARNING: accounts in this sync that no current reviewer key opens: {count}."
)
UNOPENABLE_HELP = N_(
    "They were sealed only to keys this node no longer seals to (the demo key, or a key "
    "removed since). Whoever holds one of those keys can let the current reviewers in "
    "with 'attest review reseal --to FILE' once they are in the queue. Treat an account "
    "sealed to the demo key as read by anyone with access to this machine (README, "
    "'Reviewer keys')."
)

Source = Literal["data-dir", "environment", "demo"]

log = logging.getLogger(__name__)


class ReviewerKeysUnavailable(StorageError):
    """No account can be sealed now: the reviewer keys cannot be read, or none may be used.

    Raised at seal time, so the turn that finishes the account is not saved: the account
    stays in its draft, and sealing it again once the keys are fixed sends it. The message
    is for whoever runs the node (key file paths, never content).
    """

    default_message = N_(
        "No account can be sealed: no usable reviewer key is configured. Add one with "
        "'attest keys add-reviewer FILE'; unfinished accounts stay in their drafts."
    )


@dataclass(frozen=True)
class ReviewerKeyEntry:
    """A reviewer key as `attest keys list` shows it."""

    key: ReviewerPublicKey
    source: Source
    path: Path
    in_use: bool  # sealed to; False for the demo key once a real key is configured


def node_key_path(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """The node key file: `ATTEST_NODE_KEY` when set (shared by a deployment's processes
    on separate data directories), else `DATA_DIR/node.key`."""
    named = (os.environ if env is None else env).get("ATTEST_NODE_KEY")
    return Path(named).expanduser() if named else data_dir / NODE_KEY_FILE


def _data_dir_entries(data_dir: Path) -> list[ReviewerKeyEntry]:
    folder = data_dir / REVIEWERS_DIR
    if not folder.is_dir():
        return []
    return [
        ReviewerKeyEntry(ReviewerPublicKey.load(path), "data-dir", path, True)
        for path in sorted(folder.glob("*.pub"))
    ]


def _environment_entries(env: Mapping[str, str]) -> list[ReviewerKeyEntry]:
    names = [part for part in env.get(ENV_KEYS, "").split(os.pathsep) if part.strip()]
    return [
        ReviewerKeyEntry(ReviewerPublicKey.load(path), "environment", path, True)
        for path in (Path(name.strip()).expanduser() for name in names)
    ]


def _demo_entry(data_dir: Path, in_use: bool) -> ReviewerKeyEntry | None:
    path = data_dir / DEMO_DIR / PUBLIC_FILE
    if not path.exists():
        return None
    return ReviewerKeyEntry(ReviewerPublicKey.load(path), "demo", path, in_use)


def list_reviewer_keys(data_dir: Path, env: Mapping[str, str]) -> list[ReviewerKeyEntry]:
    """Every reviewer key the node knows of, real ones first, one entry per fingerprint."""
    found: dict[str, ReviewerKeyEntry] = {}
    for entry in [*_data_dir_entries(data_dir), *_environment_entries(env)]:
        found.setdefault(entry.key.fingerprint, entry)
    has_real = any(not entry.key.demo for entry in found.values())
    demo = _demo_entry(data_dir, in_use=not has_real)
    if demo is not None:
        found.setdefault(demo.key.fingerprint, demo)
    # A demo key named in the settings is still a demo key: never sealed to beside real ones.
    return [
        replace(entry, in_use=not has_real) if entry.key.demo else entry for entry in found.values()
    ]


def load_reviewer_keys(data_dir: Path, env: Mapping[str, str]) -> list[ReviewerPublicKey]:
    """The keys accounts are sealed to: the real ones, or else the demo key if it exists."""
    return [entry.key for entry in list_reviewer_keys(data_dir, env) if entry.in_use]


class LiveReviewerKeys:
    """The keys accounts are sealed to, read again each time one is sealed.

    Call it for the current keys. Sealing happens once per account, and reading a few small
    public key files costs far less than the HPKE seal itself, so nothing is cached: no
    stale set can outlive an `add-reviewer` or `remove-reviewer`. The keys come only from
    where `load_reviewer_keys` reads them (the data directory and the files named in the
    settings at start), never from anything a person or the network writes.

    Raises ReviewerKeysUnavailable (logged once here, without content) when a configured
    file is missing or damaged (a key copied in by hand, caught half-written), when there
    is no key at all, or, without `allow_demo` (`attest run`), when only the demo key is
    left: never seal to fewer keys than configured, to the demo key, or to nobody.
    """

    def __init__(self, data_dir: Path, env: Mapping[str, str], *, allow_demo: bool) -> None:
        self.data_dir = data_dir
        self.env = env
        self.allow_demo = allow_demo
        self._last: tuple[str, ...] | None = None

    def __call__(self) -> tuple[ReviewerPublicKey, ...]:
        try:
            keys = self._load()
        except (StorageError, OSError) as exc:
            reason = str(exc) if isinstance(exc, StorageError) else type(exc).__name__
            log.error(
                "an account could not be sealed: a reviewer key could not be read (%s). "
                "It stays in its draft; fix the file (attest keys list) and it is sealed "
                "when the person sends it again.",
                reason,
            )
            raise ReviewerKeysUnavailable(
                f"A reviewer key could not be read ({reason}); the account was not sealed."
            ) from None
        if not keys or (is_demo_only(list(keys)) and not self.allow_demo):
            log.error(
                "an account could not be sealed: no real reviewer key is configured any "
                "more. It stays in its draft; add one with 'attest keys add-reviewer FILE'."
            )
            raise ReviewerKeysUnavailable()
        fingerprints = tuple(sorted(key.fingerprint for key in keys))
        if fingerprints != self._last:
            if self._last is not None:
                log.info("the reviewer keys changed: accounts are now sealed to %d", len(keys))
            if is_demo_only(list(keys)):
                log.warning("accounts are sealed to the DEMO reviewer key only")
            self._last = fingerprints
        return keys

    def _load(self) -> tuple[ReviewerPublicKey, ...]:
        try:
            return tuple(load_reviewer_keys(self.data_dir, self.env))
        except KeyFileMissing:
            # `remove-reviewer` may unlink a file between the listing and the read: look
            # again once. A file that stays missing (a path in the settings) is an error.
            return tuple(load_reviewer_keys(self.data_dir, self.env))


def real_keys_in_use(entries: list[ReviewerKeyEntry]) -> list[ReviewerKeyEntry]:
    """The non-demo keys accounts are sealed to (one alone is a single point of loss)."""
    return [entry for entry in entries if entry.in_use and not entry.key.demo]


def is_demo_only(keys: list[ReviewerPublicKey]) -> bool:
    """True when accounts would be sealed only to demo keys (`attest run` refuses)."""
    return bool(keys) and all(key.demo for key in keys)


def ensure_demo_reviewer(
    data_dir: Path, env: Mapping[str, str] | None = None
) -> ReviewerPublicKey | None:
    """The demo key when no real reviewer key is configured (created on first use), else None.

    Two processes starting at once end with the same demo key: each builds the pair in its
    own temporary folder and renames it into place; the loser's rename fails and it uses
    the winner's.
    """
    env = {} if env is None else env
    if any(not entry.key.demo for entry in list_reviewer_keys(data_dir, env)):
        return None
    final = data_dir / DEMO_DIR
    if not (final / PUBLIC_FILE).exists():
        _create_demo_pair(data_dir, final)
    return ReviewerPublicKey.load(final / PUBLIC_FILE)


def _create_demo_pair(data_dir: Path, final: Path) -> None:
    ensure_private_dir(data_dir)
    staging = data_dir / f".demo-reviewer-{secrets.token_hex(8)}"
    ensure_private_dir(staging)
    try:
        private = generate_reviewer_key("hybrid", demo=True)
        # The passphrase is public, so a costly KDF would protect nothing; keep start-up fast.
        private.save(staging / PRIVATE_FILE, DEMO_PASSPHRASE, FAST_KDF)
        private.public.save(staging / PUBLIC_FILE)
        with contextlib.suppress(OSError):
            # Fails when another process already put its folder there; that one wins.
            os.rename(staging, final)
            fsync_dir(data_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if not (final / PUBLIC_FILE).exists():
        raise CorruptData(f"The demo reviewer folder {str(final)!r} exists but has no key.")


def add_reviewer(data_dir: Path, source: Path) -> ReviewerPublicKey:
    """Copy the public key file `source` into DATA_DIR/reviewers/ (checked first).

    Refuses private key files and demo keys with a message that says what to give instead.
    """
    key = ReviewerPublicKey.load(source)
    if key.demo:
        raise CorruptData(
            "This is a demo reviewer key; it cannot protect real accounts. Create a real "
            "key with 'attest keys init-reviewer --out DIR' and add its reviewer.pub."
        )
    folder = data_dir / REVIEWERS_DIR
    ensure_private_dir(folder)
    key.save(folder / f"{key.fingerprint}.pub")
    return key


def resolve_fingerprint(data_dir: Path, fingerprint: str) -> Path | None:
    """The data directory's key file whose fingerprint is or starts with `fingerprint`.

    A prefix must be at least 8 characters and match exactly one key; otherwise None.
    """
    wanted = fingerprint.strip().lower()
    if len(wanted) < MIN_FINGERPRINT_PREFIX:
        return None
    matches = [
        entry.path
        for entry in _data_dir_entries(data_dir)
        if entry.key.fingerprint.startswith(wanted)
    ]
    return matches[0] if len(matches) == 1 else None


def remove_reviewer(data_dir: Path, fingerprint: str) -> ReviewerPublicKey | None:
    """Remove the data directory's reviewer key `fingerprint` (or unique prefix); None if none."""
    path = resolve_fingerprint(data_dir, fingerprint)
    if path is None:
        return None
    key = ReviewerPublicKey.load(path)
    path.unlink()
    fsync_dir(path.parent)
    return key
