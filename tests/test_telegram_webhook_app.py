"""The webhook endpoint in-process: secret, size limit before reading, malformed bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.telegram.webhook import MAX_BODY, SECRET_HEADER, webhook_app
from tests.telegram_harness import CHAT, Harness, open_harness

SECRET = "webhook-secret-for-tests-0123456789"


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = webhook_app(harness.app.bot, harness.channel, SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hook") as made:
        yield made


def headers(secret: str = SECRET) -> dict[str, str]:
    return {SECRET_HEADER: secret, "content-type": "application/json"}


async def test_an_update_is_answered_200_after_its_reply_went_out(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    update = harness.api.text(CHAT, "/start")
    answered = await client.post("/telegram", content=json.dumps(update), headers=headers())
    assert answered.status_code == 200
    assert harness.api.bot_texts(CHAT) == ["Which language would you like to use?"]


async def test_a_wrong_secret_is_refused_and_nothing_is_read(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    update = harness.api.text(CHAT, "/start")
    refused = await client.post("/telegram", content=json.dumps(update), headers=headers("x"))
    assert refused.status_code == 403
    assert harness.api.bot_texts(CHAT) == []


async def test_an_oversized_body_is_refused_without_reading_it_all(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MiB, with no Content-Length: only the stream says how much
            sent += len(chunk)
            yield chunk

    refused = await client.post("/telegram", content=endless(), headers=headers())
    assert refused.status_code == 413
    assert sent <= MAX_BODY + 2 * 65536  # it stopped reading soon after the limit
    declared = await client.post(
        "/telegram",
        content=b"{}",
        headers={**headers(), "content-length": str(MAX_BODY + 1)},
    )
    assert declared.status_code == 413
    assert harness.api.bot_texts(CHAT) == []


async def test_a_malformed_body_is_a_bad_request(client: httpx.AsyncClient) -> None:
    for body in (b"not json", b"[1, 2]", json.dumps({"update_id": "x"}).encode()):
        answered = await client.post("/telegram", content=body, headers=headers())
        assert answered.status_code == 400
