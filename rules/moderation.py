"""Moderation policy as pure functions: the warn ladder, who is protected, inviter accountability,
and mute durations.

Nothing here knows Telegram or the database; callers pass counts and statuses in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Telegram treats a restriction or ban shorter than 30 seconds or longer than 366 days as forever.
MIN_RESTRICT_SECONDS = 30
MAX_RESTRICT_SECONDS = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d{1,6})\s*([smhdw])$", re.IGNORECASE)

PROTECTED_STATUSES = frozenset({"creator", "administrator"})


class Step(StrEnum):
    WARN = "warn"
    BLACKLIST = "blacklist"


def next_step(active_warnings: int, warn_limit: int) -> Step:
    """With `active_warnings` including the one just given: blacklist once the limit is reached."""
    return Step.BLACKLIST if active_warnings >= max(1, warn_limit) else Step.WARN


@dataclass(frozen=True)
class Target:
    user_id: int
    status: str  # Telegram ChatMember status in the chat where the action starts
    is_bot_itself: bool = False
    is_owner: bool = False  # an owner of the alliance


def protection(target: Target) -> str | None:
    """Why the target may not be warned, banned or blacklisted (None: they may)."""
    if target.is_bot_itself:
        return "bot"
    if target.is_owner:
        return "owner"
    if target.status in PROTECTED_STATUSES:
        return "admin"
    return None


class InviterAction(StrEnum):
    NONE = "none"
    REPORT = "report"
    RESTRICT = "restrict"
    BLACKLIST = "blacklist"


def inviter_consequence(strikes: int, limit: int, policy: str) -> InviterAction:
    """What happens to an inviter after `strikes` blacklisted invitees (reported at the limit)."""
    if strikes < max(1, limit):
        return InviterAction.NONE
    try:
        return InviterAction(policy)
    except ValueError:
        return InviterAction.REPORT


def parse_duration(text: str) -> int | None:
    """Seconds for "10m", "2h", "3d", "1w", "45s"; None when it is not a duration.

    The result is clamped to what Telegram accepts as a temporary restriction.
    """
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    return min(max(seconds, MIN_RESTRICT_SECONDS), MAX_RESTRICT_SECONDS)


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
