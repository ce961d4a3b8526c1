"""The queue page: counts by status, filters, one page of accounts, bulk actions.

Nothing on it is decrypted: it shows the queue's plaintext columns (the node-signed
metadata copies), which is why it needs no account to be opened. Bulk actions act on
each selected row through the queue's own claim, release and triage, and say how many
worked and why the others did not.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from flows.elements import ELEMENT_TITLES
from flows.spec import ELEMENTS
from review.desk.app import Desk, Refused, first, to_unlock
from review.desk.facts import DeskTrust, lacking_page, lacks_of, left_out_lines
from review.desk.guard import has_control
from review.desk.views import ids_of
from storage.errors import StorageError
from storage.queue.listing import PAGE_SIZE, Filters, choices, list_page, tag_choices
from storage.queue.tables import STATUSES

MAX_PAGE = 100_000
FILTER_NAMES = ("status", "tag", "language", "flow", "from", "to", "mine", "urgent", "closed")
MAX_TAG = 64
MENUS_SECONDS = 60


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def filters_of(query: Mapping[str, str], me: str) -> tuple[Filters, dict[str, str], bool]:
    """Filters from the query string; the values to show back; whether any was unreadable."""
    shown = {name: query.get(name, "").strip()[:MAX_TAG] for name in FILTER_NAMES}
    bad = any(has_control(value) for value in shown.values())
    if bad:  # a NUL in a filter would be an error on PostgreSQL: left out, and said so
        shown = {name: "" if has_control(value) else value for name, value in shown.items()}
    status = shown["status"] or None
    if status is not None and status not in STATUSES:
        status, bad = None, True
    start, end = _day(shown["from"]), _day(shown["to"])
    if (shown["from"] and start is None) or (shown["to"] and end is None):
        bad = True
    filters = Filters(
        status=status,
        tag=shown["tag"] or None,
        language=shown["language"] or None,
        flow=shown["flow"] or None,
        received_from=_start(start) if start else None,
        received_before=_start(end) + timedelta(days=1) if end else None,
        assignee=me if shown["mine"] else None,
        urgent_only=bool(shown["urgent"]),
        include_closed=bool(shown["closed"]),
    )
    return filters, shown, bad


def _page_number(value: str | None) -> int:
    try:
        return min(max(1, int(value or "1")), MAX_PAGE)
    except ValueError:
        return 1


def routes(desk: Desk) -> list[Route]:
    t = desk.t

    async def queue(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        filters, shown, bad = filters_of(request.query_params, key.fingerprint)
        lacks, bad_lacks = lacks_of(request.query_params)
        bad, shown["lacks"] = bad or bad_lacks, lacks or ""
        number = _page_number(request.query_params.get("page"))

        def read() -> tuple[object, dict[str, list[str]], set[str], Counter[str], list[str]]:
            queue = desk.ctx.queue
            desk.reconcile()
            offset, left_out = (number - 1) * PAGE_SIZE, Counter[str]()
            if lacks is None:
                page = list_page(queue.engine, filters, offset=offset)
            else:  # "lacks E2" needs the answers: every matching account is opened
                ctx = desk.ctx
                page, left_out = lacking_page(
                    desk.facts,
                    queue,
                    key,
                    ctx.pins,
                    desk.lock.csrf,
                    filters,
                    lacks,
                    offset,
                    trust=DeskTrust.of(ctx),
                )
                ctx.witness_advance()
            now = time.monotonic()
            if desk.menus is None or now - desk.menus[0] > MENUS_SECONDS:
                desk.menus = (now, choices(queue.engine))
            # Languages and modes may wait a minute; tags never: a withdrawal applied by
            # another command since must take its tags (which can name people) with it.
            menus = {**desk.menus[1], "tags": tag_choices(queue.engine)}
            warnings = desk.replaced_node_warnings()
            return page, menus, set(desk.ctx.pins), left_out, warnings

        page, menus, pins, left_out, node_warnings = await desk.run(read)
        for line in left_out_lines(left_out, t.gettext):
            desk.notice(request, line)
        if bad:
            desk.notice(
                request,
                t.gettext("A filter could not be read and was left out. Dates are YYYY-MM-DD."),
            )
        kept = {k: v for k, v in shown.items() if v}
        return desk.page(
            "queue.html",
            request=request,
            page=page,
            number=number,
            pages=max(1, -(-page.total // PAGE_SIZE)),  # type: ignore[attr-defined]
            shown=shown,
            menus=menus,
            pins=pins,
            node_warnings=node_warnings,
            me=key.fingerprint,
            statuses=STATUSES,
            elements=ELEMENTS,
            element_titles=ELEMENT_TITLES,
            here="/queue?" + urlencode({**kept, "page": number}),
            query=urlencode(kept),
        )

    async def act(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        form = await desk.form(request)
        ids = ids_of(form)
        action = first(form, "action") or ""
        status = (first(form, "status") or "").strip()
        tag = (first(form, "tag") or "").strip()
        back = first(form, "back") or "/queue"
        if not back.startswith("/queue"):
            back = "/queue"
        if not ids:
            desk.notice(request, t.gettext("Select at least one account first."))
            return RedirectResponse(back, status_code=303)
        if action == "status" and status not in STATUSES:
            raise Refused(t.gettext("Choose a status for the selected accounts."))
        if action == "tag" and not (0 < len(tag) <= MAX_TAG):
            raise Refused(t.gettext("Type a tag of 1 to 64 characters."))
        if action not in ("claim", "release", "status", "tag"):
            raise Refused(t.gettext("Choose what to do with the selected accounts."))

        def apply() -> tuple[int, list[str]]:
            queue, me = desk.ctx.queue, key.fingerprint
            done, problems = 0, []
            for account_id in ids:
                try:
                    if action == "claim":
                        queue.triage(account_id, me, status="in-review")
                    elif action == "release":
                        queue.release(account_id, me)
                    elif action == "status":
                        queue.triage(account_id, me, status=status)
                    else:
                        queue.triage(account_id, me, add_tags=[tag])
                    done += 1
                except StorageError as error:
                    problems.append(t.gettext(str(error)))
            desk.ctx.witness_advance()
            return done, problems

        done, problems = await desk.run(apply)
        desk.menus = None
        desk.notice(request, t.gettext("Accounts changed: {n}.").format(n=done))
        for problem in sorted(set(problems)):
            count = problems.count(problem)
            desk.notice(
                request,
                t.gettext("Accounts not changed: {n}. {reason}").format(n=count, reason=problem),
            )
        return RedirectResponse(back, status_code=303)

    return [
        Route("/queue", queue, methods=["GET"]),
        Route("/queue/act", act, methods=["POST"]),
    ]
