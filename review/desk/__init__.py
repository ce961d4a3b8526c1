"""The reviewer desk: `attest desk`, a web page on the reviewer's own machine.

    cli.py           the `attest desk` command: address checks, opening the browser
    app.py           the Starlette application, the Desk it serves, errors as pages
    guard.py         what every request passes first: Host check, headers, Origin, forms
    lock.py          the unlocked key, the session, the CSRF token and the auto-lock
    unlock_page.py   unlock with the passphrase, lock
    queue_page.py    the queue: counts, filters, paging, bulk actions
    account_page.py  one account: consent, answers, files, custody, triage, audit trail
    export_page.py   exports as `attest review export`
    views.py         what the templates show of an account (no I/O)
    templates/, static/   Jinja2 templates, the stylesheet (with a print style), one script

Decryption happens in this process only; pages that show anything decrypted are sent
`Cache-Control: no-store`, and no log line carries content, ids or keys.
"""
