"""The Telegram channel: python-telegram-bot at the edge, our dispatcher inside.

This package is the only place that imports `telegram`. Updates become
`flows.types.Inbound` in `updates.py`; replies become messages and inline keyboards in
`keyboards.py` and are sent by `sender.py`; `channel.py` ties one update to one durable
turn; `app.py` builds the PTB Application (polling) and `webhook.py` the webhook endpoint.
"""
