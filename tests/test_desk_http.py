"""The reviewer desk over HTTP: every trust decision attacked first, then the pages' work.

The browser tests (tests/test_desk_browser.py) show the same in Chromium; these run on
every machine, against the real application served by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from review.cli import review as review_command
from review.desk.cli import desk as desk_command
from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.tables import accounts, audit_log
from tests.console_driver import ATTEST
from tests.desk_support import (
    ARABIC_STORY,
    PASSPHRASE,
    RunningDesk,
    desk_env,
    free_port,
    running_desk,
)
from tests.queue_support import BACKENDS, fresh_queue_url


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningDesk]:
    for url in fresh_queue_url(request.param, tmp_path):
        yield from running_desk(tmp_path, url)


def client(served: RunningDesk) -> httpx.Client:
    return httpx.Client(base_url=served.url, follow_redirects=False, timeout=20)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def unlocked(served: RunningDesk) -> tuple[httpx.Client, str]:
    http = client(served)
    token = csrf_of(http.get("/unlock").text)
    answer = http.post("/unlock", data={"csrf": token, "passphrase": PASSPHRASE})
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    page = http.get("/queue")
    assert page.status_code == 200
    return http, csrf_of(page.text)


def statuses(served: RunningDesk) -> dict[str, str]:
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        found = {r.id: r.status for r in conn.execute(select(accounts.c.id, accounts.c.status))}
    engine.dispose()
    return found


def audit_actions(served: RunningDesk) -> list[str]:
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        found = [
            r.action for r in conn.execute(select(audit_log.c.action).order_by(audit_log.c.seq))
        ]
    engine.dispose()
    return found


# -- attacks ---------------------------------------------------------------------------


def test_a_forged_host_header_is_refused_before_anything_runs(served: RunningDesk) -> None:
    http, _token = unlocked(served)
    # DNS rebinding: evil.example now resolves to 127.0.0.1, the browser sends its name.
    answer = http.get("/queue", headers={"host": f"evil.example:{served.port}"})
    assert answer.status_code == 421
    assert "refused" in answer.text
    assert served.ids["arabic"][:12] not in answer.text
    assert http.get("/unlock", headers={"host": "127.0.0.1"}).status_code == 421  # no port


def test_a_cross_site_post_is_refused_and_changes_nothing(served: RunningDesk) -> None:
    http, token = unlocked(served)
    before = statuses(served)
    target = served.ids["urgent"]
    # Even with the right token (as if leaked), another origin may not post.
    answer = http.post(
        "/queue/act",
        data={"csrf": token, "id": target, "action": "status", "status": "closed"},
        headers={"origin": "http://attacker.example"},
    )
    assert answer.status_code == 403
    assert "another site" in answer.text
    answer = http.post(
        "/queue/act",
        data={"csrf": token, "id": target, "action": "status", "status": "closed"},
        headers={"sec-fetch-site": "same-site"},  # another port of 127.0.0.1
    )
    assert answer.status_code == 403
    # Without the token: a form from another page of this machine that guessed the rest.
    answer = http.post("/queue/act", data={"id": target, "action": "status", "status": "closed"})
    assert answer.status_code == 403
    assert "expired" in answer.text
    assert statuses(served) == before


def test_every_page_forbids_caching_framing_and_foreign_sources(served: RunningDesk) -> None:
    http, _token = unlocked(served)
    for path in (
        "/unlock",
        "/queue",
        f"/accounts/{served.ids['arabic']}",
        "/export",
        "/static/desk.css",
    ):
        answer = http.get(path, follow_redirects=True)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
        assert answer.headers["content-security-policy"].startswith("default-src 'self'"), path
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
    page = http.get(f"/accounts/{served.ids['arabic']}").text
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing from elsewhere


def test_a_wrong_passphrase_is_told_and_the_desk_stays_locked(served: RunningDesk) -> None:
    http = client(served)
    token = csrf_of(http.get("/unlock").text)
    answer = http.post("/unlock", data={"csrf": token, "passphrase": "not the passphrase"})
    assert answer.status_code == 401
    assert "does not open this key" in answer.text
    assert "not the passphrase" not in answer.text
    assert http.get("/queue").headers["location"] == "/unlock"
    assert not served.desk.lock.unlocked


def test_decrypted_pages_need_the_session_cookie(served: RunningDesk) -> None:
    http, _token = unlocked(served)
    stranger = client(served)  # another local process, without the cookie
    answer = stranger.get(f"/accounts/{served.ids['arabic']}")
    assert answer.status_code == 303 and answer.headers["location"] == "/unlock"
    assert http.get(f"/accounts/{served.ids['arabic']}").status_code == 200


def test_huge_or_malformed_forms_get_a_clear_message_and_lose_nothing(served: RunningDesk) -> None:
    http, token = unlocked(served)
    before = statuses(served)
    huge = http.post(
        "/queue/act",
        content=b"csrf=" + token.encode() + b"&id=" + b"a" * 400_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 400 and "could not be read" in huge.text
    bad = http.post(
        "/queue/act",
        content=b"csrf=" + token.encode() + b"&action=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 400
    unknown = http.post(
        "/queue/act", data={"csrf": token, "id": "x", "action": "status", "status": "gone"}
    )
    assert unknown.status_code == 400 and "Choose a status" in unknown.text
    assert statuses(served) == before
    # The desk still works afterwards.
    assert http.get("/queue").status_code == 200


def test_a_forged_account_id_gets_a_clear_message(served: RunningDesk) -> None:
    http, token = unlocked(served)
    assert "There is no account with that id" in http.get("/accounts/" + "f" * 32).text
    assert http.get("/accounts/" + "f" * 32).status_code == 404
    assert http.get("/accounts/" + "f" * 500).status_code == 404
    answer = http.post(
        "/accounts/" + "0" * 32 + "/triage", data={"csrf": token, "status": "closed"}
    )
    assert answer.status_code == 404


# -- the work --------------------------------------------------------------------------


def test_the_queue_lists_urgent_first_then_oldest_with_counts(served: RunningDesk) -> None:
    http, _token = unlocked(served)
    page = http.get("/queue").text
    shown = re.findall(r'href="/accounts/([0-9a-f]+)"', page)
    ids = served.ids
    assert shown == [
        ids["urgent"],
        ids["arabic"],
        ids["voice"],
        ids["archive-only-1"],
        ids["archive-only-2"],
    ]
    assert "New: <strong>5</strong>" in page
    arabic_only = http.get("/queue", params={"language": "ar"}).text
    assert re.findall(r'href="/accounts/([0-9a-f]+)"', arabic_only) == [ids["arabic"]]
    bad = http.get("/queue", params={"from": "yesterday"}).text
    assert "could not be read" in bad


def test_bulk_triage_changes_every_selected_row_and_hides_closed(served: RunningDesk) -> None:
    http, token = unlocked(served)
    chosen = [served.ids["archive-only-1"], served.ids["archive-only-2"]]
    answer = http.post(
        "/queue/act",
        data={"csrf": token, "id": chosen, "action": "tag", "tag": "education", "back": "/queue"},
    )
    assert answer.status_code == 303
    answer = http.post(
        "/queue/act", data={"csrf": token, "id": chosen, "action": "status", "status": "closed"}
    )
    assert answer.status_code == 303
    page = http.get("/queue").text
    assert "Accounts changed: 2." in page
    assert chosen[0] not in page  # closed: hidden unless asked
    assert chosen[0] in http.get("/queue", params={"closed": "1", "tag": "education"}).text
    assert audit_actions(served).count("changed") == 4


def test_claim_from_the_queue_then_mine(served: RunningDesk) -> None:
    http, token = unlocked(served)
    target = served.ids["voice"]
    http.post("/queue/act", data={"csrf": token, "id": [target], "action": "claim"})
    mine = http.get("/queue", params={"mine": "1"}).text
    assert re.findall(r'href="/accounts/([0-9a-f]+)"', mine) == [target]
    assert "(you)" in mine
    http.post("/queue/act", data={"csrf": token, "id": [target], "action": "release"})
    assert target not in http.get("/queue", params={"mine": "1"}).text


def test_what_the_desk_does_is_signed_by_the_unlocked_key_and_verifies(
    served: RunningDesk,
) -> None:
    """Issue 15 on the desk: its claims, changes and openings name the reviewer and are
    signed with the key unlocked there (an unsigned one fails `audit verify`)."""
    http, token = unlocked(served)
    target = served.ids["voice"]
    for data in (
        {"action": "claim"},
        {"action": "tag", "tag": "medical"},
        {"action": "status", "status": "follow-up"},
        {"action": "release"},
    ):
        http.post("/queue/act", data={"csrf": token, "id": [target], **data})
    assert http.get(f"/accounts/{target}").status_code == 200
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        entries = [
            (r.actor, r.action, r.signature)
            for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))
            if r.actor.startswith("reviewer:")
        ]
    engine.dispose()
    # The desk's claim sets the status in review (a "changed" entry).
    assert [action for _a, action, _s in entries] == [
        "changed",
        "changed",
        "changed",
        "released",
        "opened",
    ]
    assert all(signature for _a, _action, signature in entries), entries
    verified = CliRunner().invoke(
        review_command,
        ["audit", "verify"],
        env={**served.env, "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE},
    )
    assert verified.exit_code == 0, verified.output
    # Locked, the desk keeps no way to sign: nothing refers to the key any more.
    http.post("/lock", headers={"Origin": served.url})
    assert not served.desk.lock.unlocked
    with pytest.raises(Exception, match="locked"):
        served.desk.ctx.queue.signer.sign(b"x")  # type: ignore[union-attr]


def test_the_arabic_account_shows_consent_first_and_answers_right_to_left(
    served: RunningDesk,
) -> None:
    http, _token = unlocked(served)
    page = http.get(f"/accounts/{served.ids['arabic']}").text
    assert page.index("What this account may be used for") < page.index("Answers")
    assert f'<p class="value" lang="ar" dir="rtl">{ARABIC_STORY}</p>' in page
    assert "In your own words, what happened?" in page  # the reviewer's language
    assert 'lang="ar" dir="rtl">لا داعي للعجلة. بكلماتك' in page  # beside it, the account's own
    assert "When did this happen?" in page  # a wording in no catalog: the stored text
    for shown in ("I don&#39;t know", "Skipped", "Prefer not to say"):
        assert shown in page
    assert "opened" in audit_actions(served)


def test_triage_with_a_sealed_note(served: RunningDesk) -> None:
    http, token = unlocked(served)
    target = served.ids["arabic"]
    answer = http.post(
        f"/accounts/{target}/triage",
        data={
            "csrf": token,
            "status": "follow-up",
            "add_tag": "detention",
            "note": "Call back Tuesday",
        },
    )
    assert answer.status_code == 303
    page = http.get(f"/accounts/{target}").text
    assert "Call back Tuesday" in page and "detention" in page
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT sealed FROM account_notes").scalar_one()
    engine.dispose()
    assert b"Call back" not in bytes(stored)


def opened_entries(served: RunningDesk) -> list[tuple[str, str]]:
    """(account id, view) of every "opened" entry, oldest first."""
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        found = [
            (str(r.account_id), json.loads(r.detail).get("view", ""))
            for r in conn.execute(
                select(audit_log.c.account_id, audit_log.c.detail)
                .where(audit_log.c.action == "opened")
                .order_by(audit_log.c.seq)
            )
        ]
    engine.dispose()
    return found


def test_an_account_is_audited_as_opened_once_per_unlock_not_per_page_load(
    served: RunningDesk,
) -> None:
    http, _token = unlocked(served)
    target, other = served.ids["arabic"], served.ids["urgent"]
    for _ in range(3):  # reloads
        assert http.get(f"/accounts/{target}").status_code == 200
    for page in ("/queue?page=1", "/queue?page=2", "/queue?lacks=E3", "/queue?lacks=E5"):
        assert http.get(page).status_code == 200  # paging, and the elements filter
    assert http.get(f"/accounts/{other}").status_code == 200
    assert http.get(f"/accounts/{target}").status_code == 200
    entries = opened_entries(served)
    assert entries.count((target, "desk")) == 1
    assert entries.count((other, "desk")) == 1
    assert len(entries) == len(set(entries)), entries  # the elements view once per account too
    # A new unlock is a new reading: opened again, once.
    http.post("/lock", headers={"Origin": served.url})
    http, _token = unlocked(served)
    http.get(f"/accounts/{target}")
    http.get(f"/accounts/{target}")
    assert opened_entries(served).count((target, "desk")) == 2


def test_a_withdrawn_accounts_tags_leave_no_trace_in_the_queue_file(tmp_path: Path) -> None:
    """Tags are typed by reviewers and can say much about a person ("pregnant-by-captor"):
    once the account is withdrawn, the tag text must be nowhere in the queue's files, the
    audit log included (which records that a tag changed, never its words)."""
    from storage.db import insert_ignore
    from storage.queue.store import Queue
    from storage.queue.tables import withdrawals
    from tests.queue_support import T0, make_account, put_accounts, reviewer

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            gone = make_account(served.node, [reviewer("a")], reference="ABCD-2345")
            put_accounts(url, served.node, [gone])
            target = gone.sealed.account_id
            http, token = unlocked(served)
            page = http.get(f"/accounts/{target}").text
            saved = http.post(
                f"/accounts/{target}/triage",
                data={"csrf": csrf_of(page), "add_tag": "canarytagqx7", "note": ""},
            )
            assert saved.status_code == 303
            http.post(
                "/queue/act",
                data={"csrf": token, "id": [target], "action": "tag", "tag": "secondcanaryzv9"},
            )
            page = http.get(f"/accounts/{target}").text
            assert "canarytagqx7" in page and "secondcanaryzv9" in page  # shown while it lives
            trail = page[page.index('id="trail-title"') :]
            assert "tags_added" in trail  # the trail still says a tag was added

            engine = open_queue(url)
            with engine.begin() as conn:
                insert_ignore(
                    conn,
                    withdrawals,
                    [
                        {
                            "secret": served.node.withdrawal_secret("abcd 2345"),
                            "requested_at": T0,
                        }
                    ],
                )
            queue = Queue(engine)
            assert queue.reconcile() == (0, 1)
            queue.close()
            files = [p for p in Path(url).parent.iterdir() if p.name.startswith(Path(url).name)]
            for path in files:
                data = path.read_bytes()
                for canary in (b"canarytagqx7", b"secondcanaryzv9"):
                    assert canary not in data, f"{canary!r} still in {path.name}"


URGENCY_QUESTION = "Did any of what you want to tell us about happen in the last 5 days?"


@pytest.mark.parametrize(
    ("step", "value", "status", "banner"),
    [
        ("urgency", "yes", "answered", "URGENT: something happened in the last days"),
        (
            "urgency",
            "not-sure",
            "answered",
            "URGENT: the person was not sure whether it happened in the last days",
        ),
        ("urgency", None, "skip", "URGENT: the person did not say whether it happened in the"),
        ("needs", ["urgent-medical-care"], "answered", "URGENT: the person needs urgent medical"),
    ],
)
def test_the_urgent_banner_says_why_the_account_is_urgent(
    tmp_path: Path, step: str, value: Any, status: str, banner: str
) -> None:
    """Answering "I'm not sure" (or nothing) to "was it in the last 5 days?" marks the account
    urgent, so a reviewer checks; the banner must not claim that it did happen."""
    from tests.queue_support import answer, make_account, put_accounts, reviewer

    kind = "single-choice" if step == "urgency" else "multiple-choice"
    urgency = answer(step, URGENCY_QUESTION, value, kind=kind)
    urgency["status"] = status
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            item = make_account(served.node, [reviewer("a")], urgent=True, answers=[urgency])
            put_accounts(url, served.node, [item])
            http, _token = unlocked(served)
            page = http.get(f"/accounts/{item.sealed.account_id}").text
            shown = re.findall(r'<p class="urgent-banner"><strong>([^<]*)</strong>', page)
            assert len(shown) == 1 and shown[0].startswith(banner), shown
            printed = http.get(f"/accounts/{item.sealed.account_id}/print").text
            assert banner in printed


def test_a_file_is_decrypted_only_on_request(served: RunningDesk) -> None:
    from tests.desk_support import VOICE

    http, token = unlocked(served)
    target = served.ids["voice"]
    page = http.get(f"/accounts/{target}").text
    assert "Decrypt and save file 1" in page
    assert "file-decrypted" not in audit_actions(served)
    answer = http.post(f"/accounts/{target}/files/1", data={"csrf": token})
    assert answer.status_code == 200 and answer.content == VOICE
    assert answer.headers["content-disposition"].startswith("attachment")
    assert "file-decrypted" in audit_actions(served)
    assert http.post(f"/accounts/{target}/files/9", data={"csrf": token}).status_code == 404


def test_a_voice_note_downloads_with_the_extension_of_its_type(served: RunningDesk) -> None:
    http, token = unlocked(served)
    target = served.ids["voice"]  # audio/ogg, as Telegram sends a voice note
    answer = http.post(f"/accounts/{target}/files/1", data={"csrf": token})
    assert answer.status_code == 200
    name = re.search(r'filename="([^"]+)"', answer.headers["content-disposition"])
    assert name is not None
    assert name.group(1).endswith(".ogg"), name.group(1)
    assert re.fullmatch(r"[A-Za-z0-9-]+\.ogg", name.group(1))  # nothing the person typed


def test_export_honours_consent_and_is_audited(served: RunningDesk) -> None:
    http, token = unlocked(served)
    answer = http.post("/export", data={"csrf": token, "purpose": "reports", "format": "json"})
    assert answer.status_code == 200
    document = json.loads(answer.text)
    exported = {a["account_id"] for a in document["accounts"]}
    assert served.ids["archive-only-1"] not in exported
    assert served.ids["arabic"] in exported
    assert document["left_out"]["not_consented"] == 2
    assert audit_actions(served).count("exported") == len(exported)
    csv_answer = http.post("/export", data={"csrf": token, "purpose": "internal", "format": "csv"})
    assert csv_answer.text.startswith("\ufeffaccount_id,")  # a byte-order mark (issue 17)
    xlsx_answer = http.post("/export", data={"csrf": token, "purpose": "reports", "format": "xlsx"})
    assert xlsx_answer.status_code == 200 and xlsx_answer.content.startswith(b"PK")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_answer.content), read_only=True)
    assert book.sheetnames == ["accounts", "answers"]
    rows = list(book["accounts"].iter_rows(values_only=True))
    assert {r[1] for r in rows[1:]} == exported
    assert http.post("/export", data={"csrf": token, "purpose": "all"}).status_code == 400


def test_lock_on_demand_drops_the_key(served: RunningDesk) -> None:
    http, token = unlocked(served)
    answer = http.post("/lock", data={"csrf": token})
    assert answer.status_code == 303
    assert not served.desk.lock.unlocked
    assert http.get("/queue").headers["location"] == "/unlock"


def test_the_desk_locks_itself_after_inactivity(tmp_path: Path) -> None:
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, idle_seconds=1.0):
            http, _token = unlocked(served)
            time.sleep(3.0)  # the auto-lock task checks twice a second at this setting
            assert not served.desk.lock.unlocked  # without any request
            assert http.get("/queue").headers["location"] == "/unlock"


def test_desk_refuses_a_non_loopback_host_without_force() -> None:
    result = CliRunner().invoke(desk_command, ["--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 2
    assert "--force-host" in result.output


def test_the_desk_speaks_the_reviewers_language(tmp_path: Path) -> None:
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, language="fa"):
            page = client(served).get("/unlock").text
            assert '<html lang="fa" dir="rtl">' in page
            assert "قفل کلید بررسی خود را باز کنید" in page


def test_nothing_decrypted_or_secret_reaches_a_log_or_the_terminal(
    served: RunningDesk, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    http = client(served)
    token = csrf_of(http.get("/unlock").text)
    http.post("/unlock", data={"csrf": token, "passphrase": "a wrong guess of mine"})
    http, token = unlocked(served)
    target = served.ids["arabic"]
    http.get(f"/accounts/{target}")
    http.post(f"/accounts/{target}/triage", data={"csrf": token, "note": "Canary note 4471"})
    http.post("/export", data={"csrf": token, "purpose": "internal", "format": "json"})
    http.get("/accounts/" + "e" * 32)  # an error page
    out, err = capfd.readouterr()
    # The test's own HTTP client (httpx, httpcore) logs its requests; the desk's side is
    # everything else: uvicorn, starlette, attest.
    desk_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    seen = "\n".join(r.getMessage() for r in desk_side) + out + err
    for secret in (ARABIC_STORY, PASSPHRASE, "a wrong guess of mine", "Canary note 4471", "Layla"):
        assert secret not in seen
    assert target not in seen  # not even the account ids of requests


def _serve_command(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [str(ATTEST), "desk", "--no-browser", "--port", str(port), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, port


def _wait_until_served(url: str, host: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, headers={"host": host}, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_attest_desk_serves_on_loopback_and_warns_about_another_host(tmp_path: Path) -> None:
    for url in fresh_queue_url("sqlite", tmp_path):
        env = desk_env(tmp_path, url, NodeKeys.generate())
        process, port = _serve_command(env)
        try:
            answer = _wait_until_served(f"http://127.0.0.1:{port}/unlock", f"127.0.0.1:{port}")
            assert answer.status_code == 200
            assert answer.headers["content-security-policy"].startswith("default-src 'self'")
        finally:
            process.terminate()
            out, err = process.communicate(timeout=20)
        assert f"http://127.0.0.1:{port}/" in out
        # Another address only with --force-host, and then with a warning.
        process, port = _serve_command(env, "--host", "127.0.0.2", "--force-host")
        try:
            answer = _wait_until_served(f"http://127.0.0.2:{port}/unlock", f"127.0.0.2:{port}")
            assert answer.status_code == 200
        finally:
            process.terminate()
            out, err = process.communicate(timeout=20)
        assert "WARNING: the desk listens on 127.0.0.2" in err


def test_a_refused_triage_keeps_what_was_typed(served: RunningDesk) -> None:
    http, token = unlocked(served)
    target = served.ids["arabic"]
    engine = open_queue(served.queue_url)
    with engine.begin() as conn:  # another reviewer holds it, lease running
        conn.execute(
            accounts.update()
            .where(accounts.c.id == target)
            .values(
                status="in-review",
                assignee="b" * 64,
                lease_until=datetime.now(UTC) + timedelta(hours=1),
            )
        )
    engine.dispose()
    answer = http.post(
        f"/accounts/{target}/triage",
        data={"csrf": token, "note": "Long careful note about the hearing", "add_tag": "court"},
    )
    assert answer.status_code == 409
    assert "Another reviewer holds this account" in answer.text
    assert ">Long careful note about the hearing</textarea>" in answer.text
    assert 'value="court"' in answer.text
    assert statuses(served)[target] == "in-review"


# -- found by trying the desk as a caseworker and as an attacker would ---------------------


def test_latin_and_digits_typed_in_an_arabic_account_read_left_to_right() -> None:
    from review.desk.views import text_direction

    assert text_direction(ARABIC_STORY, "ar") == "rtl"
    # A phone number shown right to left is dialled wrong: "678 345 0912".
    assert text_direction("0912 345 678 after 6pm", "ar") == "ltr"
    assert text_direction("0912 345 678", "ar") == "ltr"
    assert text_direction("٠٩١٢ ٣٤٥", "ar") == "ltr"
    assert text_direction("…", "ar") == "rtl" and text_direction("…", "en") == "ltr"


def test_a_save_never_undoes_a_status_another_reviewer_set_meanwhile(
    served: RunningDesk,
) -> None:
    from storage.queue.store import Queue

    http, token = unlocked(served)
    target = served.ids["arabic"]
    page = http.get(f"/accounts/{target}").text
    shown = re.search(r'name="status_was" value="([^"]+)"', page)
    assert shown and shown.group(1) == "new"
    other = Queue.open(served.queue_url)
    other.triage(target, "f" * 32, status="verified")
    other.close()

    # The page still shows "new"; only a note is added: the other's status stays.
    answer = http.post(
        f"/accounts/{target}/triage",
        data={"csrf": token, "status": "new", "status_was": "new", "note": "Seen"},
    )
    assert answer.status_code == 303
    assert statuses(served)[target] == "verified"
    # A status chosen on the stale page is refused, saying why; nothing is saved.
    answer = http.post(
        f"/accounts/{target}/triage",
        data={"csrf": token, "status": "closed", "status_was": "new", "note": "Closing"},
    )
    assert answer.status_code == 409
    assert "Someone else changed this account" in answer.text and "Closing" in answer.text
    assert statuses(served)[target] == "verified"


def test_a_refused_lock_does_not_say_the_desk_is_locked(served: RunningDesk) -> None:
    http, _token = unlocked(served)
    answer = http.post("/lock", headers={"origin": "http://attacker.example"})
    assert answer.status_code == 303
    page = http.get("/queue")
    assert page.status_code == 200 and "The desk is locked" not in page.text


def test_a_notice_is_shown_only_to_the_session_it_belongs_to(served: RunningDesk) -> None:
    http, token = unlocked(served)
    answer = http.post(
        "/queue/act",
        data={"csrf": token, "id": served.ids["urgent"], "action": "tag", "tag": "education"},
    )
    assert answer.status_code == 303
    stranger = client(served).get("/unlock")
    assert "Accounts changed" not in stranger.text
    assert "Accounts changed: 1." in http.get("/queue").text


def test_control_characters_get_a_clear_answer_not_an_error(served: RunningDesk) -> None:
    http, token = unlocked(served)
    before = statuses(served)
    page = http.get("/queue", params={"tag": "a\x00b", "language": "\x00"})
    assert page.status_code == 200 and "could not be read" in page.text
    assert http.get("/accounts/a%00b").status_code == 404
    target = served.ids["arabic"]
    answer = http.post(
        f"/accounts/{target}/triage", data={"csrf": token, "add_tag": "a\x00b", "note": ""}
    )
    assert 400 <= answer.status_code < 500
    answer = http.post("/queue/act", data={"csrf": token, "id": "a\x00b", "action": "claim"})
    assert 400 <= answer.status_code < 500
    assert statuses(served) == before


def test_the_desk_refuses_what_untrust_node_after_refuses(served: RunningDesk) -> None:
    """The mistake: a reviewer runs `attest keys untrust-node FP --after TIME` because the
    node's key may have been stolen then; `review show` and `review export` refuse what the
    queue cannot show it received before TIME, but the desk opened and exported it: it
    read the pins without the cut-off."""
    from bot.cli import main

    untrusted = CliRunner().invoke(
        main,
        ["keys", "untrust-node", served.node.fingerprint, "--after", "2026-01-01T00:00"],
        env=served.env,
    )
    assert untrusted.exit_code == 0, untrusted.output
    target = served.ids["urgent"]
    shown = CliRunner().invoke(
        review_command,
        ["show", target],
        env={**served.env, "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE},
    )
    assert shown.exit_code == 1, shown.output  # the CLI refuses it
    http, token = unlocked(served)
    page = http.get(f"/accounts/{target}").text
    assert "In your own words" not in page, page
    assert "untrusted from a time before the queue received it" in " ".join(page.split())
    answer = http.post("/export", data={"csrf": token, "purpose": "internal", "format": "json"})
    assert answer.status_code == 200
    document = json.loads(answer.text)
    assert document["accounts"] == []
    assert document["left_out"]["untrusted_keys"] == len(served.ids)
