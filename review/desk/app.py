"""The desk's Starlette application: one reviewer, one queue, one unlocked key at a time.

    GET  /unlock  POST /unlock  POST /lock         the key (lock.py)
    GET  /queue   POST /queue/act                  the queue and bulk actions (queue_page.py)
    GET  /accounts/{id} (+ /print)                 one account (account_page.py)
    POST /accounts/{id}/claim|release|triage|files/{n}
    GET  /export  POST /export                     exports as `attest review export`
    GET  /summary                                  case summary by element (elements_page.py)
    GET  /patterns (+ /patterns.csv)               charts across accounts (patterns_page.py)
    GET  /static/...                               the desk's own style and script

Every handler that reads the queue or decrypts runs in a worker thread, one at a time
(`Desk.serial`): the queue's connections and the witness file are not shared between
concurrent requests of one person's desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.i18n import Catalog, translator
from review.context import NODE_KEY_REPLACED, ReviewerContext
from review.desk.facts import FactsCache
from review.desk.guard import BadForm, DeskGuard, origin_ok, read_form
from review.desk.lock import COOKIE, DeskLock
from review.desk.views import (
    ACTION_NAMES,
    STATUS_NAMES,
    actor_label,
    direction,
    reviewer_label,
    text_direction,
)
from review.opened import VerificationFailed
from review.show import when
from storage.crypto import CryptoError, KeyFileMissing, ReviewerPrivateKey
from storage.errors import StorageError
from storage.intake.keyring import DEMO_DIR, PRIVATE_FILE
from storage.queue.audit import AuditSigner
from storage.queue.items import reviewer_actor
from storage.queue.store import AccountNotFound, AccountWithdrawn

STATIC = Path(__file__).parent / "static"
RECONCILE_SECONDS = 30.0
T = TypeVar("T")


class Refused(Exception):
    """A request the desk will not serve; rendered as a page with `message` and `status`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Desk:
    """Everything one desk process holds: settings, the lock, the queue, the templates."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int,
        host: str = "127.0.0.1",
        idle_seconds: float,
        language: str | None = None,
    ) -> None:
        self.ctx = ReviewerContext(env)
        self.t: Catalog = (
            translator(language) if language else self.ctx.t
        )  # the reviewer's language
        self.lock = DeskLock(idle_seconds)
        self._signing_as: str | None = None
        self.serial = threading.Lock()
        names = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else {host}
        self.hosts = {f"{name}:{port}" for name in names}
        self.origins = {f"http://{h}" for h in self.hosts}
        # Notices wait for the next page of the session they belong to (keyed by its
        # cookie; "" for a browser with none, e.g. the unlock page after a lock).
        self._notices: dict[str, list[str]] = {}
        # The filter menus (languages, modes, tags present) cost a pass over the listing
        # index: kept for a while, forgotten after any change made from the desk.
        self.menus: tuple[float, dict[str, list[str]]] | None = None
        # Facts read from opened accounts for the elements filter, patterns and case
        # summary: memory only, forgotten at every lock (review/desk/facts.py).
        self.facts = FactsCache()
        # Which accounts were audited as opened, in which view, since the unlock (keyed
        # by the lock's CSRF token, new at every unlock and lock): one "opened" entry per
        # account and view per unlock, not one per reload.
        self._opened: tuple[str | None, set[tuple[str, str]]] = (None, set())
        self._reconciled_at = -RECONCILE_SECONDS
        configured = env.get("ATTEST_REVIEWER_KEY")
        self.demo = not configured
        self.key_path = (
            Path(configured).expanduser()
            if configured
            else self.ctx.data_dir / DEMO_DIR / PRIVATE_FILE
        )
        self.jinja = Environment(
            loader=PackageLoader("review.desk", "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
        )
        self.jinja.install_gettext_callables(  # type: ignore[attr-defined]
            self.t.gettext, self.t.ngettext, newstyle=False
        )
        self.jinja.globals.update(
            reviewer_label=reviewer_label,
            actor_label=actor_label,
            direction=direction,
            text_direction=text_direction,
            when=when,
            status_names=STATUS_NAMES,
            action_names=ACTION_NAMES,
        )

    # -- pages --------------------------------------------------------------------------

    def notice(self, request: Request | None, text: str) -> None:
        """Show `text` on the next page this request's session sees (and no other's)."""
        self.notice_for(request.cookies.get(COOKIE, "") if request is not None else "", text)

    def notice_for(self, session: str, text: str) -> None:
        """Show `text` on the next page of the browser holding cookie `session`."""
        if len(self._notices) > 64:  # stale sessions' notices never pile up
            self._notices.clear()
        pending = self._notices.setdefault(session, [])
        if text not in pending:  # repeated tries elsewhere: said once, never piled up
            pending.append(text)

    def page(
        self, name: str, status: int = 200, *, request: Request | None = None, **values: Any
    ) -> HTMLResponse:
        session = request.cookies.get(COOKIE, "") if request is not None else None
        notices = self._notices.pop(session, []) if session is not None else []
        html = self.jinja.get_template(name).render(
            lang=self.t.language,
            dir=direction(self.t.language),
            csrf=self.lock.csrf,
            unlocked=self.lock.unlocked,
            idle_seconds=int(self.lock.idle_seconds),
            notices=notices,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def refused(self, error: Refused, request: Request | None = None) -> HTMLResponse:
        return self.page(
            "refused.html", status=error.status, request=request, message=error.message
        )

    def error_text(self, error: Exception) -> tuple[str, int]:
        """What a reviewer reads for an error they can meet: message and HTTP status."""
        t = self.t
        if isinstance(error, VerificationFailed):
            detail = t.gettext("Failed check: {what}.").format(what=error.what)
            return f"{t.gettext(str(error))} {detail}", 422
        if isinstance(error, KeyFileMissing):
            return t.gettext("The key file {path} does not exist.").format(path=error.path), 500
        if isinstance(error, Refused):
            return error.message, error.status
        status = 404 if isinstance(error, AccountNotFound | AccountWithdrawn) else 409
        return t.gettext(str(error)), status

    def reconcile(self, *, force: bool = False) -> None:
        """Log receipts and apply withdrawals, as every `attest review` command does first.

        From the queue page at most every RECONCILE_SECONDS: with 100,000 accounts its
        check for unlogged receipts alone can take 200 ms. The listing leaves out accounts
        with a pending withdrawal itself, so a withdrawal counts from the moment it arrives.
        """
        now = time.monotonic()
        if force or now - self._reconciled_at >= RECONCILE_SECONDS:
            self.ctx.queue.reconcile()
            self.ctx.witness_advance()
            self._reconciled_at = now

    def replaced_node_warnings(self) -> list[str]:
        """The warning `attest review` commands print when the queue's key for a pinned node
        was replaced, for the page (fingerprints only); the terminal gets the CLI's line
        once (ReviewerContext.replaced_nodes). Asked at every unlock and queue page: the
        row can be replaced while the desk runs. Call from a worker thread (`run`)."""
        return [
            self.t.gettext(NODE_KEY_REPLACED).format(pinned=pinned, found=found)
            for pinned, found in self.ctx.replaced_nodes()
        ]

    def first_opening(self, account_id: str, view: str) -> bool:
        """Whether this unlock has not yet opened `account_id` in `view` (now it has)."""
        token = self.lock.csrf
        if self._opened[0] != token:
            self._opened = (token, set())
        seen = self._opened[1]
        if (account_id, view) in seen:
            return False
        seen.add((account_id, view))
        return True

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in a worker thread, after any other request's work has finished."""

        def serial() -> T:
            with self.serial:
                return work()

        return await run_in_threadpool(serial)

    # -- access -------------------------------------------------------------------------

    def key(self, request: Request) -> ReviewerPrivateKey | None:
        key = self.lock.key_for(request.cookies.get(COOKIE))
        if key is not None and self._signing_as != key.fingerprint:
            # What the desk writes to the audit log is signed by the unlocked (main) key
            # and names its reviewer (issue 15); through the lock, so locking drops it.
            self.ctx.sign_with(AuditSigner(reviewer_actor(key.fingerprint), self.lock.sign))
            self._signing_as = key.fingerprint
        return key

    async def form(self, request: Request) -> dict[str, list[str]]:
        """The POSTed form once it passed the cross-site checks; Refused otherwise."""
        if not origin_ok(request, self.origins):
            raise Refused(
                self.t.gettext("This request came from another site and was refused."), 403
            )
        try:
            form = await read_form(request)
        except BadForm:
            raise Refused(
                self.t.gettext(
                    "The form could not be read (too large, or not a form). Nothing was "
                    "changed; go back and try again."
                ),
                400,
            ) from None
        if not self.lock.csrf_ok(first(form, "csrf")):
            raise Refused(
                self.t.gettext(
                    "This form has expired (the desk was locked or restarted since it was "
                    "shown). Nothing was changed; open the page again."
                ),
                403,
            )
        return form


def first(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def to_unlock() -> RedirectResponse:
    return RedirectResponse("/unlock", status_code=303)


def build_app(desk: Desk) -> Starlette:
    from review.desk import (
        account_page,
        elements_page,
        export_page,
        patterns_page,
        queue_page,
        unlock_page,
    )

    async def home(request: Request) -> Response:
        return RedirectResponse("/queue" if desk.key(request) else "/unlock", status_code=303)

    routes = [
        Route("/", home),
        *unlock_page.routes(desk),
        *queue_page.routes(desk),
        *account_page.routes(desk),
        *export_page.routes(desk),
        *elements_page.routes(desk),
        *patterns_page.routes(desk),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def auto_lock() -> None:
            # Checked often enough that the key goes within a few seconds of the deadline.
            interval = max(0.5, min(desk.lock.idle_seconds / 4, 15.0))
            while True:
                await asyncio.sleep(interval)
                desk.lock.expire_if_idle()

        task = asyncio.create_task(auto_lock())
        try:
            yield
        finally:
            task.cancel()
            desk.lock.lock()
            desk.ctx.close()

    app = Starlette(routes=routes, lifespan=lifespan)

    async def refused_handler(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused)
        return desk.refused(error, request)

    async def failed_handler(request: Request, error: Exception) -> Response:
        message, status = desk.error_text(error)
        return desk.page("refused.html", status=status, request=request, message=message)

    app.add_exception_handler(Refused, refused_handler)
    app.add_exception_handler(StorageError, failed_handler)
    app.add_exception_handler(CryptoError, failed_handler)
    guarded = DeskGuard(
        app,
        desk.hosts,
        lambda: desk.t.gettext(
            "This desk answers only at its own address ({address}). The request named "
            "another host and was refused."
        ).format(address=sorted(desk.origins)[0]),
    )
    app.state.guarded = guarded
    return app


def asgi(desk: Desk) -> DeskGuard:
    """The application behind its guard: what uvicorn serves."""
    app = build_app(desk)
    guard: DeskGuard = app.state.guarded
    return guard


__all__ = ["Desk", "Refused", "asgi", "build_app", "first", "to_unlock"]
