"""One account: consent first, answers in two languages, files on request, custody, triage.

Opening it runs every check of `review.opened.open_verified` (pinned node, signature,
hashes of answers and files) and writes an "opened" audit entry, as `attest review show`
does: once per account and view (on screen, printed) per unlock, not at every reload. A file is decrypted only when the reviewer asks for it, into the response and
nowhere else, and that is audited too ("file-decrypted").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from review.desk.app import Desk, Refused, first, to_unlock
from review.desk.elements_page import elements_of
from review.desk.guard import has_control
from review.desk.views import answers_of, scopes_of
from review.opened import (
    OpenedAccount,
    decrypt_attachment,
    file_entries,
    open_verified,
    reseals_for_key,
)
from review.show import ShownNote, printable, urgent_reasons
from storage.crypto import CryptoError, ReviewerPrivateKey
from storage.crypto.notes import notes_key, open_note, seal_note
from storage.db import read_connection
from storage.errors import StorageError
from storage.queue.audit import entries_for
from storage.queue.store import StoredAccount, reviewer_actor
from storage.queue.tables import STATUSES

MAX_NOTE = 20_000
MAX_TAG = 64
# The extension a decrypted file is saved with, from its MIME type as the node recorded
# it; a type not listed here is saved as .bin. Only this table's values reach the file
# name: nothing the person sent or typed (a document's own name is never used).
EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/webm": ".webm",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


def _notes_key(desk: Desk, stored: StoredAccount, key: ReviewerPrivateKey) -> bytes:
    """The key of this account's notes, as `review show` finds it: from the sealed envelope,
    or a reseal to this key by a pinned node's account or a pinned colleague."""
    queue = desk.ctx.queue
    return notes_key(
        stored.sealed,
        key,
        desk.ctx.pins,
        reseals_for_key(queue, stored, key),
        desk.ctx.reviewer_pins,
    )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def extension_of(mime_type: str | None) -> str:
    """The extension of `mime_type` (".ogg" for "audio/ogg"); ".bin" if not in EXTENSIONS."""
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    return EXTENSIONS.get(base, ".bin")


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)


def routes(desk: Desk) -> list[Route]:
    t = desk.t

    def untrusted(stored: StoredAccount) -> Refused:
        node = printable(stored.sealed.node_fingerprint or "", one_line=True)
        return Refused(
            t.gettext(
                "This account comes from node {node}, which you have not pinned, so it was "
                "not opened. Check that fingerprint with whoever runs the node, then run: "
                "attest keys trust-node {node}"
            ).format(node=node),
            403,
        )

    def open_one(
        key: ReviewerPrivateKey, account_id: str, *, check_files: bool = True
    ) -> tuple[StoredAccount, OpenedAccount]:
        queue = desk.ctx.queue
        stored = queue.get(account_id)
        if stored.sealed.node_fingerprint not in desk.ctx.pins:
            raise untrusted(stored)
        opened = open_verified(
            queue,
            stored,
            key,
            desk.ctx.pins,
            check_files=check_files,
            trusted_reviewers=desk.ctx.reviewer_pins,  # reseals by pinned colleagues, as `show`
            node_cutoffs=desk.ctx.node_cutoffs,
            receipt_signers=desk.ctx.reviewer_pins,
        )
        return stored, opened

    def shown(
        key: ReviewerPrivateKey, account_id: str, view: str, *, audited: bool = True
    ) -> dict[str, Any]:
        queue = desk.ctx.queue
        stored, opened = open_one(key, account_id)
        if audited and desk.first_opening(account_id, view):
            queue.record(reviewer_actor(key.fingerprint), "opened", account_id, {"view": view})
            desk.ctx.witness_advance()
        notes_of = _notes_key(desk, stored, key)
        notes = []
        for note in queue.notes(account_id):
            try:
                text = open_note(notes_of, account_id, note.note_id, note.sealed)
            except CryptoError:
                text = t.gettext("(this note failed its integrity check and is not shown)")
            notes.append(ShownNote(note.author, note.created_at, text))
        with read_connection(queue.engine) as conn:
            trail = entries_for(conn, account_id)
        body = opened.body
        return {
            "item": queue.item(account_id),
            "body": body,
            "language": str(body.get("language") or "en"),
            "scopes": scopes_of(opened, t),
            "answers": answers_of(opened, t),
            "elements": elements_of(opened.body, t),
            "files": opened.files,
            "consent": body.get("consent", {}),
            "custody": body.get("custody", {}),
            "notes": notes,
            "trail": trail,
            "statuses": STATUSES,
            "urgent_reasons": urgent_reasons(body),
        }

    def account_id_of(request: Request) -> str:
        account_id = str(request.path_params["account_id"])
        if len(account_id) > 64 or has_control(account_id):
            raise Refused(t.gettext("There is no account with that id in the queue."), 404)
        return account_id

    async def show(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        account_id = account_id_of(request)
        values = await desk.run(lambda: shown(key, account_id, "desk"))
        return desk.page("account.html", request=request, me=key.fingerprint, **values)

    async def printed(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        account_id = account_id_of(request)
        values = await desk.run(lambda: shown(key, account_id, "print"))
        return desk.page("print.html", request=request, me=key.fingerprint, **values)

    async def change(
        request: Request,
        work: Callable[[ReviewerPrivateKey, str, dict[str, list[str]]], str],
        *,
        keep_typed: bool = False,
    ) -> Response:
        """Do `work` on the account; with `keep_typed`, a refusal shows the account again
        with what was typed still in the form (otherwise the refusal page)."""
        key = desk.key(request)
        if key is None:
            return to_unlock()
        account_id = account_id_of(request)
        form = await desk.form(request)

        def apply() -> str:
            message = work(key, account_id, form)
            desk.ctx.witness_advance()
            return message

        try:
            desk.notice(request, await desk.run(apply))
        except (StorageError, Refused) as error:
            if not keep_typed:
                raise
            problem, status = desk.error_text(error)
            values = await desk.run(lambda: shown(key, account_id, "desk", audited=False))
            draft = {name: first(form, name) or "" for name in ("add_tag", "note")}
            return desk.page(
                "account.html",
                request=request,
                status=status,
                me=key.fingerprint,
                problem=problem,
                draft=draft,
                **values,
            )
        desk.menus = None
        return RedirectResponse(f"/accounts/{account_id}", status_code=303)

    def claim(key: ReviewerPrivateKey, account_id: str, form: dict[str, list[str]]) -> str:
        desk.ctx.queue.triage(account_id, key.fingerprint, status="in-review")
        return t.gettext("You hold this account now.")

    def release(key: ReviewerPrivateKey, account_id: str, form: dict[str, list[str]]) -> str:
        status = desk.ctx.queue.release(account_id, key.fingerprint)
        if status == "new":
            return t.gettext("Released: its review ended, and the account is new again.")
        return t.gettext(
            "Released: you no longer hold it, and it keeps its status {status}."
        ).format(status=status)

    def triage(key: ReviewerPrivateKey, account_id: str, form: dict[str, list[str]]) -> str:
        status = (first(form, "status") or "").strip() or None
        add = (first(form, "add_tag") or "").strip()
        remove = (first(form, "remove_tag") or "").strip()
        text = (first(form, "note") or "").strip()
        if status is not None and status not in STATUSES:
            raise Refused(t.gettext("Choose a status from the list."))
        if len(add) > MAX_TAG or len(remove) > MAX_TAG:
            raise Refused(t.gettext("Type a tag of 1 to 64 characters."))
        if len(text) > MAX_NOTE:
            raise Refused(
                t.gettext("The note is longer than {n} characters; nothing was saved.").format(
                    n=MAX_NOTE
                )
            )
        queue = desk.ctx.queue
        was = (first(form, "status_was") or "").strip() or None
        if status is not None and status == was:
            status = None  # left as the page showed it: not a change to make
        elif status is not None and was is not None and queue.item(account_id).status != was:
            # Changed by someone else since this page was shown: saving the page's
            # choice would silently undo theirs.
            raise Refused(
                t.gettext(
                    "Someone else changed this account's status after you opened it, so "
                    "nothing was saved. Check the status shown now and save again."
                ),
                409,
            )
        sealer = None
        if text:
            stored = queue.get(account_id)
            if stored.sealed.node_fingerprint not in desk.ctx.pins:
                raise untrusted(stored)
            notes_of = _notes_key(desk, stored, key)

            def sealer(note_id: str) -> bytes:
                return seal_note(notes_of, account_id, note_id, text)

        changed = queue.triage(
            account_id,
            key.fingerprint,
            status=status,
            add_tags=[add] if add else [],
            remove_tags=[remove] if remove else [],
            note=sealer,
        )
        return t.gettext("Saved.") if changed else t.gettext("Nothing to change.")

    async def download(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        account_id = account_id_of(request)
        await desk.form(request)
        number = int(request.path_params["number"])

        def decrypt() -> tuple[bytes, str, str]:
            _stored, opened = open_one(key, account_id, check_files=False)
            entries = {e.number: e for e in file_entries(opened.body)}
            if number not in entries:
                raise Refused(
                    t.gettext(
                        "This account has {n} file(s); choose a number from 1 to {n}."
                    ).format(n=len(entries)),
                    404,
                )
            entry = entries[number]
            sink = _Buffer()
            decrypt_attachment(desk.ctx.queue, account_id, entry, sink)  # type: ignore[arg-type]
            desk.ctx.queue.record(
                reviewer_actor(key.fingerprint),
                "file-decrypted",
                account_id,
                {"file": entry.file_id},
            )
            desk.ctx.witness_advance()
            return b"".join(sink.parts), entry.kind, extension_of(entry.mime_type)

        data, kind, extension = await desk.run(decrypt)
        # Id and kind come from the queue, the extension from a fixed table: only letters
        # and digits reach the header.
        name = f"{_safe(account_id)[:12]}-file{number}-{_safe(kind)[:16]}{extension}"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def do_claim(request: Request) -> Response:
        return await change(request, claim)

    async def do_release(request: Request) -> Response:
        return await change(request, release)

    async def do_triage(request: Request) -> Response:
        """Triage; when refused, the account again with what was typed still in the form."""
        return await change(request, triage, keep_typed=True)

    return [
        Route("/accounts/{account_id}", show, methods=["GET"]),
        Route("/accounts/{account_id}/print", printed, methods=["GET"]),
        Route("/accounts/{account_id}/claim", do_claim, methods=["POST"]),
        Route("/accounts/{account_id}/release", do_release, methods=["POST"]),
        Route("/accounts/{account_id}/triage", do_triage, methods=["POST"]),
        Route("/accounts/{account_id}/files/{number:int}", download, methods=["POST"]),
    ]
