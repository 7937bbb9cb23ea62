"""Posts made as a channel: Telegram shows them from one shared stand-in account (Channel_Bot),
so an ad posted that way removes the post and bars that channel from the group; the stand-in is
never warned or blacklisted, and other channels' posts are judged on their own."""

from sqlalchemy import func, select

from rules.limits import CHANNEL_BOT
from storage.models import BlacklistEntry, Warning

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"


async def test_an_ad_posted_as_a_channel_bars_the_channel_and_blacklists_no_one(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    env.members.join(env.user("eve"), g1)
    await env.settle()
    first = env.talk.send(env.user("eve"), g1, AD, sender_chat="Spam Channel")
    second = env.talk.send(
        env.user("eve"), g1, "招代理，日赚 800，加V信 vx55667788", sender_chat="Spam Channel"
    )
    await env.wait_for(lambda: env.deleted(g1, first) and env.deleted(g1, second))
    await env.settle()
    # the channel is barred: its next post does not get through
    assert env.talk.send(env.user("eve"), g1, "hello again", sender_chat="Spam Channel") is None
    # an innocent post as another channel, in another group, stays
    hello = env.talk.send(
        env.user("fred"), g2, "Hello everyone, see you Friday", sender_chat="Club News"
    )
    await env.settle()
    assert not env.deleted(g2, hello)
    assert not [t for t in env.bot_texts(g1) if "Warning" in t]
    async with env.session() as s:
        assert await s.scalar(select(func.count()).select_from(Warning)) == 0
        assert await s.scalar(select(func.count()).select_from(BlacklistEntry)) == 0
    assert not env.world.calls("banChatMember")
    assert [c.params["sender_chat_id"] for c in env.world.calls("banChatSenderChat")]
    assert CHANNEL_BOT not in {c.params.get("user_id") for c in env.world.journal}
