"""Short-lived in-process caches. Each is only a shortcut: the source of truth is Telegram or the
database, so losing a cache (a restart, another worker) costs a look-up, never a decision."""

from __future__ import annotations

import time
from collections import deque
from typing import Generic, TypeVar

from storage.admins import AdminEntry

ADMINS_TTL = 600.0


class AdminCache:
    """chat -> its administrators (from getChatAdministrators) for ADMINS_TTL seconds.

    A chat_member update about an admin drops the chat's entry, so promotions and demotions count
    at once.
    """

    def __init__(self, ttl: float = ADMINS_TTL) -> None:
        self.ttl = ttl
        self._chats: dict[int, tuple[float, dict[int, AdminEntry]]] = {}

    def get(self, chat_id: int) -> dict[int, AdminEntry] | None:
        entry = self._chats.get(chat_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, chat_id: int, admins: dict[int, AdminEntry]) -> None:
        if len(self._chats) > 20_000:
            self._chats.clear()
        self._chats[chat_id] = (time.monotonic() + self.ttl, admins)

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


class TtlCache(Generic[K, V]):
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
