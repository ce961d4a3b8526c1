"""The intake store's tables (SQLAlchemy Core).

What sits in plaintext is only what the node needs to run: pseudonyms (HMAC of channel
and chat id), times, opaque ids and the signed metadata of sealed accounts. Everything a
person said is ciphertext:

    sessions            a draft: data key wrapped by the node master key + encrypted state
    processed_updates   channel update keys already applied (idempotency), each with its
                        turn's reply, encrypted, until the channel has sent it (`owed`:
                        certainly never delivered)
    outbox              sealed accounts waiting for sync
    files               encrypted files (bytes on disk under DATA_DIR/files/<file_id>);
                        their key and details encrypted under the draft's data key, or
                        linked to an outbox account once sealed
    withdrawal_requests withdrawal secrets (HMAC of a reference code) waiting for sync;
                        the column keeps its old name, `withdrawal_tag`
    withdrawal_attempts per-respondent attempt times, for rate limiting
    sent_codes          a keyed digest of the reference code of each account sent, and
                        nothing else, to tell a mistyped withdrawal code from this node's own
    chat_messages       channel message ids, encrypted, kept at most 48 hours for erasure

AAD for every encrypted value is `table|respondent-or-id|column` (see storage/intake/drafts.py).
Changing a table here needs a new revision in storage/intake/migrations/versions/.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from storage.db import UtcDateTime

# Stable constraint names, so migrations can refer to them on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


PSEUDONYM = String(64)

sessions = Table(
    "sessions",
    metadata,
    Column("respondent", PSEUDONYM, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    # NULL while only files exist for a draft that has no saved state yet.
    Column("blob", LargeBinary, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("update_key", String(200), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False, index=True),
    # Set only while the turn's reply waits to be sent (storage/intake/replies.py), and cleared
    # with it: the pseudonym is there so shredding a draft can clear that person's too.
    Column("respondent", PSEUDONYM, nullable=True, index=True),
    Column("reply", LargeBinary, nullable=True),
    # The kept reply certainly never reached the person (every part refused, none sent):
    # it is owed to their next message (bot/dispatcher.py).
    Column("owed", Boolean, nullable=False, server_default=false()),
)

outbox = Table(
    "outbox",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("node_fingerprint", String(64), nullable=False),
    Column("metadata_json", Text, nullable=False),  # signed plaintext metadata
    Column("recipients_json", Text, nullable=False),  # fingerprint -> base64 wrapped key
    Column("body", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    # withdrawal_hash(secret) from the signed metadata (the clear tag, which is the
    # secret, in rows sealed before queue revision 0003); the name is from then.
    Column("withdrawal_tag", String(64), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

files = Table(
    "files",
    metadata,
    Column("file_id", String(32), primary_key=True),
    # Set while the file belongs to a draft; NULL once it is part of a sealed account.
    Column("respondent", PSEUDONYM, nullable=True, index=True),
    Column(
        "account_id",
        String(64),
        ForeignKey("outbox.account_id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    # File key and details, encrypted under the draft's data key; NULL once sealed,
    # because the key then lives only inside the sealed body.
    Column("details", LargeBinary, nullable=True),
    Column("stored_size", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

withdrawal_requests = Table(
    "withdrawal_requests",
    metadata,
    Column("withdrawal_tag", String(64), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

withdrawal_attempts = Table(
    "withdrawal_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("respondent", PSEUDONYM, nullable=False, index=True),
    Column("attempted_at", UtcDateTime, nullable=False, index=True),
)

# `NodeKeys.sent_code_digest` of every account this node sealed (storage/intake/sent_codes.py).
# No time and no respondent, and on SQLite no rowid (rows kept in digest order), so nothing
# here says who sent which account or in what order. Kept for as long as the node runs:
# an account may be withdrawn years later.
sent_codes = Table(
    "sent_codes",
    metadata,
    Column("code_digest", String(64), primary_key=True),
    sqlite_with_rowid=False,
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("respondent", PSEUDONYM, nullable=False, index=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("blob", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

# Documenter invites (storage/intake/documenters.py). The code itself is never stored:
# only its SHA-256. The note (who it was for) is encrypted under the node master key and
# never leaves the node; the pseudonym is an HMAC of the code's hash under the node's
# pseudonym secret, so it is the same wherever the code was used.
documenters = Table(
    "documenters",
    metadata,
    Column("pseudonym", String(32), primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("note", LargeBinary, nullable=True),
    # The documenter's profile (role, affected), encrypted; asked again after /profile.
    Column("profile", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    # The respondent pseudonym (chat or console person) the code was bound to, once.
    Column("respondent", PSEUDONYM, nullable=True, unique=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("accounts", Integer, nullable=False, server_default="0"),
)

# Wrong invite codes, per respondent, for rate limiting (kept an hour).
invite_attempts = Table(
    "invite_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("respondent", PSEUDONYM, nullable=False, index=True),
    Column("attempted_at", UtcDateTime, nullable=False, index=True),
)
