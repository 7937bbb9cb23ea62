"""The intake: a flood in one chat never holds another chat's updates, each chat keeps its order,
an update that cannot be parsed or keeps failing is set aside and the rest flow on."""

import asyncio
import time

from telegram import Update

from bot.app import build, running
from bot.intake import order_key
from bot.settings import Settings
from sandbox.offline import ScriptedRequest
from storage.groups import AllianceRepository, ChatRepository
from storage.inbox import InboxRepository
from storage.models import Inbox, utcnow

TOKEN = "900:SCRIPTEDSCRIPTEDSCRIPTED"
A, B = -1001000000001, -1001000000002


def message(update_id, chat_id, text, user_id=501):
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"},
            "text": text,
        },
    }


async def _deployment(db_url):
    settings = Settings(_env_file=None, database_url=db_url, owner_ids=[1])
    request = ScriptedRequest()
    d = await build(settings, token=TOKEN, request=request, updates_request=request)
    return d


async def _groups(d):
    async with d.runtime.sessions() as session:
        alliance = (await AllianceRepository(session).list_all())[0]
        for chat_id in (A, B):
            await ChatRepository(session).upsert(
                chat_id,
                title=f"Group {chat_id}",
                type="supergroup",
                status="active",
                alliance_id=alliance.id,
            )
        await session.commit()


def test_order_key_reads_the_chat_without_parsing():
    assert order_key(message(1, A, "x")) == A
    assert (
        order_key(
            {"update_id": 2, "callback_query": {"from": {"id": 7}, "message": {"chat": {"id": B}}}}
        )
        == B
    )
    assert order_key({"update_id": 3, "callback_query": {"from": {"id": 7}}}) == 7
    assert order_key({"update_id": 4, "message": {"chat": "nonsense"}}) is None
    assert order_key({"update_id": 5}) is None


async def test_a_flood_in_one_chat_does_not_hold_another(app_db_url):
    d = await _deployment(app_db_url)
    handled: list[int] = []
    process = d.app.process_update

    async def slow(update):
        if isinstance(update, Update) and update.effective_chat.id == A:
            await asyncio.sleep(0.01)  # a chat whose updates each take a while
        await process(update)
        handled.append(update.update_id)

    d.app.process_update = slow
    async with running(d, feed=False):
        await _groups(d)
        await d.intake.receive([message(i, A, f"flood {i}") for i in range(1, 201)])
        await d.intake.receive([message(1000, B, "hello from the quiet group")])
        await d.intake.idle(timeout=60)
    assert handled.index(1000) < 20  # not behind A's 200 updates
    flood = [u for u in handled if u != 1000]
    assert flood == sorted(flood)  # A in its order


async def test_an_unparseable_update_is_set_aside_and_the_rest_flow_on(app_db_url, caplog):
    d = await _deployment(app_db_url)
    async with running(d, feed=False):
        await _groups(d)
        poison = {"update_id": 50, "message": {"chat": "nonsense", "date": "soon"}}
        await d.intake.receive([message(49, A, "before"), poison, message(51, A, "after")])
        await d.intake.idle(timeout=30)
        async with d.runtime.sessions() as session:
            row = await session.get(Inbox, 50)
            pending = await InboxRepository(session).count_pending()
        await d.runtime.activity.flush()
        async with d.runtime.sessions() as session:
            after = await session.get(Inbox, 51)
    assert row.status == "quarantined"
    assert "cannot be parsed" in row.error
    assert after.status == "done"
    assert pending <= 2
    assert caplog.text.count("update 50 set aside") == 1


async def test_a_failing_update_is_tried_again_then_set_aside(app_db_url, caplog, monkeypatch):
    monkeypatch.setattr("bot.intake.RETRY_DELAYS", (0.05, 0.05))
    d = await _deployment(app_db_url)
    tries = []

    async def boom(update, context):
        if update.effective_message and update.effective_message.text == "boom":
            tries.append(update.update_id)
            raise RuntimeError("a handler bug")

    from telegram.ext import TypeHandler

    d.app.add_handler(TypeHandler(Update, boom), -5)
    async with running(d, feed=False):
        await _groups(d)
        await d.intake.receive([message(60, A, "boom"), message(61, A, "fine")])
        await d.intake.idle(timeout=30)
        async with d.runtime.sessions() as session:
            row = await session.get(Inbox, 60)
    assert tries == [60, 60, 60]
    assert row.status == "quarantined"
    assert "a handler bug" in row.error
    assert row.attempts == 2
    assert caplog.text.count("update 60 set aside") == 1


async def test_updates_left_beyond_the_backlog_are_all_taken_up_in_order(app_db_url):
    d = await _deployment(app_db_url)
    d.intake.max_backlog = 10
    handled: list[int] = []
    process = d.app.process_update

    async def noting(update):
        await process(update)
        handled.append(update.update_id)

    d.app.process_update = noting
    left = [message(i, A, f"left over {i}") for i in range(1, 31)]
    async with d.runtime.sessions() as session:  # as a crash leaves them
        from storage.inbox import Received

        await InboxRepository(session).add_new(
            [Received(r["update_id"], A, r) for r in left], at=utcnow()
        )
        await session.commit()
    async with running(d, feed=False):
        await _groups(d)
        for _ in range(300):
            if len(handled) >= 30:
                break
            await asyncio.sleep(0.02)
        await d.intake.receive([message(31, A, "new")])
        await d.intake.idle(timeout=30)
    assert handled == list(range(1, 32))
