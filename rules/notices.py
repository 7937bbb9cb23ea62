"""When the bot speaks in a group, so that it never becomes the spammer.

Notices that can come in waves gather into one message while it waits: warnings about removed
ads (one per group at most every `min_interval`; a raid gets a summary, not a warning per ad),
welcomes (a wave of joins gets one welcome; during a raid the welcome waits until the joins stop),
and refusals (a member told once that a command is not theirs is not told again for a while).
Pure: the caller passes the times in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Pacing:
    batch_seconds: float = 0.0  # gather this long before the first send
    min_interval: float = 30.0  # at least this long after the last notice of its kind
    raid_size: int = 0  # a batch this large is a raid (0: never)
    hold_seconds: float = 60.0  # a raid's notice waits until no event came for this long
    max_hold: float = 300.0  # but never longer than this after its first event


WARNINGS = Pacing(batch_seconds=0.0, min_interval=30.0)
REFUSALS = Pacing(min_interval=600.0)


def welcome_pacing(batch_seconds: float) -> Pacing:
    return Pacing(batch_seconds=batch_seconds, min_interval=60.0, raid_size=15, hold_seconds=60.0)


def due_at(
    now: datetime,
    *,
    last_sent: datetime | None,
    batch_size: int,
    pacing: Pacing,
    first_at: datetime | None = None,
) -> datetime:
    """When a notice holding `batch_size` events (this one included), the first of them at
    `first_at`, should go out."""
    due = now + timedelta(seconds=pacing.batch_seconds)
    if pacing.raid_size and batch_size >= pacing.raid_size:
        held = now + timedelta(seconds=pacing.hold_seconds)
        if first_at is not None:
            held = min(held, first_at + timedelta(seconds=pacing.max_hold))
        due = max(due, held)
    if last_sent is not None:
        due = max(due, last_sent + timedelta(seconds=pacing.min_interval))
    return due


def may_repeat(now: datetime, last_sent: datetime | None, pacing: Pacing = REFUSALS) -> bool:
    """Whether a notice that is not merged (a refusal) may be given again now."""
    return last_sent is None or now - last_sent >= timedelta(seconds=pacing.min_interval)
