"""The executor against a scripted Bot API: order, retries, 429, permanent failures, follow-ups."""

import asyncio
from datetime import timedelta

import pytest

from bot.executor import Executor
from bot.ratelimit import SendLimiter
from sandbox.offline import scripted_bot
from storage.db import create_engine, create_session_factory
from storage.models import utcnow
from storage.outbox import OutboxRepository

A, B = -1001, -1002


@pytest.fixture
async def env(databases):
    url = await databases.fresh("sqlite")
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    bot, request = await scripted_bot()
    executor = Executor(bot, sessions, SendLimiter(per_second=500, per_chat_per_minute=1000),
                        backoff_base=0.05)
    yield sessions, executor, request
    await engine.dispose()


async def queue(sessions, *rows):
    async with sessions() as s:
        ids = [(await OutboxRepository(s).add(kind, chat, payload, **kw)).id for kind, chat, payload, *kw_ in rows
               for kw in [kw_[0] if kw_ else {}]]
        await s.commit()
    return ids


async def statuses(sessions):
    async with sessions() as s:
        return await OutboxRepository(s).count_by_status()


async def test_executor_keeps_order_within_a_chat(env):
    sessions, executor, request = env
    await queue(sessions, *[("send_message", A if i % 2 else B, {"text": f"m{i}"}) for i in range(10)])
    await executor.drain(timeout=20)
    texts = {chat: [p["text"] for p in request.made("sendMessage") if p["chat_id"] == chat] for chat in (A, B)}
    assert texts[A] == ["m1", "m3", "m5", "m7", "m9"] and texts[B] == ["m0", "m2", "m4", "m6", "m8"]
    assert await statuses(sessions) == {"done": 10}


async def test_executor_honours_429_and_keeps_order(env):
    sessions, executor, request = env
    request.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await queue(sessions, ("send_message", A, {"text": "first"}), ("send_message", A, {"text": "second"}))
    await executor.drain(timeout=20)
    sends = [(p["text"], t) for name, p, t in request.calls if name == "sendMessage"]
    assert [text for text, _ in sends] == ["first", "first", "second"]
    assert sends[1][1] - sends[0][1] >= 0.95  # waited retry_after
    assert executor.stats.flood_waits == 1 and await statuses(sessions) == {"done": 2}


async def test_executor_retries_server_errors_then_succeeds(env):
    sessions, executor, request = env
    request.fail("banChatMember", 500, "Internal Server Error")
    request.fail("banChatMember", 502, "Bad Gateway")
    await queue(sessions, ("ban_chat_member", A, {"user_id": 7}))
    await executor.drain(timeout=20)
    assert len(request.made("banChatMember")) == 3
    assert executor.stats.retried == 2 and await statuses(sessions) == {"done": 1}


async def test_executor_records_permanent_failure_once(env):
    sessions, executor, request = env
    request.fail("restrictChatMember", 400, "Bad Request: not enough rights to restrict/unrestrict chat member")
    (row_id,) = await queue(sessions, ("restrict_chat_member", A, {"user_id": 7, "permissions": {"can_send_messages": False}}))
    await executor.drain(timeout=20)
    assert len(request.made("restrictChatMember")) == 1
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "failed" and "not enough rights" in row.last_error.lower()


async def test_executor_treats_already_deleted_as_done(env):
    sessions, executor, request = env
    request.fail("deleteMessage", 400, "Bad Request: message to delete not found")
    await queue(sessions, ("delete_message", A, {"message_id": 5}))
    await executor.drain(timeout=20)
    assert await statuses(sessions) == {"done": 1}


async def test_executor_gives_up_after_max_attempts(env):
    sessions, executor, request = env
    for _ in range(10):
        request.fail("sendMessage", 502, "Bad Gateway")
    (row_id,) = await queue(sessions, ("send_message", A, {"text": "x"}))
    executor.backoff_base = 0.01
    await executor.drain(timeout=30)
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "failed" and "gave up after 8 tries" in row.last_error


async def test_executor_follows_migrated_group(env):
    sessions, executor, request = env
    request.answers["sendMessage"].append((400, {
        "ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -100777}}))
    await queue(sessions, ("send_message", -77, {"text": "hi"}), ("send_message", -77, {"text": "again"}))
    await executor.drain(timeout=20)
    sent = [(p["chat_id"], p["text"]) for p in request.made("sendMessage")]
    assert sent == [(-77, "hi"), (-100777, "hi"), (-100777, "again")]


async def test_executor_replaces_tracked_message_and_deletes_later(env):
    sessions, executor, request = env
    await queue(sessions, ("send_message", A, {"text": "welcome 1", "track_as": "welcome"}))
    await executor.drain(timeout=20)
    await queue(sessions, ("send_message", A, {"text": "welcome 2", "track_as": "welcome", "delete_after": 1}))
    await executor.drain(timeout=20)
    deleted = [p["message_id"] for p in request.made("deleteMessage")]
    first_id, second_id = 101, 102
    assert deleted == [first_id, second_id]  # the old welcome at once, the new one after 1 s
    assert "track_as" not in request.made("sendMessage")[0]


async def test_executor_runs_in_background_and_wakes(env):
    sessions, executor, request = env
    executor.poll_interval = 30  # only a wake can make it look now
    executor.start()
    try:
        await asyncio.sleep(0.05)
        await queue(sessions, ("send_message", A, {"text": "now"}))
        executor.wake()
        for _ in range(100):
            if request.made("sendMessage"):
                break
            await asyncio.sleep(0.02)
        assert [p["text"] for p in request.made("sendMessage")] == ["now"]
    finally:
        await executor.stop()


async def test_executor_waits_for_not_before(env):
    sessions, executor, request = env
    await queue(sessions, ("send_message", A, {"text": "later"}, {"not_before": utcnow() + timedelta(seconds=0.6)}))
    await executor.dispatch_ready()
    assert request.made("sendMessage") == []
    await executor.drain(timeout=10)
    assert [p["text"] for p in request.made("sendMessage")] == ["later"]
