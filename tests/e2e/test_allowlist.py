"""The club's own contacts are not ads: the owners' and admins' @usernames and the bot's count on
their own; other handles and links are added with /allow (a group's admins for the group, the
owners in private for every group)."""

from datetime import timedelta

from sqlalchemy import select, update

from storage.models import Member, ModerationLog, utcnow

CLUB_WECHAT = "周五20:00分享会，报名请加群主微信 olga_club2024"
BRANCH = "Join our Beijing branch group: https://t.me/+AbCdEf123"


async def _regular(env, group, name="rita"):
    """A member who joined long ago and spoke often, with no warning."""
    env.members.join(env.user(name), group)
    await env.settle()
    async with env.session() as s:
        await s.execute(
            update(Member)
            .where(Member.user_id == env.users[name].id)
            .values(joined_at=utcnow() - timedelta(days=60), messages_seen=30)
        )
        await s.commit()
    env.rt.state.members.clear()
    return name


async def test_the_owners_allow_list_keeps_the_clubs_contact_in_every_group(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    rita = await _regular(env, g1)
    before = await env.say(rita, g1, CLUB_WECHAT)
    await env.wait_for(lambda: env.deleted(g1, before))
    env.talk.private("olga", "/allow olga_club2024")
    await env.wait_private("olga", "olga_club2024")
    await env.settle()
    ron = await _regular(env, g2, "ron")
    kept = [
        await env.say(rita, g1, "这周六的活动报名，加群主微信 olga_club2024 就好"),
        await env.say(ron, g2, "群主微信：olga_club2024，有事找他"),
    ]
    await env.settle()
    assert not any(env.deleted(g, m) for g, m in zip((g1, g2), kept, strict=True))


async def test_a_group_admin_allows_a_link_for_the_group_only(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    rita = await _regular(env, g1)
    await env.admin_says(g1, "/allow https://t.me/+AbCdEf123")
    await env.wait_bot_says(g1, "Never treated as ads in this group")
    kept = await env.say(rita, g1, BRANCH)
    env.members.join(env.user(rita), g2)
    await env.settle()
    elsewhere = await env.say(rita, g2, BRANCH + " please")
    await env.settle()
    await env.wait_for(lambda: env.deleted(g2, elsewhere))
    assert not env.deleted(g1, kept)
    await env.say(rita, g1, "/allow spam.example")
    await env.wait_bot_says(g1, "Only the group's owner and admins")


async def test_the_owners_and_the_bots_usernames_are_never_ads(env):
    g1 = env.groups["g1"]
    newcomer = await _regular(env, g1, "nina")
    texts = ["有问题找群主 @olga 或管理员 @adam", "规则看机器人 @groupkeeper_bot"]
    messages = [await env.say(newcomer, g1, t) for t in texts]
    await env.settle()
    assert not any(env.deleted(g1, m) for m in messages)
    async with env.session() as s:
        warned = (await s.scalars(select(ModerationLog.action))).all()
    assert "warn" not in warned


async def test_allow_refuses_words_too_short_and_lists(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/allow vx")
    await env.wait_bot_says(g1, "Too short to allow safely")
    await env.admin_says(g1, "/allow")
    listing = await env.wait_bot_says(g1, "never treated as ads")
    assert "This group: —" in listing
