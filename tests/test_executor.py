"""The executor against a scripted Bot API: order, fairness, priorities, removals in batches,
retries, 429, permanent failures, answers that report on a call, follow-ups."""

import asyncio
from datetime import timedelta

import pytest

from bot.executor import Executor
from bot.ratelimit import SendLimiter
from rules.actions import (
    BanMember,
    DeleteMessage,
    Priority,
    RestrictMember,
    SendMessage,
    UnbanMember,
)
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
    executor = Executor(
        bot, sessions, SendLimiter(per_second=500, per_chat_per_minute=1000), backoff_base=0.05
    )
    yield sessions, executor, request
    await engine.dispose()


async def queue(sessions, *actions, not_before=None, after=None):
    async with sessions() as s:
        ids = [
            (await OutboxRepository(s).add(a, not_before=not_before, after=after)).id
            for a in actions
        ]
        await s.commit()
    return ids


def say(chat, text, **kw):
    return SendMessage(chat_id=chat, text=text, **kw)


async def statuses(sessions):
    async with sessions() as s:
        return await OutboxRepository(s).count_by_status()


async def test_executor_keeps_order_within_a_chat(env):
    sessions, executor, request = env
    await queue(sessions, *[say(A if i % 2 else B, f"m{i}") for i in range(10)])
    await executor.drain(timeout=20)
    texts = {
        chat: [p["text"] for p in request.made("sendMessage") if p["chat_id"] == chat]
        for chat in (A, B)
    }
    assert texts[A] == ["m1", "m3", "m5", "m7", "m9"]
    assert texts[B] == ["m0", "m2", "m4", "m6", "m8"]
    assert await statuses(sessions) == {"done": 10}


async def test_executor_one_chats_paced_backlog_does_not_hold_another_chat(env):
    sessions, executor, request = env
    executor.limiter = SendLimiter(per_second=500, per_chat_per_minute=3)
    await queue(sessions, *[say(A, f"flood {i}") for i in range(30)])  # A may send 3 a minute
    await queue(sessions, say(B, "answer"), DeleteMessage(chat_id=A, message_id=9))
    executor.start()
    try:
        for _ in range(200):
            if [p for p in request.made("sendMessage") if p["chat_id"] == B] and request.made(
                "deleteMessage"
            ):
                break
            await asyncio.sleep(0.02)
        assert [p["text"] for p in request.made("sendMessage") if p["chat_id"] == B] == ["answer"]
        assert [p["message_id"] for p in request.made("deleteMessage")] == [9]
        assert len([p for p in request.made("sendMessage") if p["chat_id"] == A]) == 3
    finally:
        await executor.stop()


async def test_executor_removals_go_first_and_together(env):
    sessions, executor, request = env
    await queue(sessions, *[say(A, f"note {i}") for i in range(3)])
    await queue(sessions, *[DeleteMessage(chat_id=A, message_id=100 + i) for i in range(150)])
    await executor.drain(timeout=20)
    methods = [
        name
        for name, _, _ in request.calls
        if name in ("sendMessage", "deleteMessages", "deleteMessage")
    ]
    batches = [p["message_ids"] for p in request.made("deleteMessages")]
    assert sorted(i for b in batches for i in b) == list(range(100, 250))
    assert max(len(b) for b in batches) == 100
    assert len(batches) == 2
    # 150 removals in 2 calls, and they do not wait behind the chat's messages
    assert methods.index("deleteMessages") < methods.index("sendMessage") + 2


async def test_executor_shares_the_rate_by_priority(env):
    sessions, executor, request = env
    background = [
        BanMember(chat_id=-3000 - i, user_id=7, priority=Priority.BACKGROUND) for i in range(40)
    ]
    await queue(sessions, *background)
    await queue(sessions, say(B, "what people wait for"))
    await executor.drain(timeout=20)
    order = [
        (name, p.get("chat_id"))
        for name, p, _ in request.calls
        if name in ("banChatMember", "sendMessage")
    ]
    assert order.index(("sendMessage", B)) < 5  # not behind 40 preventive bans


async def test_executor_honours_429_and_keeps_order(env):
    sessions, executor, request = env
    request.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await queue(sessions, say(A, "first"), say(A, "second"))
    await executor.drain(timeout=20)
    sends = [(p["text"], t) for name, p, t in request.calls if name == "sendMessage"]
    assert [text for text, _ in sends] == ["first", "first", "second"]
    assert sends[1][1] - sends[0][1] >= 0.95  # waited retry_after
    assert executor.stats.flood_waits == 1
    assert await statuses(sessions) == {"done": 2}


async def test_executor_retries_server_errors_then_succeeds(env):
    sessions, executor, request = env
    request.fail("banChatMember", 500, "Internal Server Error")
    request.fail("banChatMember", 502, "Bad Gateway")
    await queue(sessions, BanMember(chat_id=A, user_id=7))
    await executor.drain(timeout=20)
    assert len(request.made("banChatMember")) == 3
    assert executor.stats.retried == 2
    assert await statuses(sessions) == {"done": 1}


async def test_executor_keeps_a_ban_before_its_lift_across_priorities(env):
    sessions, executor, request = env
    request.fail("banChatMember", 502, "Bad Gateway")  # the ban is retried: the lift waits
    await queue(
        sessions,
        BanMember(chat_id=A, user_id=7, priority=Priority.BACKGROUND),
        UnbanMember(chat_id=A, user_id=7, priority=Priority.URGENT),
    )
    await executor.drain(timeout=20)
    order = [name for name, _, _ in request.calls if name in ("banChatMember", "unbanChatMember")]
    assert order == ["banChatMember", "banChatMember", "unbanChatMember"]


async def test_executor_records_permanent_failure_once(env):
    sessions, executor, request = env
    request.fail(
        "restrictChatMember",
        400,
        "Bad Request: not enough rights to restrict/unrestrict chat member",
    )
    (row_id,) = await queue(
        sessions, RestrictMember(chat_id=A, user_id=7, permissions=(("can_send_messages", False),))
    )
    await executor.drain(timeout=20)
    assert len(request.made("restrictChatMember")) == 1
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "failed"
    assert "not enough rights" in row.last_error.lower()


async def test_executor_answer_reports_the_failure_of_the_call_it_follows(env):
    sessions, executor, request = env
    request.fail(
        "banChatMember", 400, "Bad Request: not enough rights to restrict/unrestrict chat member"
    )
    (ban,) = await queue(sessions, BanMember(chat_id=A, user_id=7))
    failures = (("rights", "I could not ban 7: rights."), ("other", "I could not ban 7."))
    await queue(sessions, say(A, "7 is banned.", failures=failures), after=ban)
    (ok,) = await queue(sessions, BanMember(chat_id=B, user_id=8))
    await queue(
        sessions, say(B, "8 is banned.", failures=(("other", "I could not ban 8."),)), after=ok
    )
    await executor.drain(timeout=20)
    texts = {p["chat_id"]: p["text"] for p in request.made("sendMessage")}
    assert texts == {A: "I could not ban 7: rights.", B: "8 is banned."}
    calls = [name for name, p, _ in request.calls if p.get("chat_id") == B]
    assert calls == ["banChatMember", "sendMessage"]  # the answer only once the ban was made


async def test_executor_treats_already_deleted_as_done(env):
    sessions, executor, request = env
    request.fail("deleteMessage", 400, "Bad Request: message to delete not found")
    await queue(sessions, DeleteMessage(chat_id=A, message_id=5))
    await executor.drain(timeout=20)
    assert await statuses(sessions) == {"done": 1}


async def test_executor_gives_up_after_max_attempts(env):
    sessions, executor, request = env
    for _ in range(10):
        request.fail("sendMessage", 502, "Bad Gateway")
    (row_id,) = await queue(sessions, say(A, "x"))
    executor.backoff_base = 0.01
    await executor.drain(timeout=30)
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "failed"
    assert "gave up after 8 tries" in row.last_error


async def test_executor_fails_a_malformed_row_without_retrying(env):
    sessions, executor, request = env
    (row_id,) = await queue(sessions, say(A, "x"))
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
        row.payload = {"txt": 1}
        await s.commit()
    await executor.drain(timeout=10)
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "failed"
    assert "malformed" in row.last_error
    assert request.made("sendMessage") == []


async def test_executor_follows_migrated_group(env):
    sessions, executor, request = env
    request.answers["sendMessage"].append(
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -100777},
            },
        )
    )
    await queue(sessions, say(-77, "hi"), say(-77, "again"))
    await executor.drain(timeout=20)
    sent = [(p["chat_id"], p["text"]) for p in request.made("sendMessage")]
    assert sent == [(-77, "hi"), (-100777, "hi"), (-100777, "again")]


async def test_executor_replaces_tracked_message_and_deletes_later(env):
    sessions, executor, request = env
    await queue(sessions, say(A, "welcome 1", replace="welcome"))
    await executor.drain(timeout=20)
    await queue(sessions, say(A, "welcome 2", replace="welcome", delete_after=1))
    await executor.drain(timeout=20)
    deleted = [p["message_id"] for p in request.made("deleteMessage")]
    first_id, second_id = 101, 102
    assert deleted == [first_id, second_id]  # the old welcome at once, the new one after 1 s


async def test_executor_runs_in_background_and_takes_what_it_is_given(env):
    sessions, executor, request = env
    executor.start()
    try:
        await asyncio.sleep(0.05)
        async with sessions() as s:
            row = await OutboxRepository(s).add(say(A, "now"))
            await s.commit()
        from storage.outbox import Queued

        executor.accept([Queued.of(row)])
        for _ in range(100):
            if request.made("sendMessage"):
                break
            await asyncio.sleep(0.02)
        assert [p["text"] for p in request.made("sendMessage")] == ["now"]
    finally:
        await executor.stop()


async def test_executor_finds_rows_written_elsewhere(env):
    sessions, executor, request = env
    executor.start()
    try:
        await asyncio.sleep(0.05)
        await queue(sessions, say(A, "from the command line"))  # nobody tells the executor
        for _ in range(250):
            if request.made("sendMessage"):
                break
            await asyncio.sleep(0.02)
        assert [p["text"] for p in request.made("sendMessage")] == ["from the command line"]
    finally:
        await executor.stop()


async def test_executor_waits_for_not_before(env):
    sessions, executor, request = env
    await queue(sessions, say(A, "later"), not_before=utcnow() + timedelta(seconds=0.6))
    await executor.look(full=True)
    await executor.step()
    assert request.made("sendMessage") == []
    await executor.drain(timeout=10)
    assert [p["text"] for p in request.made("sendMessage")] == ["later"]


async def test_executor_answer_follows_a_chain_and_reports_its_first_failure(env):
    sessions, executor, request = env
    request.fail("banChatMember", 400, "Bad Request: user is an administrator of the chat")
    (ban,) = await queue(sessions, BanMember(chat_id=A, user_id=7))
    (lift,) = await queue(sessions, UnbanMember(chat_id=A, user_id=7), after=ban)
    failures = (("admin", "7 is an admin."), ("other", "could not"))
    await queue(sessions, say(A, "7 was removed.", failures=failures), after=lift)
    await executor.drain(timeout=20)
    assert [p["text"] for p in request.made("sendMessage")] == ["7 is an admin."]
    assert len(request.made("unbanChatMember")) == 1  # the lift ran; the answer tells the truth


async def test_executor_flood_waits_use_up_no_attempts(env):
    sessions, executor, request = env
    for _ in range(9):
        request.fail("banChatMember", 429, "Too Many Requests: retry after 1", retry_after=1)
    executor.limiter.pause_chat = lambda chat, until: None  # the test need not wait the seconds
    (row_id,) = await queue(sessions, BanMember(chat_id=A, user_id=7))
    await executor.drain(timeout=60)
    async with sessions() as s:
        row = await OutboxRepository(s).get(row_id)
    assert row.status == "done"
    assert row.attempts == 1


async def test_executor_a_retried_removal_does_not_hold_the_chats_other_removals(env):
    sessions, executor, request = env
    request.fail("deleteMessage", 502, "Bad Gateway")
    executor.backoff_base = 30.0  # the retry comes much later
    await queue(sessions, DeleteMessage(chat_id=A, message_id=1))
    executor.start()
    try:
        for _ in range(100):
            if request.made("deleteMessage"):
                break
            await asyncio.sleep(0.02)
        await queue(sessions, DeleteMessage(chat_id=A, message_id=2))
        for _ in range(250):
            if [p for p in request.made("deleteMessage") if p["message_id"] == 2]:
                break
            await asyncio.sleep(0.02)
        assert [p["message_id"] for p in request.made("deleteMessage")] == [1, 2]
    finally:
        await executor.stop()
