"""A basic group upgraded to a supergroup keeps everything, end to end through the sandbox.

Telegram sends two service messages (migrate_to_chat_id in the old group, migrate_from_chat_id
in the new supergroup) and either may come first: both orders are played, on SQLite and
PostgreSQL. Members, activity, warnings, inviters, roles, rules, policy and schedules are the
supergroup's afterwards, the counts are not doubled, and nothing was set aside with an error.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, update

from bot.app import running
from bot.settings import Settings
from sandbox.membership import Membership
from sandbox.world import World, settle, wait_for
from storage.models import Activity, Inbox, Member, Schedule, Warning
from storage.models import Chat as ChatRow
from tests.e2e.conftest import FAST, IN_PROCESS, Env, start_bot


@pytest.fixture
async def basic(db_url):
    """The harness's owner and admin, one basic group g1 (and a supergroup g2) with the bot."""
    world = World()
    olga = world.add_user("olga", owner=True)
    adam = world.add_user("adam")
    olga.started = True
    g1 = world.add_group("g1", "Club 1", owner=olga, admins=(adam,), supergroup=False)
    g2 = world.add_group("g2", "Club 2", owner=olga, admins=(adam,))
    settings = Settings(
        _env_file=None,
        database_url=db_url,
        owner_ids=world.owner_ids,
        telegram_api_base_url=IN_PROCESS,
        default_language="en",
    )
    app = await start_bot(world, settings)
    async with running(app):
        for chat in (g1, g2):
            Membership(world).add_bot(chat, by=olga)
        await wait_for(lambda: len(world.calls("sendMessage")) >= 2, timeout=20, what="hello")
        async with app.runtime.sessions() as session:
            await session.execute(update(ChatRow).values(policy=FAST))
            await session.commit()
        app.runtime.state.chats.clear()
        await settle(world)
        yield Env(world, app, {"olga": olga, "adam": adam}, {"g1": g1, "g2": g2})


async def _scalar(env, query):
    async with env.session() as session:
        return await session.scalar(query)


async def _messages_counted(env, chat_id: int) -> int:
    await env.rt.activity.flush()
    total = select(func.coalesce(func.sum(Activity.messages), 0)).where(Activity.chat_id == chat_id)
    return int(await _scalar(env, total))


@pytest.mark.parametrize("supergroup_first", [False, True], ids=["group-first", "supergroup-first"])
async def test_upgrade_to_supergroup_keeps_everything(basic, supergroup_first, caplog):
    env, world = basic, basic.world
    caplog.set_level(logging.WARNING)
    g1 = env.groups["g1"]
    old_id = g1.id
    await env.join("bob", g1)
    await env.join("alice", g1, inviter="bob")
    await env.join("carl", g1)
    for n in range(3):
        await env.say("alice", g1, f"hello everyone {n}")
    await env.say("bob", g1, "welcome alice")
    carl_says = await env.say("carl", g1, "ok")
    await env.settle()
    await env.admin_reply(g1, carl_says, "/warn off topic")
    await env.wait_bot_says(g1, "warning")
    alice_last = world.last_message_of("alice", g1)
    await env.admin_reply(g1, alice_last, "/vip")
    await env.admin_says(g1, "/setrules No ads. Be kind.")
    await env.settle()
    alliance_id = env.rt.alliances.ids[0]
    async with env.session() as session:  # a schedule of the group's own
        own = Schedule(
            alliance_id=alliance_id, chat_id=old_id, kind="group_report", recurrence="fri 20:00"
        )
        session.add(own)
        await session.commit()
    await env.say("alice", g1, "one more, just before the upgrade")
    await env.settle()  # handled, its count still in the activity buffer (written every 2 s)
    said_before = 3 + 1 + 1 + 1

    new = env.members.migrate_to_supergroup(g1, supergroup_first=supergroup_first)
    await env.settle()
    assert new.id != old_id
    assert new.type == "supergroup"

    # the supergroup has the group's data; the old id is only a pointer
    async with env.session() as session:
        row = await session.get(ChatRow, new.id)
        old = await session.get(ChatRow, old_id)
        assert row is not None
        assert row.status == "active"
        assert row.alliance_id == alliance_id
        assert row.policy == FAST
        assert "No ads" in (row.rules_text or "")
        assert old.status == "migrated"
        assert old.migrated_to == new.id
        members = {
            m.user_id: m
            for m in await session.scalars(select(Member).where(Member.chat_id == new.id))
        }
        left_behind = await session.scalar(
            select(func.count()).select_from(Member).where(Member.chat_id == old_id)
        )
        warnings = await session.scalar(
            select(func.count()).select_from(Warning).where(Warning.chat_id == new.id)
        )
        schedule = await session.get(Schedule, own.id)
    alice, bob, carl = (env.user(n).id for n in ("alice", "bob", "carl"))
    assert {alice, bob, carl} <= set(members)
    assert left_behind == 0
    assert members[alice].invited_by == bob
    assert warnings == 1
    assert schedule.chat_id == new.id

    # no double counting: every message once, all of them the supergroup's
    assert await _messages_counted(env, new.id) == said_before
    assert await _messages_counted(env, old_id) == 0
    await env.say("bob", new, "first words in the supergroup")
    await env.say("carl", new, "me too")
    await env.say("alice", new, "and me")
    await env.settle()
    assert await _messages_counted(env, new.id) == said_before + 3

    # what admins see in the supergroup
    carl_msg = world.last_message_of("carl", new)
    await env.admin_reply(new, carl_msg, "/warns")
    assert "off topic" in await env.wait_bot_says(new, "off topic")
    alice_msg = world.last_message_of("alice", new)
    await env.admin_reply(new, alice_msg, "/inviter")
    said = await env.wait_bot_says(new, "bob")
    assert "invite" in said.lower()
    await env.admin_reply(new, alice_msg, "/whois")
    assert "vip" in (await env.wait_bot_says(new, "VIP")).lower()
    await env.say("carl", new, "/rules")
    await env.wait_bot_says(new, "No ads")

    # nothing set aside, nothing logged as an error
    set_aside = await _scalar(
        env, select(func.count()).select_from(Inbox).where(Inbox.status != "done")
    )
    assert not set_aside
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
