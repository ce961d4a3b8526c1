"""What every request to the desk passes first, and how a form is read.

Host header not the desk's own        421, nothing else runs (DNS rebinding: a page
                                      on evil.example whose name now points at
                                      127.0.0.1 sends Host: evil.example)
every response                        Content-Security-Policy default-src 'self' and
                                      no framing, no-store, nosniff, referrer to itself only (so
                                          its own POSTs still carry its Origin)
a POST                                `csrf_problem`: Origin (when sent) must be the
                                      desk's, and the form must carry the CSRF token
a form                                `read_form`: urlencoded, at most MAX_FORM_BYTES,
                                      valid UTF-8, at most MAX_FIELDS fields
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_FORM_BYTES = 256 * 1024
MAX_FIELDS = 1000

CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class BadForm(Exception):
    """The form cannot be read: too large, not a form, or not UTF-8."""


class DeskGuard:
    """ASGI middleware: refuse foreign Host headers, add the security headers everywhere."""

    def __init__(self, app: ASGIApp, hosts: Collection[str], refusal: Callable[[], str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                message["headers"] = kept + HEADERS
            await send(message)

        if host not in self.hosts:
            body = self.refusal().encode("utf-8")
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 421,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_headers)


def origin_ok(request: Request, origins: Collection[str]) -> bool:
    """A browser names the page a POST came from; a missing Origin is a non-browser client."""
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in origins:
        return False
    return request.headers.get("sec-fetch-site") not in ("cross-site", "same-site")


async def read_form(request: Request) -> dict[str, list[str]]:
    """The urlencoded form of `request`, each name with its values; BadForm if unreadable."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm()
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise BadForm()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm() from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        if has_control(name) or has_control(value, allow="\t\n\r"):
            raise BadForm()  # NUL and the like: no database stores them, no form sends them
        form.setdefault(name, []).append(value)
    return form


def has_control(text: str, allow: str = "") -> bool:
    """Whether `text` holds a control character (C0, DEL, C1) other than those in `allow`."""
    return any((ch < " " or "\x7f" <= ch <= "\x9f") and ch not in allow for ch in text)
