"""`attest run` refuses to start, with a message that says what to do, when it cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.cli_run import telegram_settings
from storage.crypto import generate_reviewer_key
from tests.fakebotapi import TOKEN


def run(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    base = {"ATTEST_DATA_DIR": str(tmp_path / "node"), "ATTEST_TELEGRAM_TOKEN": TOKEN}
    result = CliRunner().invoke(main, ["run", *args], env={**base, **env})
    return result.exit_code, result.output


def reviewer_key(tmp_path: Path) -> str:
    path = tmp_path / "reviewer.pub"
    generate_reviewer_key("x25519").public.save(path)
    return str(path)


def test_a_missing_token_stops_it(tmp_path: Path) -> None:
    code, output = run(tmp_path, ATTEST_TELEGRAM_TOKEN="")
    assert code != 0 and "ATTEST_TELEGRAM_TOKEN is not set" in output


def test_a_malformed_token_stops_it_without_echoing_it(tmp_path: Path) -> None:
    code, output = run(tmp_path, ATTEST_TELEGRAM_TOKEN="12345:short-secret-value")
    assert code != 0 and "does not look like a bot token" in output
    assert "short-secret-value" not in output


def test_only_the_demo_reviewer_key_stops_it(tmp_path: Path) -> None:
    code, output = run(tmp_path)
    assert code != 0 and "reviewer key" in output
    assert "attest keys add-reviewer" in output


def test_an_unreachable_database_stops_it(tmp_path: Path) -> None:
    code, output = run(
        tmp_path,
        ATTEST_REVIEWER_KEYS=reviewer_key(tmp_path),
        ATTEST_DATABASE_URL="postgresql://nobody:secretpw@127.0.0.1:1/none",
    )
    assert code != 0 and "Cannot open the database" in output
    assert "secretpw" not in output


def test_a_webhook_needs_the_shared_secret(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--webhook", "https://example.org/telegram")
    assert code != 0 and "ATTEST_WEBHOOK_SECRET" in output
    code, output = run(
        tmp_path, "--set-webhook", "https://example.org/t", ATTEST_WEBHOOK_SECRET="x"
    )
    assert code != 0 and "ATTEST_WEBHOOK_SECRET" in output


def test_the_api_url_sets_where_files_come_from_and_the_file_limit() -> None:
    public = telegram_settings({"ATTEST_TELEGRAM_TOKEN": TOKEN}, None, need_secret=False)
    assert public.base_url == "https://api.telegram.org/bot"
    assert public.max_file_bytes == 20 * 1024 * 1024
    local = telegram_settings(
        {"ATTEST_TELEGRAM_TOKEN": TOKEN, "ATTEST_TELEGRAM_MAX_FILE_MB": "500"},
        "http://127.0.0.1:8081/",
        need_secret=False,
    )
    assert local.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert local.max_file_bytes == 500 * 1024 * 1024
    with pytest.raises(Exception, match="http"):
        telegram_settings({"ATTEST_TELEGRAM_TOKEN": TOKEN}, "ftp://x", need_secret=False)


def test_an_unreachable_bot_api_stops_it(tmp_path: Path) -> None:
    from tests.fake_bot_server import free_port

    code, output = run(
        tmp_path,
        ATTEST_REVIEWER_KEYS=reviewer_key(tmp_path),
        ATTEST_TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}",
    )
    assert code != 0 and "Cannot reach the Telegram Bot API" in output
    assert TOKEN not in output


def _settings(url: str | None, **kw: object) -> object:
    return telegram_settings({"ATTEST_TELEGRAM_TOKEN": TOKEN}, url, need_secret=False, **kw)


def test_a_bot_api_server_across_the_network_must_use_https() -> None:
    for url in ("http://bot-api.example.org:8081", "http://10.0.0.5:8081", "http://[::2]:80"):
        with pytest.raises(Exception, match="must use https://"):
            _settings(url)
        assert _settings(url, insecure_http=True).api_url == url  # type: ignore[attr-defined]
    for url in (
        "http://127.0.0.1:8081",
        "http://127.8.0.1",
        "http://[::1]:8081",
        "http://localhost:8081",
        "https://bot-api.example.org",
    ):
        assert _settings(url).api_url == url  # type: ignore[attr-defined]


def test_run_refuses_a_plain_http_api_url_unless_told_so(tmp_path: Path) -> None:
    code, output = run(tmp_path, ATTEST_TELEGRAM_API_URL="http://bot-api.example.org:8081")
    assert code != 0 and "--insecure-http" in output
    code, output = run(
        tmp_path, "--insecure-http", ATTEST_TELEGRAM_API_URL="http://bot-api.example.org:8081"
    )
    assert "must use https://" not in output  # gets further: the demo key stops it
    assert code != 0 and "reviewer key" in output


def test_local_mode_is_off_unless_set_and_needs_the_server_directory(tmp_path: Path) -> None:
    assert _settings("http://127.0.0.1:8081").local_dir is None  # type: ignore[attr-defined]
    server = tmp_path / "tg"
    server.mkdir()
    by_flag = _settings("http://127.0.0.1:8081", local_dir=str(server))
    assert by_flag.local_dir == server  # type: ignore[attr-defined]
    by_env = telegram_settings(
        {"ATTEST_TELEGRAM_TOKEN": TOKEN, "ATTEST_TELEGRAM_LOCAL_DIR": str(server)},
        "http://127.0.0.1:8081",
        need_secret=False,
    )
    assert by_env.local_dir == server
    with pytest.raises(Exception, match="working directory"):
        _settings("http://127.0.0.1:8081", local_dir=str(tmp_path / "missing"))
    with pytest.raises(Exception, match="working directory"):
        _settings("http://127.0.0.1:8081", local_dir="relative/dir")
    with pytest.raises(Exception, match="working directory"):
        _settings("http://127.0.0.1:8081", local_dir="/")  # would bound nothing
    with pytest.raises(Exception, match="self-hosted"):
        _settings(None, local_dir=str(server))  # the public gateway hands out no paths
    code, output = run(
        tmp_path,
        "--local",
        str(tmp_path / "missing"),
        ATTEST_TELEGRAM_API_URL="http://127.0.0.1:8081",
    )
    assert code != 0 and "working directory" in output
