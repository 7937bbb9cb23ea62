"""Owners reachable: until an owner has pressed Start in a private chat with the bot, Telegram
refuses every private message to them (403 "bot can't initiate conversation with a user"). The
bot keeps those reports, delivers them on /start with their undo buttons, and tells one group,
once, that the owner has not started the bot."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import BlacklistEntry

UNREACHED = "cannot send you reports and alerts until you start a private chat"


def _refused_to(env, name: str) -> list:
    user_id = env.users[name].id
    return [
        c
        for c in env.world.calls("sendMessage", ok=False)
        if str(c.params.get("chat_id")) == str(user_id) and c.error_code == 403
    ]


def _told(env) -> list[tuple[str, str]]:
    return [
        (key, text)
        for key, group in env.groups.items()
        for text in env.bot_texts(group)
        if UNREACHED in text
    ]


async def _blacklist(env, name: str, count: int) -> None:
    g1 = env.groups["g1"]
    await env.join(name, g1)
    await env.admin_says(g1, f"/blacklist {env.user(name).id} ads")
    await env.wait_for(lambda: env.is_banned(name, g1))
    await env.wait_for(lambda: len(_refused_to(env, "olga")) >= count, timeout=20)


async def test_owner_who_never_started_gets_kept_reports_on_start_and_a_group_is_told_once(env):
    olga = env.users["olga"]
    olga.started = False  # she never opened the bot
    await _blacklist(env, "spammer", 1)
    assert await env.app.scheduler.tell_unreached() == 1
    await env.settle()
    told = _told(env)
    assert len(told) == 1
    key, text = told[0]
    assert key == "g3", "the newest group she added the bot to"
    assert text.startswith(f"Olga (@olga, {olga.id}): ")

    # a second report she cannot get: kept too, and the group is not told again
    await _blacklist(env, "spammer2", 2)
    assert await env.app.scheduler.tell_unreached() == 0
    await env.settle()
    assert len(_told(env)) == 1
    assert env.world.private_messages_to("olga") == []

    # she presses Start: the greeting, then both reports with their undo buttons
    env.talk.private("olga", "/start")
    await env.settle()
    first = await env.wait_private("olga", str(env.users["spammer"].id))
    second = await env.wait_private("olga", str(env.users["spammer2"].id))
    assert "blacklisted" in first
    assert "blacklisted" in second
    texts = [m.text for m in env.world.private_messages_to("olga")]
    assert texts[0].startswith("Welcome back")
    undo = [
        b["text"]
        for m in env.world.private_messages_to("olga")
        for row in m.buttons or []
        for b in row
        if b["text"].startswith("Undo")
    ]
    assert len(undo) == 2
    await env.press_private("olga", undo[0])
    await env.wait_for(lambda: not env.is_banned("spammer", env.groups["g1"]))
    async with env.session() as session:
        entry = await session.scalar(
            select(BlacklistEntry).where(BlacklistEntry.user_id == env.users["spammer"].id)
        )
    assert entry.revoked_at is not None

    # delivered once: a second /start sends the greeting alone
    await env.settle()
    before = len(env.world.private_messages_to("olga"))
    env.talk.private("olga", "/start")
    await env.settle()
    await env.wait_for(lambda: len(env.world.private_messages_to("olga")) > before)
    await env.settle()
    later = [m.text for m in env.world.private_messages_to("olga")][before:]
    assert len(later) == 1, later
    assert later[0].startswith("Welcome back")


async def test_owner_who_started_is_never_told_about_in_a_group(env):
    await _blacklist_reached(env)
    assert await env.app.scheduler.tell_unreached() == 0
    await env.settle()
    assert _told(env) == []


async def _blacklist_reached(env) -> None:
    g1 = env.groups["g1"]
    await env.join("spammer", g1)
    await env.admin_says(g1, f"/blacklist {env.user('spammer').id} ads")
    await env.wait_private("olga", "blacklisted")
