"""Send pacing that keeps the bot under Telegram's limits instead of bouncing off them.

Two limits, with the time passed in so the logic is testable without sleeping:
- overall: calls are spaced evenly at a fraction under the allowed rate (about 30 a second);
- per group: at most N messages in any sliding minute (about 20); deletes, bans and other
  moderation calls are not held to it.
A 429 pauses the chat it came from until Telegram's retry_after (Telegram's answer does not say
whether a flood is global; the overall pacing keeps the bot under the global limit).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Spacing a little under the nominal rate absorbs network jitter that would otherwise let two
# calls land inside one window at the server.
SAFETY = 0.97
WINDOW = 60.0


@dataclass
class SendLimiter:
    per_second: float = 30.0
    per_chat_per_minute: int = 20
    _next_slot: float = 0.0
    _chat_sends: dict[int, deque[float]] = field(default_factory=dict)
    _paused_until: dict[int, float] = field(default_factory=dict)

    @property
    def interval(self) -> float:
        return 1.0 / (self.per_second * SAFETY)

    def chat_ready_at(self, chat_id: int, now: float, *, counts: bool) -> float:
        """When the chat may take its next call (now, if it may go at once)."""
        ready = max(now, self._paused_until.get(chat_id, 0.0))
        if counts:
            sends = self._chat_sends.get(chat_id)
            if sends is not None:
                while sends and sends[0] <= now - WINDOW:
                    sends.popleft()
                if len(sends) >= self.per_chat_per_minute:
                    ready = max(ready, sends[0] + WINDOW + 0.05)
        return ready

    def next_slot(self, now: float) -> float:
        """When the next call may be made at the overall rate."""
        return max(now, self._next_slot)

    def reserve(self, chat_id: int, now: float, *, counts: bool) -> float:
        """Book the next overall slot for a call; return the time at which to make it."""
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if counts:
            self._chat_sends.setdefault(chat_id, deque()).append(slot)
        return slot

    def pause_chat(self, chat_id: int, until: float) -> None:
        self._paused_until[chat_id] = max(self._paused_until.get(chat_id, 0.0), until)

    def forget_idle(self, now: float) -> None:
        """Drop bookkeeping of chats quiet for a minute, so memory follows active chats only."""
        for chat_id in [c for c, d in self._chat_sends.items() if not d or d[-1] < now - WINDOW]:
            del self._chat_sends[chat_id]
        for chat_id in [c for c, t in self._paused_until.items() if t < now]:
            del self._paused_until[chat_id]
