"""Unlocking the reviewer's key with its passphrase, and locking the desk again."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from review.desk.app import Desk, first
from review.desk.guard import origin_ok
from review.desk.lock import COOKIE
from storage.crypto import CryptoError, KeyFileMissing

MAX_PASSPHRASE = 1024


def routes(desk: Desk) -> list[Route]:
    t = desk.t

    async def unlock_form(request: Request) -> Response:
        if desk.key(request) is not None:
            return RedirectResponse("/queue", status_code=303)
        return desk.page(
            "unlock.html",
            request=request,
            demo=desk.demo,
            key_path=str(desk.key_path),
            node_warnings=await desk.run(desk.replaced_node_warnings),
        )

    async def unlock(request: Request) -> Response:
        form = await desk.form(request)
        passphrase = first(form, "passphrase") or ""
        problem = None
        if not passphrase or len(passphrase) > MAX_PASSPHRASE:
            problem = t.gettext("Type the passphrase of your reviewer key.")
        elif not desk.key_path.exists():
            problem = t.gettext(
                "The reviewer key file {path} does not exist. Set ATTEST_REVIEWER_KEY to "
                "your private key file and start the desk again."
            ).format(path=desk.key_path)
        else:
            try:
                session, replaced = await desk.run(
                    lambda: desk.lock.unlock(desk.key_path, passphrase)
                )
                if replaced is not None:
                    # One session at a time, the last unlock wins (it needed the
                    # passphrase). The browser thrown out is told why on its next page.
                    desk.notice_for(
                        replaced,
                        t.gettext(
                            "The desk was locked here because someone unlocked it from "
                            "another window or browser (one session at a time). If that "
                            "was not you, unlock it and lock it again, and find out who "
                            "can use this computer."
                        ),
                    )
            except KeyFileMissing:
                problem = t.gettext("The key file {path} does not exist.").format(
                    path=desk.key_path
                )
            except CryptoError:
                problem = t.gettext(
                    "That passphrase does not open this key. Check it and try again."
                )
                working = desk.lock.current_session()
                if working is not None and working != request.cookies.get(COOKIE):
                    # Nothing changes for the reviewer at work (the key and session stay),
                    # but they should know someone tried.
                    desk.notice_for(
                        working,
                        t.gettext(
                            "A wrong passphrase was typed on this desk's unlock page from "
                            "another window or browser. Your session goes on; if that was "
                            "not you, find out who can use this computer."
                        ),
                    )
        if problem is not None:
            return desk.page(
                "unlock.html",
                request=request,
                status=401,
                problem=problem,
                demo=desk.demo,
                key_path=str(desk.key_path),
                node_warnings=await desk.run(desk.replaced_node_warnings),
            )
        response = RedirectResponse("/queue", status_code=303)
        response.set_cookie(COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    async def lock(request: Request) -> Response:
        # Locking needs no CSRF token: a forged lock costs a passphrase, and the token of
        # a page shown before an auto-lock is stale, yet its lock button must still work.
        if not origin_ok(request, desk.origins):
            # Refused: nothing locked, so nothing to tell (a notice here would say the
            # desk is locked while the key is still in memory).
            return RedirectResponse("/unlock", status_code=303)
        desk.lock.lock()
        desk.notice(None, t.gettext("The desk is locked. Your key is no longer in memory."))
        response = RedirectResponse("/unlock", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return [
        Route("/unlock", unlock_form, methods=["GET"]),
        Route("/unlock", unlock, methods=["POST"]),
        Route("/lock", lock, methods=["POST"]),
    ]
