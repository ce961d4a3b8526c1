"""The desk as a fresh-eyed tester found it (second round): what a reviewer would notice."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import httpx
import pytest

from storage.crypto import NodeKeys
from storage.db import insert_ignore
from storage.queue.admin import open_queue
from storage.queue.store import Queue
from storage.queue.tables import withdrawals
from tests.desk_support import running_desk
from tests.queue_support import T0, fresh_queue_url, make_account, put_accounts, reviewer
from tests.test_desk_http import csrf_of, unlocked


def test_a_withdrawn_accounts_tags_leave_the_running_desks_tag_filter(tmp_path: Path) -> None:
    """Tags can carry names: once another command applied the withdrawal, the running
    desk's Tag filter must not list them any more (it kept them until restarted)."""
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            gone = make_account(served.node, [reviewer("a")], reference="ABCD-2345")
            put_accounts(url, served.node, [gone])
            target = gone.sealed.account_id
            http, _token = unlocked(served)
            page = http.get(f"/accounts/{target}").text
            saved = http.post(
                f"/accounts/{target}/triage",
                data={"csrf": csrf_of(page), "add_tag": "amina-from-kabul", "note": ""},
            )
            assert saved.status_code == 303
            assert '<option value="amina-from-kabul"' in http.get("/queue").text

            engine = open_queue(url)
            with engine.begin() as conn:
                insert_ignore(
                    conn,
                    withdrawals,
                    [{"secret": served.node.withdrawal_secret("abcd 2345"), "requested_at": T0}],
                )
            queue = Queue(engine)  # as `attest review list` run meanwhile would
            assert queue.reconcile() == (0, 1)
            queue.close()
            page = http.get("/queue").text
            assert "amina-from-kabul" not in page


def test_a_replaced_key_for_a_pinned_node_is_warned_on_the_page_and_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Someone who can write the queue replaced the key in a pinned node's row while the
    desk runs: the unlock and queue pages say so with both fingerprints (never the key),
    and the desk's terminal gets the CLI's line."""
    from storage.crypto import fingerprint_of
    from storage.queue.tables import nodes

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            http, _token = unlocked(served)
            assert "no longer matches" not in http.get("/queue").text
            planted = NodeKeys.generate().public_key_bytes
            engine = open_queue(url)
            with engine.begin() as conn:
                conn.execute(
                    nodes.update()
                    .where(nodes.c.fingerprint == served.node.fingerprint)
                    .values(public_key=planted)
                )
            engine.dispose()
            capfd.readouterr()
            pages = [http.get("/queue").text, httpx.get(served.url + "/unlock").text]
            for page in pages:
                text = " ".join(html.unescape(page).split())
                assert "no longer matches the key you pinned" in text
                assert served.node.fingerprint in text and fingerprint_of(planted) in text
                for secret in (planted, served.node.public_key_bytes):
                    assert base64.b64encode(secret).decode() not in page
                    assert secret.hex() not in page
            terminal = " ".join(capfd.readouterr().err.split())
            assert "no longer matches the key you pinned" in terminal
            assert served.node.fingerprint in terminal and fingerprint_of(planted) in terminal
            assert terminal.count("no longer matches") == 1  # once, not at every page


def test_the_unlock_page_of_a_fresh_desk_warns_without_opening_anything(tmp_path: Path) -> None:
    from storage.queue.tables import nodes

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            engine = open_queue(url)
            with engine.begin() as conn:
                conn.execute(
                    nodes.update()
                    .where(nodes.c.fingerprint == served.node.fingerprint)
                    .values(public_key=NodeKeys.generate().public_key_bytes)
                )
            engine.dispose()
            answer = httpx.get(served.url + "/unlock", timeout=20)
            assert answer.status_code == 200
            assert "no longer matches the key you pinned" in html.unescape(answer.text)
            assert unlocked(served)  # and unlocking still works


async def test_patterns_and_summary_say_why_an_account_was_left_out(tmp_path: Path) -> None:
    """After the documented demo recovery, `review show` opens the account and `review
    export` counts it as "resealed to you by the demo key"; the desk's patterns and case
    summary said it "could not be opened with your key"."""
    import asyncio

    from review.desk.app import Desk
    from tests.desk_support import free_port, serve, stop
    from tests.test_demo_recovery import PASSPHRASE as ALICE
    from tests.test_demo_recovery import Recovery, first_run_account

    r = Recovery(tmp_path)
    await first_run_account(r.data_dir)
    await asyncio.to_thread(r.documented_steps)
    env = {k: v for k, v in r.alice_env.items() if k != "ATTEST_REVIEWER_PASSPHRASE"}
    port = free_port()
    desk = Desk(env, port=port, idle_seconds=900)
    served = await asyncio.to_thread(serve, desk, port)
    try:

        def pages() -> list[str]:
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            token = csrf_of(http.get("/unlock").text)
            answer = http.post("/unlock", data={"csrf": token, "passphrase": ALICE})
            assert answer.status_code == 303, answer.text
            return [
                " ".join(html.unescape(http.get(p).text).split()) for p in ("/patterns", "/summary")
            ]

        for page in await asyncio.to_thread(pages):
            assert "could not be opened with your key" not in page
            assert "1 resealed to you by the demo key" in page, page[-1500:]
    finally:
        await asyncio.to_thread(stop, served)


def test_unlocking_from_another_browser_tells_the_first_why_it_was_locked(
    tmp_path: Path,
) -> None:
    """One session at a time: the last unlock wins. The reviewer thrown out must read why,
    not a bare unlock page; a wrong passphrase from elsewhere changes nothing for them,
    but they are told it was tried."""
    from tests.test_desk_http import client

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            first, _token = unlocked(served)
            stranger = client(served)
            form = csrf_of(stranger.get("/unlock").text)
            wrong = stranger.post("/unlock", data={"csrf": form, "passphrase": "guess"})
            assert wrong.status_code == 401
            page = first.get("/queue")
            assert page.status_code == 200  # still working
            said = " ".join(html.unescape(page.text).split())
            assert "wrong passphrase was typed" in said and "another window or browser" in said

            second, _token = unlocked(served)  # the passphrase, from a second browser
            assert second.get("/queue").status_code == 200
            thrown_out = first.get("/queue", follow_redirects=True)
            said = " ".join(html.unescape(thrown_out.text).split())
            assert "unlocked it from another window or browser" in said
            assert "is no longer in memory" not in said
            again = first.get("/unlock").text  # said once
            assert "another window or browser" not in html.unescape(again)


def test_an_account_resealed_by_a_trusted_colleague_opens_on_the_desk(tmp_path: Path) -> None:
    """`review show` and exports open an account a pinned colleague resealed to you; the
    desk's account page refused it, and its patterns left it out."""
    from storage.crypto import reseal_account
    from storage.crypto.seal import open_content_key
    from storage.queue.reseals import store_reseals
    from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            node = served.node
            via_c = make_account(node, [reviewer("c")])
            put_accounts(url, node, [via_c])
            content_key = open_content_key(
                via_c.sealed, reviewer("c"), {node.fingerprint: node.public_key_bytes}
            )
            reseal = reseal_account(via_c.sealed, content_key, reviewer("a").public, reviewer("c"))
            queue = Queue(open_queue(url))
            store_reseals(queue, [reseal])
            queue.close()
            ReviewerPins(reviewer_pins_path_from_env(served.env)).pin(reviewer("c").public)
            http, _token = unlocked(served)
            page = http.get(f"/accounts/{via_c.sealed.account_id}")
            assert page.status_code == 200, page.text[-600:]
            saved = http.post(
                f"/accounts/{via_c.sealed.account_id}/triage",
                data={"csrf": csrf_of(page.text), "add_tag": "", "note": "called back"},
            )
            assert saved.status_code == 303, saved.text[-600:]
            assert "called back" in http.get(f"/accounts/{via_c.sealed.account_id}").text
            patterns = " ".join(html.unescape(http.get("/patterns").text).split())
            assert "Left out" not in patterns


def test_the_desks_export_includes_an_account_a_pinned_colleague_resealed(
    tmp_path: Path,
) -> None:
    """`attest review export` includes it; the desk's export left it out as untrusted."""
    import json

    from storage.crypto import reseal_account
    from storage.crypto.seal import open_content_key
    from storage.queue.reseals import store_reseals
    from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            node = served.node
            via_c = make_account(node, [reviewer("c")])
            put_accounts(url, node, [via_c])
            content_key = open_content_key(
                via_c.sealed, reviewer("c"), {node.fingerprint: node.public_key_bytes}
            )
            reseal = reseal_account(via_c.sealed, content_key, reviewer("a").public, reviewer("c"))
            queue = Queue(open_queue(url))
            store_reseals(queue, [reseal])
            queue.close()
            ReviewerPins(reviewer_pins_path_from_env(served.env)).pin(reviewer("c").public)
            http, token = unlocked(served)
            answer = http.post(
                "/export", data={"csrf": token, "purpose": "internal", "format": "json"}
            )
            document = json.loads(answer.text)
            assert document["left_out"]["untrusted_keys"] == 0, document["left_out"]
            assert via_c.sealed.account_id in {a["account_id"] for a in document["accounts"]}
