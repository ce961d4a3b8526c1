"""The reviewer desk in real headless Chromium (Debian's `chromium`, driven by Playwright).

No browser is downloaded: Playwright drives /usr/bin/chromium through `executable_path`.
Where chromium is missing these tests skip with a message, except when
ATTEST_DESK_BROWSER_REQUIRED=1 (CI sets it, after installing chromium): then they fail.
Screenshots go to test-output/desk/ (ATTEST_TEST_OUTPUT overrides the folder).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.queue.admin import open_queue
from storage.queue.tables import accounts
from tests.desk_support import ARABIC_STORY, PASSPHRASE, RunningDesk, running_desk
from tests.queue_support import fresh_queue_url

CHROMIUM = Path(os.environ.get("ATTEST_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = Path(
    os.environ.get("ATTEST_TEST_OUTPUT", Path(__file__).resolve().parent.parent / "test-output")
)


def _why_not() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium (CI installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is missing: pip install -e '.[dev]'"
    return None


missing = _why_not()
if missing and os.environ.get("ATTEST_DESK_BROWSER_REQUIRED") == "1":
    raise RuntimeError(f"browser tests are required here, but {missing}")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing is not None, reason=f"desk browser tests skipped: {missing}"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # DNS rebinding, simulated: evil.example resolves to this machine.
            args=["--no-sandbox", "--host-resolver-rules=MAP evil.example 127.0.0.1"],
        )
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RunningDesk]:
    for url in fresh_queue_url("sqlite", tmp_path):
        yield from running_desk(tmp_path, url)


@pytest.fixture
def page(browser: Any, served: RunningDesk) -> Iterator[Any]:
    context = browser.new_context(
        base_url=served.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    folder = OUTPUT / "desk"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def unlock(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Passphrase for your reviewer key").fill(PASSPHRASE)
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_url("**/queue")


def rows(page: Any) -> list[str]:
    return [
        (link.get_attribute("href") or "").rsplit("/", 1)[-1]
        for link in page.locator("table.queue tbody a").all()
    ]


def statuses(served: RunningDesk) -> dict[str, str]:
    engine = open_queue(served.queue_url)
    with engine.connect() as conn:
        found = {r.id: r.status for r in conn.execute(select(accounts.c.id, accounts.c.status))}
    engine.dispose()
    return found


def unlabelled_controls(page: Any) -> list[str]:
    """Every visible form control without an accessible name (label, aria-label, text)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
                .filter(e => e.type !== 'hidden')
                .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label')
                               || (e.tagName === 'BUTTON' && e.textContent.trim())))
                .map(e => e.outerHTML)"""
        )
    )


def test_unlock_wrong_passphrase_list_filter_and_bulk_triage(
    page: Any, served: RunningDesk
) -> None:
    page.goto("/")
    assert unlabelled_controls(page) == []
    page.get_by_label("Passphrase for your reviewer key").fill("wrong horse")
    with page.expect_navigation():
        page.get_by_role("button", name="Unlock").click()
    assert "does not open this key" in page.get_by_role("alert").inner_text()
    shot(page, "unlock-wrong-passphrase")
    unlock(page)
    ids = served.ids
    assert rows(page)[:2] == [ids["urgent"], ids["arabic"]]
    assert unlabelled_controls(page) == []
    shot(page, "queue")

    page.get_by_label("Language").select_option("ar")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert rows(page) == [ids["arabic"]]
    with page.expect_navigation():
        page.get_by_role("link", name="Clear filters").click()

    page.get_by_label(f"Select account {ids['archive-only-1'][:12]}").check()
    page.get_by_label(f"Select account {ids['archive-only-2'][:12]}").check()
    page.get_by_label("New status").select_option("referred")
    with page.expect_navigation():
        page.get_by_role("button", name="Set status").click()
    assert "Accounts changed: 2." in page.locator(".notice").first.inner_text()
    now = statuses(served)
    assert now[ids["archive-only-1"]] == now[ids["archive-only-2"]] == "referred"
    assert now[ids["voice"]] == "new"

    page.get_by_label("Select every account on this page").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Claim").click()
    page.get_by_label("Only mine").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert len(rows(page)) == 5


def test_open_the_arabic_account_triage_print_and_export(page: Any, served: RunningDesk) -> None:
    unlock(page)
    with page.expect_navigation():
        page.locator(f'a[href="/accounts/{served.ids["arabic"]}"]').click()
    banner = page.get_by_role("region", name="What this account may be used for")
    assert banner.is_visible()
    first_section = page.locator("main section").first
    assert first_section.get_attribute("class") == "consent"
    story = page.locator("p.value", has_text=ARABIC_STORY)
    assert story.get_attribute("lang") == "ar" and story.get_attribute("dir") == "rtl"
    assert story.evaluate("e => getComputedStyle(e).direction") == "rtl"
    for text in ("I don't know", "Skipped", "Prefer not to say"):
        assert page.locator(".answer-status", has_text=text).count() == 1
    assert unlabelled_controls(page) == []
    shot(page, "account-arabic")

    page.get_by_label("Status", exact=True).select_option("follow-up")
    page.get_by_label("Tag to add").fill("detention")
    page.get_by_label("New note (sealed: only the account's reviewers can read it)").fill(
        "Needs a lawyer who reads Arabic."
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.locator(".notice").first.inner_text() == "Saved."
    assert "Needs a lawyer who reads Arabic." in page.locator(".note-text").inner_text()
    assert statuses(served)[served.ids["arabic"]] == "follow-up"

    with page.expect_navigation():
        page.get_by_role("link", name="Printable summary").click()
    page.emulate_media(media="print")
    assert page.locator("header.bar").is_hidden()
    assert page.locator(".consent").is_visible()
    page.emulate_media(media="screen")

    with page.expect_navigation():
        page.get_by_role("link", name="Export").click()
    assert unlabelled_controls(page) == []
    page.get_by_label("Public reports (anonymised, only with consent for reports)").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export").click()
    download = download_info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    assert served.ids["arabic"] in text and served.ids["archive-only-1"] not in text
    assert ARABIC_STORY not in text  # anonymised: the person's own words withheld


def test_keyboard_only_use_of_the_queue_and_the_account(page: Any, served: RunningDesk) -> None:
    page.goto("/")
    # The passphrase field has focus on arrival (autofocus); wait for it rather than race
    # it on a loaded machine, then use the keyboard alone.
    page.wait_for_function("document.activeElement && document.activeElement.type === 'password'")
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Enter")
    page.wait_for_url("**/queue")
    target = served.ids["urgent"]

    def focus_on(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    # Select a row with the space bar, go back to the bulk actions, claim it.
    focus_on("input.row-select")
    page.keyboard.press("Space")
    chosen = page.evaluate("document.activeElement.value")
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('button[value=claim]')"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert statuses(served)[chosen] == "in-review"

    focus_on(f'a[href="/accounts/{target}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/accounts/{target}")
    focus_on("#triage-status")
    page.keyboard.press("End")  # the last status: closed
    focus_on("#add-tag")
    page.keyboard.type("keyboard")
    focus_on('form.triage button[type="submit"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.locator(".notice").first.inner_text() == "Saved."
    assert statuses(served)[target] == "closed"


def test_the_desk_locks_itself_in_the_browser(browser: Any, tmp_path: Path) -> None:
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, idle_seconds=2.0):
            context = browser.new_context(base_url=served.url)
            page = context.new_page()
            unlock(page)
            with page.expect_navigation():
                page.locator(f'a[href="/accounts/{served.ids["arabic"]}"]').click()
            assert page.locator("p.value", has_text=ARABIC_STORY).count() == 1
            # No request for longer than the setting: the key goes, the page clears itself.
            page.wait_for_url("**/unlock", timeout=10_000)
            assert not served.desk.lock.unlocked
            assert ARABIC_STORY not in page.content()
            page.go_back()
            assert ARABIC_STORY not in page.content()  # no-store: not from the cache either
            context.close()


def test_a_note_half_typed_when_the_desk_locks_itself_comes_back_after_unlocking(
    browser: Any, tmp_path: Path
) -> None:
    """Typing makes no request, so a long note can outlast the idle time. The lock still
    takes the key and clears the account off the screen; the unsaved note is kept in the
    page's memory only (never in sessionStorage or localStorage, which reach the disk),
    and is back in the form once the reviewer unlocks."""
    typed = "Call the clinic about the check-up before Friday"
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, idle_seconds=3.0):
            context = browser.new_context(base_url=served.url)
            page = context.new_page()
            page.set_default_timeout(15_000)
            unlock(page)
            with page.expect_navigation():
                page.locator(f'a[href="/accounts/{served.ids["arabic"]}"]').click()
            note = page.get_by_label("New note (sealed: only the account's reviewers can read it)")
            note.fill(typed)
            passphrase = page.get_by_label("Passphrase for your reviewer key")
            passphrase.wait_for(timeout=20_000)  # locked: asked for the passphrase again
            deadline = time.monotonic() + 5
            while served.desk.lock.unlocked and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not served.desk.lock.unlocked
            assert ARABIC_STORY not in page.content()  # the account is off the screen
            assert typed not in page.content()
            stored = page.evaluate("() => sessionStorage.length + localStorage.length")
            assert stored == 0
            shot(page, "locked-with-a-draft")

            passphrase.fill("not the passphrase")
            page.get_by_role("button", name="Unlock").click()
            refused = page.get_by_role("alert")
            refused.wait_for()
            assert "That passphrase does not open this key" in refused.inner_text()
            assert not served.desk.lock.unlocked
            passphrase.fill(PASSPHRASE)
            page.get_by_role("button", name="Unlock").click()
            page.locator("p.value", has_text=ARABIC_STORY).wait_for()
            assert served.desk.lock.unlocked
            note = page.get_by_label("New note (sealed: only the account's reviewers can read it)")
            assert note.input_value() == typed
            with page.expect_navigation():
                page.get_by_role("button", name="Save").click()
            assert page.locator(".notice").first.inner_text() == "Saved."
            assert typed in page.locator(".note-text").inner_text()
            context.close()


def test_without_a_script_the_account_page_still_clears_itself_at_the_lock(
    browser: Any, tmp_path: Path
) -> None:
    """The account page leaves clearing itself to desk.js (to keep an unsaved note); with
    scripts off, its refresh still takes the account off the screen."""
    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, idle_seconds=2.0):
            context = browser.new_context(base_url=served.url, java_script_enabled=False)
            page = context.new_page()
            unlock(page)
            page.goto(f"/accounts/{served.ids['arabic']}")
            assert page.locator("p.value", has_text=ARABIC_STORY).count() == 1
            page.wait_for_url("**/unlock", timeout=10_000)
            assert ARABIC_STORY not in page.content()
            context.close()


class _Attacker(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        victim = self.server.victim  # type: ignore[attr-defined]
        body = f"""<!doctype html><form id=f method=post action="{self.target}/queue/act">
            <input name=action value=status><input name=status value=closed>
            <input name=id value="{victim}"></form>
            <script>document.getElementById('f').submit()</script>""".encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_forged_host_and_a_cross_site_post_are_refused(page: Any, served: RunningDesk) -> None:
    unlock(page)
    before = statuses(served)
    # DNS rebinding: the attacker's name, resolved to 127.0.0.1, carries the cookie-less
    # request to the desk's port; the Host header gives it away.
    answer = page.goto(f"http://evil.example:{served.port}/queue")
    assert answer is not None and answer.status == 421
    assert "refused" in page.content()

    # A page of another site (another port of this machine) posts a form to the desk.
    handler = type("Attacker", (_Attacker,), {"target": served.url})
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    attacker.victim = served.ids["urgent"]  # type: ignore[attr-defined]
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        with page.expect_response(re.compile(r".*/queue/act$")) as posted:
            page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        assert posted.value.status == 403
    finally:
        attacker.shutdown()
    time.sleep(0.2)
    assert statuses(served) == before


# -- issue 21: the elements view, the "lacks" filter, patterns and the case summary -------


def csp_refusals(page: Any) -> list[str]:
    """Console messages of content the page's CSP refused (collected from now on)."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def test_the_elements_view_and_the_lacks_filter_in_chromium(page: Any, served: RunningDesk) -> None:
    from tests.pattern_support import put_pattern_accounts

    ids = put_pattern_accounts(served.queue_url, served.node)
    refused = csp_refusals(page)
    unlock(page)
    page.goto(f"/accounts/{ids[0]}")
    view = page.locator("section.elements")
    assert view.get_by_text("An aid for the reviewer, not a legal finding.").is_visible()
    e4 = page.locator("#element-E4")
    assert "Answers support it" in e4.inner_text()
    assert "Detention, arrest or abduction" in e4.inner_text()
    assert "Possibly: read the answer" in page.locator("#element-E8").inner_text()
    page.locator("#element-E8 a").first.click()  # to the answer to read
    assert page.url.endswith("#answer-1")
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(_folder() / "elements-view.png"))
    page.goto("/queue")
    page.get_by_label("Answers lack element").select_option("E3")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**lacks=E3**")
    listed = rows(page)
    assert ids[6] in listed and ids[0] not in listed
    assert page.get_by_text("not a legal finding", exact=False).first.is_visible()
    shot(page, "queue-lacks-E3")
    page.get_by_role("link", name="Case summary by element").click()
    # The queue's filter came along: only accounts lacking E3, so not the six alike.
    assert "lacks=E3" in page.url and ids[0] not in page.content()
    e1 = page.locator("section[aria-labelledby=summary-E1]").inner_text()
    assert ids[6] in e1  # barred from school or university: E1
    assert ids[6] not in page.locator("section[aria-labelledby=summary-E3]").inner_text()
    shot(page, "case-summary")
    assert unlabelled_controls(page) == []
    assert refused == []


def test_the_patterns_page_draws_charts_without_javascript_in_chromium(
    browser: Any, tmp_path: Path
) -> None:
    from tests.pattern_support import put_pattern_accounts

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url):
            put_pattern_accounts(url, served.node)
            for javascript in (True, False):
                context = browser.new_context(
                    base_url=served.url,
                    java_script_enabled=javascript,
                    viewport={"width": 1280, "height": 900},
                )
                page = context.new_page()
                refused = csp_refusals(page)
                unlock(page)
                page.get_by_role("link", name="Patterns", exact=True).click()
                page.wait_for_url("**/patterns")
                harm = page.locator("section.pattern").nth(1)
                chart = harm.locator("figure.chart svg")
                assert chart.is_visible()
                box = chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 150
                # The labels are text the browser lays out, and the bars have a fill.
                texts = chart.locator("text").all_text_contents()
                assert "Dress or appearance rules, or punishment under them" in texts
                fill = chart.locator("rect.reactive").first.evaluate(
                    "e => getComputedStyle(e).fill"
                )
                assert fill not in ("", "none", "rgb(0, 0, 0)")
                table = harm.locator("table.pattern-table").inner_text()
                assert "Dress or appearance rules, or punishment under them\t6" in table
                assert "Detention, arrest or abduction\t7" in table  # and the seed's Arabic one
                assert refused == []
                if javascript:
                    harm.screenshot(path=str(_folder() / "patterns-harm.png"))
                    shot(page, "patterns")
                context.close()


def test_the_patterns_page_in_arabic_shapes_the_chart_labels(browser: Any, tmp_path: Path) -> None:
    from tests.pattern_support import put_pattern_accounts

    for url in fresh_queue_url("sqlite", tmp_path):
        for served in running_desk(tmp_path, url, language="ar"):
            put_pattern_accounts(url, served.node)
            context = browser.new_context(
                base_url=served.url, viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            page.goto("/")
            page.locator("input[type=password]").fill(PASSPHRASE)
            page.locator("form button[type=submit]").first.click()
            page.wait_for_url("**/queue")
            page.goto("/patterns")
            assert page.locator("html").get_attribute("dir") == "rtl"
            chart = page.locator("section.pattern").nth(2).locator("figure.chart svg")
            labels = " ".join(chart.locator("text").all_text_contents())
            assert re.search(r"[\u0600-\u06ff]", labels)  # Arabic option labels, as text
            # Each label ends before the bars start: the plot stays left to right.
            bar = chart.locator("rect.reactive").first.bounding_box()
            label = chart.locator("text", has_text=re.compile("[\u0600-\u06ff]")).first
            label_box = label.bounding_box()
            assert bar is not None and label_box is not None
            assert label_box["x"] + label_box["width"] <= bar["x"] + 1
            page.locator("section.pattern").nth(2).screenshot(
                path=str(_folder() / "patterns-perpetrators-ar.png")
            )
            context.close()


def _folder() -> Path:
    folder = OUTPUT / "desk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
