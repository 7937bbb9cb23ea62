"""Names, not numbers, end to end: every account the bot saw is named Name (@username, id) and
can be named by @username, even one whose first message was an ad; activity is conversation,
not commands to the bot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from sandbox.model import Member
from storage.models import Activity, BlacklistEntry, TgUser

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"


async def _answer(env, group, command: str) -> str:
    """What the bot says next in the group after `command`."""
    await env.settle()
    before = len(env.bot_texts(group))
    await env.admin_says(group, command)
    await env.wait_for(lambda: len(env.bot_texts(group)) > before)
    return env.bot_texts(group)[before]


def _named(env, name: str) -> str:
    user = env.users[name]
    return f"{user.first_name} (@{user.username}, {user.id})"


async def test_an_account_whose_first_message_is_an_ad_is_remembered_by_name(env):
    g1 = env.groups["g1"]
    adguy = env.user("adguy")
    g1.members[adguy.id] = Member(adguy)  # in the group from before the bot: its ad is all we see
    env.talk.send("adguy", g1, AD)
    await env.wait_bot_says(g1, "Warning 1 of 2")
    await env.app.runtime.activity.flush()
    async with env.session() as s:
        row = await s.get(TgUser, env.users["adguy"].id)
    assert row is not None
    assert (row.first_name, row.username) == ("Adguy", "adguy")
    whois = await _answer(env, g1, "/whois @adguy")
    assert _named(env, "adguy") in whois
    await env.admin_says(g1, "/blacklist @adguy ads again")
    await env.wait_for(lambda: env.is_banned("adguy", g1))


async def test_a_join_and_a_member_update_are_enough_to_name_someone(env):
    g1 = env.groups["g1"]
    await env.join("quiet", g1, inviter="adam")
    await env.admin_says(g1, "/inviter @quiet")
    answer = await env.wait_bot_says(g1, "invited by")
    assert _named(env, "quiet") in answer
    assert "Adam" in answer


async def test_whois_on_a_blacklisted_account_says_so_with_reason_date_and_who(env):
    g1 = env.groups["g1"]
    await env.join("spammer", g1)
    await env.say("spammer", g1, "hello")
    await env.admin_says(g1, "/blacklist @spammer sells fake tyres")
    await env.wait_for(lambda: env.is_banned("spammer", g1))
    await env.wait_bot_says(g1, "blacklisted")
    whois = await _answer(env, g1, "/whois @spammer")
    assert "blacklist" in whois.lower()
    async with env.session() as s:
        entry = await s.scalar(select(BlacklistEntry))
    assert _named(env, "spammer") in whois
    assert "sells fake tyres" in whois
    assert entry.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d") in whois
    assert "Adam" in whois


async def test_lists_name_people(env):
    g1 = env.groups["g1"]
    await env.join("spammer", g1)
    await env.join("vera", g1)
    await env.say("vera", g1, "大家好")
    await env.admin_says(g1, "/blacklist @spammer ads")
    await env.wait_for(lambda: env.is_banned("spammer", g1))
    await env.admin_says(g1, "/blacklisted")
    listing = await env.wait_bot_says(g1, "ads")
    assert _named(env, "spammer") in listing
    await env.admin_says(g1, "/vip @vera")
    await env.settle()
    await env.admin_says(g1, "/vip")
    vips = await env.wait_bot_says(g1, "@vera,")
    assert _named(env, "vera") in vips
    report = await env.wait_private("olga", "blacklisted")
    assert _named(env, "spammer") in report


async def test_commands_to_the_bot_are_not_activity(env):
    g1 = env.groups["g1"]
    await env.join("chatty", g1)
    await env.join("bossy", g1)
    for i in range(3):
        await env.say("chatty", g1, f"今天天气不错 {i}")
    for _ in range(5):
        await env.say("bossy", g1, "/stats")
        await env.say("bossy", g1, "/rules@groupkeeper_bot")
    await env.settle()
    await env.app.runtime.activity.flush()
    async with env.session() as s:
        rows = (await s.execute(select(Activity.user_id, Activity.messages))).all()
    counted = {user: n for user, n in rows}
    assert counted.get(env.users["chatty"].id) == 3
    assert counted.get(env.users["bossy"].id, 0) == 0
    assert env.world.bot.id not in counted
    await env.admin_says(g1, "/stats")
    stats = await env.wait_bot_says(g1, "Top contributors")
    top = stats.split("Top contributors:")[1].splitlines()[0]
    assert "Chatty" in top
    assert "Bossy" not in top
    assert "Adam" not in top
    assert "GroupKeeper" not in top
