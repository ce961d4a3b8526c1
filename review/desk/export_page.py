"""Exports from the desk: the formats and purposes of `attest review export`.

The same `build_export` decides what each person's consent allows; every exported
account gets its "exported" audit entry before the file is handed to the browser, which
saves it where the reviewer chooses (the desk itself writes no file).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from review.desk.app import Desk, Refused, first, to_unlock
from review.export import (
    ExportResult,
    audit_export,
    build_export,
    left_out_lines,
    to_csv,
    to_json,
    to_xlsx,
)

PURPOSES = ("reports", "mechanisms", "internal")
FORMATS = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def routes(desk: Desk) -> list[Route]:
    t = desk.t

    async def export_form(request: Request) -> Response:
        if desk.key(request) is None:
            return to_unlock()
        return desk.page("export.html", request=request, purposes=PURPOSES, formats=tuple(FORMATS))

    async def export(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        form = await desk.form(request)
        purpose = first(form, "purpose") or ""
        fmt = first(form, "format") or ""
        include_free_text = first(form, "include_free_text") == "yes"
        if purpose not in PURPOSES or fmt not in FORMATS:
            raise Refused(t.gettext("Choose a purpose and a format for the export."))

        def build() -> tuple[bytes, ExportResult]:
            queue = desk.ctx.queue
            desk.reconcile(force=True)
            result = build_export(
                queue,
                key,
                desk.ctx.pins,
                purpose,  # type: ignore[arg-type]
                include_free_text=include_free_text,
                trusted_reviewers=desk.ctx.reviewer_pins,  # as `review export`
                node_cutoffs=desk.ctx.node_cutoffs,
                receipt_signers=desk.ctx.reviewer_pins,
                demo_resealers=desk.ctx.demo_reviewer_pins,
            )
            accounts = result.document["accounts"]
            if fmt == "xlsx":
                data = to_xlsx(accounts)
            elif fmt == "csv":
                data = to_csv(accounts).encode("utf-8")
            else:
                data = to_json(result.document).encode("utf-8")
            audit_export(queue, result, key.fingerprint, fmt)
            desk.ctx.witness_advance()
            return data, result

        data, result = await desk.run(build)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        name = f"attest-export-{purpose}-{stamp}.{fmt}"
        desk.notice(
            request,
            t.gettext(
                "Exported {n} account(s); left out {no} without consent for this purpose and {bad} that failed verification."
            ).format(n=len(result.exported), no=result.not_consented, bad=result.unverified)
            + "".join(" " + line for line in left_out_lines(result, t.gettext)),
        )
        return Response(
            data,
            media_type=FORMATS[fmt],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    return [
        Route("/export", export_form, methods=["GET"]),
        Route("/export", export, methods=["POST"]),
    ]
