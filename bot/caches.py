"""Short-lived in-process caches. Each is only a shortcut: the source of truth is Telegram or the
database, so losing a cache (a restart, another worker) costs a look-up, never a decision."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

ADMINS_TTL = 600.0


@dataclass(frozen=True)
class MemberStatus:
    status: str
    can_restrict: bool


class AdminCache:
    """chat -> its administrators (from getChatAdministrators) for ADMINS_TTL seconds.

    A chat_member update about an admin drops the chat's entry, so promotions and demotions count
    at once.
    """

    def __init__(self) -> None:
        self._chats: dict[int, tuple[float, dict[int, MemberStatus]]] = {}

    def get(self, chat_id: int) -> dict[int, MemberStatus] | None:
        entry = self._chats.get(chat_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, chat_id: int, admins: dict[int, MemberStatus]) -> None:
        if len(self._chats) > 20_000:
            self._chats.clear()
        self._chats[chat_id] = (time.monotonic() + ADMINS_TTL, admins)

    def drop(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)


class RecentTexts:
    """Which chats saw the same text fingerprint lately: the evidence of a cross-group wave."""

    def __init__(self, window: float = 600.0, limit: int = 50_000) -> None:
        self.window = window
        self.limit = limit
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def note(self, fingerprint: str, chat_id: int, now: float | None = None) -> int:
        """Record the text in the chat; return how many distinct chats saw it in the window."""
        now = time.monotonic() if now is None else now
        entries = self._seen.setdefault(fingerprint, deque())
        while entries and entries[0][0] < now - self.window:
            entries.popleft()
        entries.append((now, chat_id))
        if len(self._seen) > self.limit:
            self._prune(now)
        return len({chat for _, chat in entries})

    def _prune(self, now: float) -> None:
        for key in [k for k, d in self._seen.items() if not d or d[-1][0] < now - self.window]:
            del self._seen[key]
        if len(self._seen) > self.limit:
            self._seen.clear()


K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):  # noqa: UP046 - Python 3.11 has no type parameter syntax
    """A small map whose entries expire after `ttl` seconds (and that never grows unbounded)."""

    def __init__(self, ttl: float, limit: int = 100_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        if len(self._items) >= self.limit:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def drop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class RecentIds:
    """Update ids processed by this process, plus the highest id stored before it started: an id
    above that mark and not in the recent set cannot have been processed, so no query is needed.
    """

    def __init__(self, stored_max: int | None, limit: int = 200_000) -> None:
        self.stored_max = stored_max if stored_max is not None else -1
        self.limit = limit
        self._ids: set[int] = set()
        self._order: deque[int] = deque()

    def add(self, update_id: int) -> None:
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self.limit:
            self._ids.discard(self._order.popleft())

    def seen_here(self, update_id: int) -> bool:
        return update_id in self._ids

    def needs_lookup(self, update_id: int) -> bool:
        return update_id <= self.stored_max and update_id not in self._ids
