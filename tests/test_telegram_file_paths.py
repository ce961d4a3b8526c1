"""A Bot API answer must not make the node read or delete a file it names (issue 13, item 3).

The attack: a server (or whoever answers in its place) answers `getFile` with the path of
a file on the node's machine, the node key for instance. The old code read it as the
person's voice note, sealed it into their account and deleted it from disk. Each test
below makes the fake Bot API answer the way that server did and checks that the file is
neither taken in nor removed, while a real local-mode server's files still are.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakebotapi import FakeBotAPI
from tests.telegram_harness import CHAT, Harness, open_harness

VOICE = b"OggS" + b"\x01" * 2000
SECRET = b'{"master_key": "the node key, which must stay where it is"}'


def _node_key(tmp_path: Path) -> Path:
    victim = tmp_path / "attest-data" / "node.key"
    victim.parent.mkdir()
    victim.write_bytes(SECRET)
    return victim


async def _harness(local_dir: Path | None = None) -> Harness:
    api = FakeBotAPI(local_dir=local_dir)
    return await open_harness(
        flow="telegram-media", max_bytes=64 * 1024, api=api, local_dir=local_dir
    )


async def _send_voice_answered_with(h: Harness, file_path: str | None) -> list[str]:
    """At the voice step, send a voice note whose getFile answers with `file_path`."""
    await h.say("/start")
    assert await h.state() == "story"
    if file_path is not None:
        h.api.file_paths[h.api.add_file(VOICE)] = file_path
    before = len(h.api.messages.get(CHAT, {}))
    await h.deliver(h.api.voice(CHAT, VOICE))
    return h.new_texts(CHAT, before)


def _nothing_taken(h: Harness, said: list[str]) -> None:
    assert "could not receive this file" in said[-1]
    assert all(not draft.files for draft in h.store.drafts.values())


@pytest.fixture
async def public() -> AsyncIterator[Harness]:
    h = await _harness()
    yield h
    await h.app.shutdown()


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    path = tmp_path / "telegram-bot-api"
    path.mkdir()
    return path


@pytest.fixture
async def local(server_dir: Path) -> AsyncIterator[Harness]:
    h = await _harness(server_dir)
    yield h
    await h.app.shutdown()


async def test_an_absolute_path_without_local_mode_is_neither_read_nor_deleted(
    public: Harness, tmp_path: Path
) -> None:
    victim = _node_key(tmp_path)
    said = await _send_voice_answered_with(public, str(victim))
    _nothing_taken(public, said)
    assert victim.read_bytes() == SECRET
    assert await public.state() == "story"


async def test_a_relative_path_is_fetched_from_the_server_not_from_the_working_directory(
    public: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = _node_key(tmp_path)
    monkeypatch.chdir(tmp_path)  # PTB's get_file would keep a path naming a file here
    fetched: list[str] = []
    policy = public.channel.options.media
    original = policy.open_url

    def open_url(url: str) -> Any:
        fetched.append(url)
        return original(url)

    object.__setattr__(policy, "open_url", open_url)
    said = await _send_voice_answered_with(public, "attest-data/node.key")
    _nothing_taken(public, said)
    assert victim.read_bytes() == SECRET
    assert fetched and fetched[0].endswith("/file/bot" + public.api.token + "/attest-data/node.key")


async def test_local_mode_reads_a_file_inside_the_server_directory_and_deletes_it(
    local: Harness, server_dir: Path
) -> None:
    said = await _send_voice_answered_with(local, None)
    assert "could not receive" not in " ".join(said)
    [draft] = local.store.drafts.values()
    assert len(draft.files) == 1
    assert [p for p in server_dir.rglob("*") if p.is_file()] == []  # plaintext copy gone


async def test_local_mode_refuses_a_path_outside_the_server_directory(
    local: Harness, tmp_path: Path
) -> None:
    victim = _node_key(tmp_path)
    said = await _send_voice_answered_with(local, str(victim))
    _nothing_taken(local, said)
    assert victim.read_bytes() == SECRET


async def test_local_mode_refuses_a_path_climbing_out_with_dot_dot(
    local: Harness, tmp_path: Path, server_dir: Path
) -> None:
    victim = _node_key(tmp_path)
    climbing = f"{server_dir}/../attest-data/node.key"
    said = await _send_voice_answered_with(local, climbing)
    _nothing_taken(local, said)
    assert victim.read_bytes() == SECRET


async def test_local_mode_refuses_a_symlink_to_the_node_key(
    local: Harness, tmp_path: Path, server_dir: Path
) -> None:
    victim = _node_key(tmp_path)
    link = server_dir / "voice" / "file_1.oga"
    link.parent.mkdir()
    link.symlink_to(victim)
    said = await _send_voice_answered_with(local, str(link))
    _nothing_taken(local, said)
    assert victim.read_bytes() == SECRET
    assert link.is_symlink()  # refused paths are not deleted either


async def test_local_mode_refuses_a_linked_directory_on_the_way(
    local: Harness, tmp_path: Path, server_dir: Path
) -> None:
    victim = _node_key(tmp_path)
    (server_dir / "voice").symlink_to(victim.parent, target_is_directory=True)
    said = await _send_voice_answered_with(local, str(server_dir / "voice" / "node.key"))
    _nothing_taken(local, said)
    assert victim.read_bytes() == SECRET


async def test_local_mode_refuses_what_is_not_a_regular_file(
    local: Harness, server_dir: Path
) -> None:
    fifo = server_dir / "voice.oga"
    os.mkfifo(fifo)
    said = await asyncio.wait_for(_send_voice_answered_with(local, str(fifo)), timeout=10)
    _nothing_taken(local, said)
    assert fifo.exists()


async def test_local_mode_reached_through_a_linked_server_directory_still_works(
    tmp_path: Path, server_dir: Path
) -> None:
    # The operator's configured directory may itself be a link (e.g. /srv/tg -> /data/tg).
    configured = tmp_path / "configured"
    configured.symlink_to(server_dir, target_is_directory=True)
    h = await _harness(configured)
    try:
        said = await _send_voice_answered_with(h, None)
        assert "could not receive" not in " ".join(said)
        assert [p for p in server_dir.rglob("*") if p.is_file()] == []
    finally:
        await h.app.shutdown()
