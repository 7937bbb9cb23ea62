"""A blacklisting removes what the account already posted in the alliance's groups: a ban does not
take a supergroup member's messages away on Telegram."""

from sandbox import Membership


async def test_blacklisting_removes_the_accounts_recent_posts_everywhere(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    Membership(env.world).join(env.user("quiet"), g1)
    Membership(env.world).join(env.user("quiet"), g2)
    await env.settle()
    posts = [
        await env.say("quiet", g, f"hello friends, nice to meet you all {g.key}") for g in (g1, g2)
    ]
    other = await env.say("adam", g1, "welcome to our new members")
    await env.settle()
    assert not any(env.deleted(g, p) for g, p in zip((g1, g2), posts, strict=True))
    await env.admin_says(g1, f"/blacklist {env.users['quiet'].id} promoter")
    await env.wait_for(lambda: all(env.deleted(g, p) for g, p in zip((g1, g2), posts, strict=True)))
    assert env.is_banned("quiet", g1)
    assert env.is_banned("quiet", g2)
    assert not env.deleted(g1, other)
