"""The updates Telegram holds for the bot until it confirms them.

Promises: every update gets the next update_id; the queue is delivered in update_id order;
confirming an offset forgets every update below it; updates of a kind the bot did not ask for are
dropped, as Telegram drops them. A raw update (`push_raw`) is queued exactly as given, malformed
or not, with the next update_id unless it carries its own; one of a kind Telegram does not know
is delivered whatever the bot asked for, since only a test puts it there. Costs: a push O(1),
a confirmation O(updates forgotten), a delivery O(updates delivered or dropped).
No clock, no waiting: the world wakes its waiters.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

# What Telegram delivers when the bot names no allowed_updates.
DEFAULT_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "chat_join_request",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Every kind Telegram knows, including those it sends only when asked.
KNOWN_UPDATES = DEFAULT_UPDATES | {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "purchased_paid_media",
}
Update = dict[str, Any]


class UpdateQueue:
    """Pending updates, oldest first, and the kinds the bot asked for."""

    def __init__(self) -> None:
        self.next_id = 1
        self.confirmed = 0  # every update_id below this was delivered and confirmed
        self.allowed: frozenset[str] = DEFAULT_UPDATES
        self._pending: deque[Update] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[Update]:
        return iter(list(self._pending))

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.next_id
        self.next_id += 1
        self._pending.append({"update_id": update_id, kind: payload})
        return update_id

    def push_raw(self, payload: dict[str, Any]) -> int:
        """Queue `payload` as the update itself; returns its update_id. It is copied through
        JSON, as it would travel, so it may hold any JSON value and nothing else."""
        update = json.loads(json.dumps(payload, allow_nan=False))
        if not isinstance(update, dict):
            raise TypeError("a raw update is a JSON object")
        update_id = update.setdefault("update_id", self.next_id)
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise TypeError(f"update_id must be an integer, not {update_id!r}")
        self.next_id = max(self.next_id, update_id + 1)
        position = len(self._pending)
        while position and self._pending[position - 1]["update_id"] > update_id:
            position -= 1
        self._pending.insert(position, update)
        return update_id

    def confirm(self, offset: int) -> bool:
        """Updates below `offset` were received: forget them. True when that changed anything."""
        changed = offset > self.confirmed
        self.confirmed = max(self.confirmed, offset)
        while self._pending and self._pending[0]["update_id"] < offset:
            self._pending.popleft()
            changed = True
        return changed

    def deliverable(
        self, allowed: frozenset[str] | None = None, *, limit: int | None = None, drop: bool = True
    ) -> list[Update]:
        """The first `limit` queued updates (all with None) of the allowed kinds; with `drop`,
        the updates of other kinds met on the way are dropped."""
        allowed = self.allowed if allowed is None else allowed
        kept: list[Update] = []
        scanned = 0
        for update in self._pending:
            if limit is not None and len(kept) >= limit:
                break
            scanned += 1
            kind = kind_of(update)
            if kind in allowed or kind not in KNOWN_UPDATES:
                kept.append(update)
        if drop and len(kept) < scanned:
            rest = list(islice(self._pending, scanned, None))
            self._pending = deque(kept + rest)
        return kept

    def clear(self) -> None:
        self._pending.clear()


def kind_of(update: Update) -> str:
    """The update's kind: its first key besides update_id ("" when it has none)."""
    return next((key for key in update if key != "update_id"), "")
