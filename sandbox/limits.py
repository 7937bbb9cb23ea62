"""Telegram's flood control as the sandbox applies it to the bot.

Two limits on messages the bot sends or edits: `per_second` overall and `per_chat_per_minute` in
one group; a send past either is answered 429 with the seconds until it would pass. A storm
(`storm(seconds, retry_after)`) answers 429 with a fixed retry_after to every call that sends or
changes a chat for a while, as Telegram does when it throttles a bot as a whole.

Time is the injected monotonic clock, never the sandbox's movable date clock. Each check costs
O(1) amortised: the windows are deques of send times, trimmed from the old end.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

# Bot API methods that send or change something in a chat: the ones a storm refuses.
CHAT_CHANGING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendChatAction",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
        "banChatMember",
        "unbanChatMember",
        "restrictChatMember",
        "promoteChatMember",
        "setChatPermissions",
        "createChatInviteLink",
        "approveChatJoinRequest",
        "declineChatJoinRequest",
        "leaveChat",
    }
)


class Limits:
    """The send windows and the storm switch; the world holds one."""

    def __init__(
        self,
        *,
        per_second: int = 30,
        per_chat_per_minute: int = 20,
        enforce: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_minute = per_chat_per_minute
        self.enforce = enforce
        self.clock = clock
        self._last_second: deque[float] = deque()
        self._last_minute: dict[int, deque[float]] = {}  # group chat id -> its sends
        self._storm_until = 0.0
        self._storm_retry_after = 0

    def flood_wait(self, chat_id: int) -> int | None:
        """Seconds to wait when a message sent now would break a limit; None if it may go."""
        if not self.enforce:
            return None
        now = self.clock()
        overall = _trim(self._last_second, now - 1)
        if len(overall) >= self.per_second:
            return max(1, math.ceil(overall[0] + 1 - now))
        in_chat = self._last_minute.get(chat_id)
        if in_chat is not None:
            _trim(in_chat, now - 60)
            if len(in_chat) >= self.per_chat_per_minute:
                return max(1, math.ceil(in_chat[-self.per_chat_per_minute] + 60 - now))
        return None

    def count_send(self, chat_id: int) -> None:
        """A message went out to the chat: it counts against both windows."""
        now = self.clock()
        self._last_second.append(now)
        if chat_id < 0:  # the per-minute limit is a group's; private chats have none
            self._last_minute.setdefault(chat_id, deque()).append(now)

    def storm(self, seconds: float, retry_after: int) -> None:
        """For `seconds` from now, every chat-changing call is told to retry after
        `retry_after` seconds; `seconds=0` ends a storm."""
        self._storm_until = self.clock() + seconds
        self._storm_retry_after = retry_after

    def storm_wait(self) -> int | None:
        """The retry_after a storm answers with now; None when there is no storm."""
        return self._storm_retry_after if self.clock() < self._storm_until else None


def _trim(window: deque[float], since: float) -> deque[float]:
    while window and window[0] <= since:
        window.popleft()
    return window
