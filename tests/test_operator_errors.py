"""Errors that say what is wrong (issue 16): each queue problem named, never a traceback.

Every message is also compared with its golden text in `tests/golden/cli/errors.txt`
(re-record with `--record`): the whole line an operator reads, with the temporary folder
written as TMP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from storage.crypto import NodeKeys
from tests.queue_support import (
    PASSPHRASE,
    PG_URL,
    fresh_queue_url,
    make_account,
    pg_role,
    put_accounts,
    reviewer,
    save_reviewer,
)

GOLDEN = Path(__file__).parent / "golden" / "cli" / "errors.txt"
_seen: dict[str, str] = {}


def attest(*args: str, env: dict[str, str], input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input)


def golden(name: str, result: Result, tmp_path: Path, record: bool) -> str:
    """The output, TMP for the temporary folder, checked against (or recorded in) GOLDEN."""
    assert "Traceback" not in result.output
    text = result.output.replace(str(tmp_path), "TMP").rstrip() + "\n"
    blocks = _read_golden()
    if record:
        blocks[name] = text
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(
            "".join(f"## {k}\n{v}" for k, v in sorted(blocks.items())), encoding="utf-8"
        )
    else:
        assert name in blocks, f"no golden text for {name}: run with --record"
        assert text == blocks[name]
    return text


def _read_golden() -> dict[str, str]:
    if not GOLDEN.exists():
        return {}
    blocks: dict[str, str] = {}
    for part in re.split(r"^## ", GOLDEN.read_text(encoding="utf-8"), flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        blocks[name] = body
    return blocks


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    return {"ATTEST_DATA_DIR": str(tmp_path / "data"), "ATTEST_LANGUAGE": "en"}


def test_a_refused_connection_is_named(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    env = {**base_env, "ATTEST_QUEUE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = attest("review", "list", env=env)
    assert result.exit_code == 1
    text = golden("refused", result, tmp_path, record_golden)
    assert "refused the connection" in text and "not set up" not in text


def test_an_unsupported_url_scheme_names_the_supported_ones(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    env = {**base_env, "ATTEST_QUEUE_URL": "mysql://root:secret@127.0.0.1/attest"}
    for command, name in ((["queue", "init"], "scheme-init"), (["review", "list"], "scheme-list")):
        result = attest(*command, env=env)
        assert result.exit_code == 1, result.output
        text = golden(name, result, tmp_path, record_golden)
        assert "mysql://" in text and "postgresql://" in text and "SQLite" in text
        assert "secret" not in text
    sync = attest("sync", env=env)
    assert sync.exit_code in (0, 1) and "Traceback" not in sync.output


def test_a_file_that_is_not_a_database_is_not_a_queue_file(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    queue = next(fresh_queue_url("sqlite", tmp_path))
    env = {**base_env, "ATTEST_QUEUE_URL": queue}
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not a database " * 200)
    result = attest("queue", "import", str(photo), env=env)
    assert result.exit_code == 1
    text = golden("import-not-a-database", result, tmp_path, record_golden)
    assert "not an Attest queue file" in text
    assert photo.read_bytes() == b"\xff\xd8\xff\xe0 not a database " * 200  # nothing lost

    empty = tmp_path / "kit.db"
    empty.write_bytes(b"")
    result = attest("queue", "import", str(empty), env=env)
    assert result.exit_code == 1
    assert "not an Attest queue file" in golden("import-empty-kit", result, tmp_path, record_golden)


def test_a_public_key_given_as_the_private_one_is_named_the_public_half(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    queue = next(fresh_queue_url("sqlite", tmp_path))
    save_reviewer(tmp_path / "keys" / "reviewer.key")
    public = tmp_path / "keys" / "reviewer.pub"
    reviewer("a").public.save(public)
    env = {**base_env, "ATTEST_QUEUE_URL": queue, "ATTEST_REVIEWER_KEY": str(public)}
    result = attest("review", "claim", env=env)
    assert result.exit_code == 1
    text = golden("public-half", result, tmp_path, record_golden)
    assert "public half" in text and "reviewer.key" in text
    assert "Passphrase" not in text  # refused before asking for a passphrase
    with_passphrase = attest(
        "review", "claim", env={**env, "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE}
    )
    assert with_passphrase.exit_code == 1 and "public half" in with_passphrase.output


def test_file_on_an_account_without_files_says_it_has_none(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    queue = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    item = make_account(node, [reviewer("a")])
    put_accounts(queue, node, [item])
    env = {
        **base_env,
        "ATTEST_QUEUE_URL": queue,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert attest("keys", "trust-node", node.fingerprint, env=env).exit_code == 0
    out = tmp_path / "file.bin"
    result = attest("review", "file", item.sealed.account_id, "1", "--out", str(out), env=env)
    assert result.exit_code == 1
    text = golden("file-none", result, tmp_path, record_golden)
    assert "no attached files" in text and "1 to 0" not in text
    assert not out.exists()


def test_init_reviewer_refuses_a_short_passphrase_before_asking_again(
    tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    keys = tmp_path / "keys"
    result = attest("keys", "init-reviewer", "--out", str(keys), env=base_env, input="short\n")
    assert result.exit_code == 1
    text = golden("short-passphrase", result, tmp_path, record_golden)
    assert "at least 8 characters" in text
    assert "again" not in text  # asked once only
    assert not (keys / "reviewer.key").exists()
    good = "a few unrelated words"
    made = attest(
        "keys", "init-reviewer", "--out", str(keys), env=base_env, input=f"{good}\n{good}\n"
    )
    assert made.exit_code == 0, made.output
    assert (keys / "reviewer.key").exists()


# -- PostgreSQL: which database problem it is -----------------------------------------


@pytest.fixture
def pg_queue(tmp_path: Path) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("ATTEST_TEST_DATABASE_URL is not set")
    yield from fresh_queue_url("postgres", tmp_path)


def _with(url: str, **parts: str) -> str:
    """`url` with its user, port or database replaced."""
    scheme, rest = url.split("://", 1)
    user, _, hostpart = rest.partition("@")
    host, _, path = hostpart.partition("/")
    database, _, query = path.partition("?")
    user = parts.get("user", user)
    if "port" in parts:
        host = host.split(":")[0] + ":" + parts["port"]
    database = parts.get("database", database)
    return f"{scheme}://{user}@{host}/{database}" + (f"?{query}" if query else "")


@pytest.mark.postgres
def test_postgres_problems_are_each_named(
    pg_queue: str, tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    cases = {
        "pg-missing-database": (_with(pg_queue, database="no_such_db"), "does not exist"),
        "pg-authentication": (_with(pg_queue, user="no_such_role"), "did not accept"),
        "pg-refused": (_with(pg_queue, port="1"), "refused the connection"),
    }
    for name, (url, expected) in cases.items():
        result = attest("review", "list", env={**base_env, "ATTEST_QUEUE_URL": url})
        assert result.exit_code == 1, result.output
        text = golden(name, result, tmp_path, record_golden)
        assert expected in text and "not set up" not in text, name


@pytest.mark.postgres
def test_the_node_role_listing_and_the_reviewer_role_initialising_are_refused_by_name(
    pg_queue: str, tmp_path: Path, base_env: dict[str, str], record_golden: bool
) -> None:
    with pg_role(pg_queue, "node") as node_url:
        result = attest("review", "list", env={**base_env, "ATTEST_QUEUE_URL": node_url})
        assert result.exit_code == 1
        assert "not allowed" in golden("pg-node-lists", result, tmp_path, record_golden)
    with pg_role(pg_queue, "reviewer") as reviewer_url:
        result = attest("queue", "init", env={**base_env, "ATTEST_QUEUE_URL": reviewer_url})
        assert result.exit_code == 1
        assert "not allowed" in golden("pg-reviewer-inits", result, tmp_path, record_golden)


def test_an_unexpected_error_ends_in_one_line_not_a_traceback(
    base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import review.cli

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("answer text that must never be shown")

    monkeypatch.setattr(review.cli, "_opened", broken)
    monkeypatch.setattr("review.context.ReviewerContext.resolve", lambda _self, given: given)
    result = attest("review", "show", "abc", env=base_env)
    assert result.exit_code == 1
    assert result.output.startswith("Error: Attest stopped on an unexpected error (RuntimeError)")
    assert "answer text" not in result.output and "Traceback" not in result.output
