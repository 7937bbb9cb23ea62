"""SendLimiter with the time passed in: overall spacing, the per-group window, pauses."""

from itertools import pairwise

from bot.ratelimit import WINDOW, SendLimiter


def test_ratelimit_spaces_calls_overall():
    limiter = SendLimiter(per_second=30, per_chat_per_minute=20)
    slots = [limiter.reserve(chat, 100.0, counts=False) for chat in range(60)]
    assert slots[0] == 100.0
    gaps = {round(b - a, 6) for a, b in pairwise(slots)}
    assert gaps == {round(limiter.interval, 6)}
    # never more than 30 calls in any one second
    assert all(sum(1 for s in slots if t <= s < t + 1) <= 30 for t in slots)


def test_ratelimit_per_chat_window_counts_messages_only():
    limiter = SendLimiter(per_second=1000, per_chat_per_minute=3)
    for _ in range(3):
        assert limiter.chat_ready_at(-1, 10.0, counts=True) == 10.0
        limiter.reserve(-1, 10.0, counts=True)
    ready = limiter.chat_ready_at(-1, 10.0, counts=True)
    assert ready > 10.0 + WINDOW - 1
    assert limiter.chat_ready_at(-1, 10.0, counts=False) == 10.0  # a delete or ban may go
    assert limiter.chat_ready_at(-2, 10.0, counts=True) == 10.0  # other groups unaffected
    assert limiter.chat_ready_at(-1, ready, counts=True) == ready


def test_ratelimit_pause_after_429():
    limiter = SendLimiter()
    limiter.pause_chat(-1, 50.0)
    assert limiter.chat_ready_at(-1, 10.0, counts=True) == 50.0
    assert limiter.chat_ready_at(-1, 10.0, counts=False) == 50.0  # every call of the chat waits
    assert limiter.chat_ready_at(-2, 10.0, counts=True) == 10.0


def test_ratelimit_forgets_idle_chats():
    limiter = SendLimiter()
    limiter.reserve(-1, 0.0, counts=True)
    limiter.pause_chat(-2, 5.0)
    limiter.forget_idle(1000.0)
    assert limiter._chat_sends == {}
    assert limiter._paused_until == {}
