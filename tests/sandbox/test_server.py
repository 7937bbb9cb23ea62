"""The sandbox over HTTP, driven by a real python-telegram-bot Application."""

import asyncio
import socket

import aiohttp
import pytest
from telegram import ChatPermissions, InputFile, Update
from telegram.error import BadRequest, Conflict, RetryAfter
from telegram.ext import ChatMemberHandler, MessageHandler, filters

from sandbox import Membership, SandboxServer, Talk
from tests.sandbox.conftest import build_app, polling, small_world


async def test_server_echo_bot_round_trip(world, server):
    members, talk = Membership(world), Talk(world)
    app = build_app(server.base_url)

    async def echo(update: Update, context) -> None:
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with polling(app):
        members.add_bot("g1", by="olga")
        members.join("alice", "g1")
        said = talk.send("alice", "g1", "你好 hello")
        await world.settle()
        reply = world.bot_messages("g1")[-1]
        assert reply.text == "echo: 你好 hello"
        assert reply.extra["reply_to_message"]["message_id"] == said.message_id
        me = await app.bot.get_me()
        assert me.username == world.bot.username
        alice = world.users["alice"]
        member = await app.bot.get_chat_member(world.chats["g1"].id, alice.id)
        assert member.status == "member"
        assert member.user.first_name == "Alice"
        assert await app.bot.ban_chat_member(world.chats["g1"].id, alice.id)
        assert world.is_banned("alice", "g1")
        banned = await app.bot.get_chat_member(world.chats["g1"].id, alice.id)
        assert banned.status == "kicked"
        with pytest.raises(BadRequest, match=r"(?i)can't remove chat owner"):
            await app.bot.ban_chat_member(world.chats["g1"].id, world.users["olga"].id)
        admins = await app.bot.get_chat_administrators(world.chats["g1"].id)
        assert {a.user.id for a in admins} == {
            world.users["olga"].id,
            world.users["adam"].id,
            world.bot.id,
        }


async def test_server_chat_member_updates_when_allowed(world, server):
    members = Membership(world)
    seen = []

    async def on_member(update: Update, context) -> None:
        seen.append(update.chat_member.new_chat_member.user.id)

    app = build_app(server.base_url)
    app.add_handler(ChatMemberHandler(on_member, ChatMemberHandler.CHAT_MEMBER))
    async with polling(app, allowed_updates=["message", "my_chat_member"]):
        members.add_bot("g1", by="olga")
        members.join("alice", "g1")
        await world.settle()
    assert seen == []
    app = build_app(server.base_url)
    app.add_handler(ChatMemberHandler(on_member, ChatMemberHandler.CHAT_MEMBER))
    async with polling(app, allowed_updates=Update.ALL_TYPES):
        members.join("bob", "g1", inviter="alice")
        await world.wait_for(lambda: seen, timeout=5)
        await world.settle()
    assert seen == [world.users["bob"].id]


async def test_server_uploads_and_limits(world, server):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    world.limits.per_chat_per_minute = 2
    async with build_app(server.base_url) as app:
        chat_id = world.chats["g1"].id
        await app.bot.send_document(
            chat_id, InputFile(b"x" * 1234, filename="report.csv"), caption="weekly 周报"
        )
        sent = world.bot_messages("g1")[-1]
        assert sent.extra["document"]["file_name"] == "report.csv"
        assert sent.extra["document"]["file_size"] == 1234
        assert sent.caption == "weekly 周报"
        photo = await app.bot.send_photo(chat_id, InputFile(b"p" * 99, filename="chart.png"))
        assert photo.photo[-1].file_size == 99
        with pytest.raises(RetryAfter) as flood:
            await app.bot.send_message(chat_id, "third")
        assert 1 <= flood.value.retry_after.total_seconds() <= 60
        assert world.too_many_requests == 1
        assert await app.bot.delete_message(chat_id, sent.message_id)
        assert [m.message_id for m in world.deleted_messages("g1")] == [sent.message_id]


async def test_server_json_body_and_unknown_method(world, server):
    talk = Talk(world)
    talk.private("alice", "/start")
    async with aiohttp.ClientSession() as client:
        url = f"{server.base_url}123:ABC/sendMessage"
        async with client.post(url, json={"chat_id": world.users["alice"].id, "text": "12"}) as r:
            body = await r.json()
        assert body["ok"]
        assert body["result"]["text"] == "12"
        async with client.post(f"{server.base_url}123:ABC/nope") as r:
            assert r.status == 404
            assert (await r.json())["description"] == "Not Found: method not found"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_server_webhook_delivers_with_secret():
    world = small_world()
    members, talk = Membership(world), Talk(world)
    async with SandboxServer(world) as server:
        app = build_app(server.base_url)
        got = []

        async def on_text(update: Update, context) -> None:
            got.append(update.effective_message.text)
            await update.effective_message.reply_text("ok")

        app.add_handler(MessageHandler(filters.TEXT, on_text))
        port = free_port()
        async with app:
            await app.start()
            await app.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="hook",
                secret_token="s3cret",
                webhook_url=f"http://127.0.0.1:{port}/hook",
                allowed_updates=Update.ALL_TYPES,
            )
            try:
                assert world.webhook["secret_token"] == "s3cret"
                with pytest.raises(Conflict, match="webhook is active"):
                    await app.bot.get_updates()
                members.add_bot("g1", by="olga")
                members.join("alice", "g1")
                talk.send("alice", "g1", "via hook")
                await world.wait_for(lambda: got == ["via hook"], timeout=5)
                await world.settle()
                assert world.bot_messages("g1")[-1].text == "ok"
                # a wrong secret is refused by PTB; the sandbox keeps the update and retries
                world.webhook["secret_token"] = "wrong"
                talk.send("alice", "g1", "second")
                await world.wait_for(lambda: world.webhook.get("last_error_message"), timeout=5)
                assert got == ["via hook"]
                assert len(world.updates)
                world.webhook["secret_token"] = "s3cret"
                await world.wait_for(lambda: got == ["via hook", "second"], timeout=5)
                await world.settle()
            finally:
                await app.updater.stop()
                await app.stop()


async def test_server_every_member_status_parses_in_ptb(world, server):
    members = Membership(world)
    members.add_bot("g1", by="olga")
    for name in ("alice", "bob"):
        members.join(name, "g1")
    world.add_user("carl")
    g1 = world.chats["g1"]
    async with build_app(server.base_url) as app:
        await app.bot.restrict_chat_member(
            g1.id, world.users["alice"].id, ChatPermissions(can_send_messages=False)
        )
        await app.bot.ban_chat_member(g1.id, world.users["bob"].id)
        statuses = {}
        for name in ("olga", "adam", "alice", "bob", "carl"):
            member = await app.bot.get_chat_member(g1.id, world.users[name].id)
            statuses[name] = member.status
        bot_member = await app.bot.get_chat_member(g1.id, world.bot.id)
        chat = await app.bot.get_chat(g1.id)
        link = await app.bot.create_chat_invite_link(
            g1.id, name="spring", creates_join_request=True
        )
        await app.bot.set_my_commands([("start", "begin")], language_code="zh")
        commands = await app.bot.get_my_commands(language_code="zh")
        count = await app.bot.get_chat_member_count(g1.id)
    assert statuses == {
        "olga": "creator",
        "adam": "administrator",
        "alice": "restricted",
        "bob": "kicked",
        "carl": "left",
    }
    assert bot_member.can_delete_messages
    assert bot_member.can_restrict_members
    assert chat.title == "Guangzhou"
    assert chat.type == "supergroup"
    assert link.name == "spring"
    assert link.creator.id == world.bot.id
    assert link.creates_join_request
    assert [c.command for c in commands] == ["start"]
    assert count == 4


async def test_server_second_poller_ends_the_first_with_409(world, server):
    async with aiohttp.ClientSession() as client:
        url = f"{server.base_url}123:ABC/getUpdates"
        first = asyncio.create_task(client.post(url, data={"timeout": "5"}))
        await world.wait_for(lambda: world.poll_generation == 1, timeout=5)
        second = asyncio.create_task(client.post(url, data={"timeout": "0"}))
        answer = await first
        assert answer.status == 409
        assert "terminated by other getUpdates request" in (await answer.json())["description"]
        assert (await second).status == 200


async def test_server_long_poll_wakes_on_update_and_honours_offset_and_limit(world, server):
    talk = Talk(world)
    talk.private("bob", "/start")
    async with aiohttp.ClientSession() as client:
        url = f"{server.base_url}123:ABC/getUpdates"
        first = await (await client.post(url, data={"timeout": "0"})).json()
        offset = first["result"][-1]["update_id"] + 1
        poll = asyncio.create_task(client.post(url, data={"timeout": "20", "offset": str(offset)}))
        await world.wait_for(lambda: world.waiting and not len(world.updates), timeout=5)
        talk.private("alice", "one")
        talk.private("alice", "two")
        body = await (await asyncio.wait_for(poll, timeout=5)).json()
        assert body["result"][0]["message"]["text"] == "one"
        limited = await (await client.post(url, data={"offset": str(offset), "limit": "1"})).json()
        assert [u["message"]["text"] for u in limited["result"]] == ["one"]
        rest = await (await client.post(url, data={"offset": str(offset + 1)})).json()
        assert [u["message"]["text"] for u in rest["result"]] == ["two"]
        assert [u["update_id"] for u in world.updates] == [offset + 1]
