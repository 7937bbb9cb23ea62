"""Wiring and entry points of the bot."""

import os

# Opt in to python-telegram-bot's coming time-period types (retry_after as a timedelta) so its
# deprecation warnings do not fire on every flood-wait; the executor handles both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")
