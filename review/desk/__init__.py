"""The reviewer desk: `attest desk`, a web page on the reviewer's own machine.

    cli.py      the `attest desk` command: address checks, opening the browser
    app.py      the Starlette application: routes for unlock, queue, account, export
    guard.py    what every request passes first: Host check, CSRF, headers, form limits
    lock.py     the unlocked key, the session and the auto-lock
    views.py    what the templates show of an account (no I/O)

Decryption happens in this process only; pages that show anything decrypted are sent
`Cache-Control: no-store`, and no log line carries content, ids or keys.
"""
