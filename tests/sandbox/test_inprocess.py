"""python-telegram-bot against the sandbox in the same process: no sockets, the server's answers."""

import asyncio
import contextlib
import time

import pytest
from telegram import Bot, InputFile, Update
from telegram.error import BadRequest, Conflict, RetryAfter, TimedOut
from telegram.ext import Application, MessageHandler, filters

from sandbox import InProcessRequest, Membership, SandboxServer, Talk
from tests.sandbox.conftest import small_world

TOKEN = "123:ABC"


def in_process_app(world, **request) -> Application:
    shared = InProcessRequest(world, **request)
    return (
        Application.builder()
        .token(TOKEN)
        .base_url("http://sandbox/bot")
        .request(shared)
        .get_updates_request(shared)
        .build()
    )


@contextlib.asynccontextmanager
async def in_process_bot(world, **request):
    shared = InProcessRequest(world, **request)
    bot = Bot(TOKEN, base_url="http://sandbox/bot", request=shared, get_updates_request=shared)
    async with bot:
        yield bot


async def test_inprocess_application_receives_updates_and_its_replies_show_up():
    world = small_world()
    members, talk = Membership(world), Talk(world)
    app = in_process_app(world)

    async def echo(update: Update, context) -> None:
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=2, allowed_updates=Update.ALL_TYPES)
        try:
            members.add_bot("g1", by="olga")
            members.join("alice", "g1")
            said = talk.send("alice", "g1", "你好 hello")
            await world.settle()
        finally:
            await app.updater.stop()
            await app.stop()
    reply = world.bot_messages("g1")[-1]
    assert reply.text == "echo: 你好 hello"
    assert reply.extra["reply_to_message"]["message_id"] == said.message_id
    assert [c.method for c in world.calls(ok=True)][:2] == ["getMe", "deleteWebhook"]
    assert len(world.updates) == 0


async def test_inprocess_errors_raise_what_ptb_raises_over_http():
    world = small_world()
    Membership(world).add_bot("g1", by="olga")
    chat_id = world.chats["g1"].id
    async with in_process_bot(world) as bot:
        world.storm(seconds=30, retry_after=3)
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(chat_id, "during the storm")
        assert flood.value.retry_after.total_seconds() == 3
        world.storm(seconds=0, retry_after=0)
        with pytest.raises(BadRequest, match=r"(?i)can't remove chat owner"):
            await bot.ban_chat_member(chat_id, world.users["olga"].id)
        assert (await bot.send_message(chat_id, "calm")).text == "calm"
    assert world.too_many_requests == 1
    assert [c.error_code for c in world.calls("sendMessage")] == [429, 0]


async def test_inprocess_uploads_are_recorded_as_the_server_records_them():
    world = small_world()
    Membership(world).add_bot("g1", by="olga")
    chat_id = world.chats["g1"].id

    async def send(bot: Bot) -> None:
        await bot.send_document(
            chat_id, InputFile(b"x" * 1234, filename="report.csv"), caption="weekly 周报"
        )

    async with in_process_bot(world) as bot:
        await send(bot)
    async with SandboxServer(world) as server:
        bot = Bot(TOKEN, base_url=server.base_url)
        async with bot:
            await send(bot)
    in_process, over_http = world.calls("sendDocument")
    assert in_process.params == over_http.params
    assert in_process.params["document"] == {
        "file_name": "report.csv",
        "size": 1234,
        "mime_type": "text/csv",
    }
    sent = world.bot_messages("g1")[-2]
    assert sent.extra["document"]["file_name"] == "report.csv"
    assert sent.caption == "weekly 周报"


async def test_inprocess_second_poller_ends_the_first_with_409():
    world = small_world()
    async with in_process_bot(world) as first, in_process_bot(world) as second:
        polling = asyncio.create_task(first.get_updates(timeout=5))
        await world.wait_for(lambda: world.waiting, timeout=2)
        started = world.poll_generation
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await polling
    assert world.poll_generation == started + 1


async def test_inprocess_long_poll_wakes_on_an_update():
    world = small_world()
    async with in_process_bot(world) as bot:
        polling = asyncio.create_task(bot.get_updates(timeout=10))
        await world.wait_for(lambda: world.waiting, timeout=2)
        started = time.monotonic()
        Talk(world).private("alice", "/start")
        updates = await asyncio.wait_for(polling, timeout=5)
    assert time.monotonic() - started < 1
    assert [u.message.text for u in updates] == ["/start"]


async def test_inprocess_latency_is_awaited_without_blocking_the_loop():
    world = small_world(latency=0.2)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        async with in_process_bot(world) as bot:
            started = time.monotonic()
            await bot.get_me()
            took = time.monotonic() - started
    finally:
        ticker.cancel()
    assert took >= 0.2
    assert ticks >= 10
    world.latency = 0
    async with in_process_bot(world, read_timeout=0.1) as bot:
        world.latency = 0.5
        with pytest.raises(TimedOut):
            await bot.get_chat(world.chats["g1"].id)
    assert world.calls("getChat") == []  # it timed out before Telegram acted on it


async def test_server_awaits_the_same_latency():
    world = small_world()
    async with SandboxServer(world) as server:
        bot = Bot(TOKEN, base_url=server.base_url)
        async with bot:
            world.latency = 0.2
            started = time.monotonic()
            await bot.get_me()
    assert time.monotonic() - started >= 0.2
