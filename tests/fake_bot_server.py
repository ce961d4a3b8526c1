"""The fake Bot API (tests/fakebotapi.py) served over HTTP on 127.0.0.1, like api.telegram.org.

    with serve_fake_api(api) as url:      # url = "http://127.0.0.1:PORT"
        ... ATTEST_TELEGRAM_API_URL=url attest run ...

Routes: `/bot<token>/<method>` (GET or POST; form, multipart or JSON bodies, read the way
Telegram reads them) and `/file/bot<token>/<path>` for downloads. A wrong token gets
Telegram's 401. The server runs in a background thread with its own event loop, so a test
can drive a bot process and inspect `api` at the same time (FakeBotAPI is thread-safe).
`deliver_webhook` posts an update to a webhook the way Telegram does.
"""

from __future__ import annotations

import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.botapi_spec import coerce, spec
from tests.fakebotapi import FakeBotAPI, answer

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def fake_api_app(api: FakeBotAPI) -> Starlette:
    """A Starlette app that answers Bot API calls from `api`."""

    async def method(request: Request) -> Response:
        if request.path_params["token"] != api.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        name = request.path_params["method"]
        raw: dict[str, str] = dict(request.query_params)
        files: dict[str, bytes] = {}
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/json"):
            body = await request.body()
            params: dict[str, Any] = {**coerce(name, raw), **(json.loads(body) if body else {})}
        else:
            fields, files = parse_form(kind, await request.body())
            params = coerce(_canonical(name), {**raw, **fields})
        code, payload = await answer(api, name, params, files, poll_step=0.02)
        return Response(payload, status_code=code, media_type="application/json")

    async def download(request: Request) -> Response:
        if request.path_params["token"] != api.token:
            return Response(status_code=401)
        try:
            data = api.file_bytes(request.path_params["path"])
        except Exception:
            return Response(status_code=404)
        return Response(data, media_type="application/octet-stream")

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", method, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", download, methods=["GET"]),
        ]
    )


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and files of an urlencoded or multipart body (no extra library needed)."""
    if content_type.startswith("multipart/"):
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                fields[str(name)] = payload.decode("utf-8")
        return fields, files
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}


def _canonical(name: str) -> str:
    return next((m for m in spec()["methods"] if m.lower() == name.lower()), name)


def _json(code: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=code, media_type="application/json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_fake_api(api: FakeBotAPI) -> Iterator[str]:
    """Serve `api` on a free local port for the duration of the block; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        fake_api_app(api), host="127.0.0.1", port=port, log_level="error", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-bot-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake Bot API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        api.closing = True  # a long poll still open would hold the shutdown for its timeout
        server.should_exit = True
        thread.join(timeout=10)


def deliver_webhook(
    url: str, secret: str | None, update: dict[str, Any], timeout: float = 30
) -> int:
    """POST one update to a webhook as Telegram does; returns the HTTP status."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = httpx.post(url, json=update, headers=headers, timeout=timeout)
    return response.status_code
