"""One language per reader: Chinese texts speak Chinese (群主 only for a group's creator), English
counts agree with their nouns, and owners read the bot in their alliance's language."""

import re

import pytest
from sqlalchemy import update

from bot.app import running
from bot.settings import Settings
from rules.actions import Batch, BatchEntry
from rules.decision import WarningNotice
from sandbox.membership import Membership
from sandbox.world import World, settle, wait_for
from services.digest_media import groups_csv
from services.i18n import catalog, duration_text, tr, tr_n
from services.reports import render_report
from services.texts import _warning_text
from storage.models import Alliance, BlacklistEntry, Chat
from storage.models import Chat as ChatRow
from tests.e2e.conftest import IN_PROCESS, Env, start_bot

# msgids where 群主 is right: Telegram's creator of a group, not the bot's owners
CREATOR_MSGIDS = {
    "Only the group's owner and admins who can restrict members may use /{command}.",
    "owner",  # the member role named after Telegram's "creator" status
    "The owner cannot be warned, banned or blacklisted.",  # the creator and the bot's owners
}
# Latin words a Chinese reader meets as they are: names, and what they type as it is
LATIN_ALLOWED = {
    "Telegram", "CSV", "VIP", "FAQ", "ID", "TA", "Start", "n",  # "✅ n": a count on a button
    "zh-CN", "en", "Asia", "on", "off", "daily", "weekly", "report", "timezone", "warn_limit",
    "mon", "sun", "mon-fri", "example", "com",
}  # fmt: skip
NOT_WORDS = re.compile(
    r"\{\w+\}|https?://\S+|t\.me/\S+|/\w+|@\w+|#\w+|<[^>]*>|&\w+;|\b\d+[smhd]\b|“[^”]*”"
)
LATIN = re.compile(r"[A-Za-z][A-Za-z_\-]*")


def latin_words(text: str) -> set[str]:
    return set(LATIN.findall(NOT_WORDS.sub(" ", text))) - LATIN_ALLOWED


def test_language_qunzhu_only_for_group_creators():
    wrong = {
        msgid: text
        for msgid, text in catalog("zh-CN").items()
        if "群主" in text and msgid not in CREATOR_MSGIDS
    }
    assert wrong == {}


def test_language_owner_texts_name_the_bot_admins():
    zh = catalog("zh-CN")
    assert "机器人管理员" in zh["Only an owner can do that."]
    assert "机器人管理员" in zh["owners: your groups by tier"]


def test_language_chinese_texts_have_no_english_words():
    wrong = {}
    for msgid, text in catalog("zh-CN").items():
        words = latin_words(text)
        if words:
            wrong[msgid] = sorted(words)
    assert wrong == {}


def test_language_latin_check_can_fail():
    assert latin_words("已删除 2 条广告 (accounts)") == {"accounts"}
    assert latin_words("发送 /help 或 @admin，如 10m、{n} 个") == set()


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "1 account blacklisted."), (2, "2 accounts blacklisted.")],
    ids=["one", "two"],
)
def test_language_english_count_agrees(n, expected):
    text = tr_n(
        "en", n, "{accounts} account blacklisted.", "{accounts} accounts blacklisted.", accounts=n
    )
    assert text == expected
    zh = tr_n(
        "zh-CN",
        n,
        "{accounts} account blacklisted.",
        "{accounts} accounts blacklisted.",
        accounts=n,
    )
    assert zh == f"拉黑账号 {n} 个。"


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (60, "1 minute", "1 分钟"),
        (600, "10 minutes", "10 分钟"),
        (3600, "1 hour", "1 小时"),
        (7200, "2 hours", "2 小时"),
        (86400, "1 day", "1 天"),
        (3 * 86400, "3 days", "3 天"),
        (90, "90 seconds", "90 秒"),
        (1, "1 second", "1 秒"),
    ],
    ids=["1m", "10m", "1h", "2h", "1d", "3d", "90s", "1s"],
)
def test_language_durations_in_words(seconds, en, zh):
    assert duration_text("en", seconds) == en
    assert duration_text("zh-CN", seconds) == zh


def _entry(user_id: int) -> BlacklistEntry:
    return BlacklistEntry(
        alliance_id=1, user_id=user_id, reason="ad", evidence={}, added_by=None, source_chat_id=None
    )


@pytest.mark.parametrize(
    ("count", "heading"),
    [(1, "🚫 1 account blacklisted in"), (2, "🚫 2 accounts blacklisted in")],
    ids=["one", "two"],
)
def test_language_report_heading_counts(count, heading):
    alliance = Alliance(id=1, name="A", owner_ids=[1], timezone="UTC", language="en")
    report = render_report(alliance, [_entry(100 + i) for i in range(count)], {}, {})
    assert report.text.startswith(heading)


@pytest.mark.parametrize(
    ("people", "fragment"),
    [(1, "Removed 2 ads from 1 account:"), (2, "Removed 2 ads from 2 accounts:")],
    ids=["one", "two"],
)
def test_language_warning_summary_counts(people, fragment):
    chat = Chat(id=-1, title="G", rules_text="Be kind.")
    if people == 1:
        entries = (BatchEntry(1, "Ann", count=2),)
    else:
        entries = (BatchEntry(1, "Ann"), BatchEntry(2, "Bob"))
    batch = Batch(key="warning", entries=entries)
    notice = WarningNotice(chat_id=-1, person=None, reason="ad", count=1, limit=2)
    assert fragment in _warning_text("en", chat, notice, batch)


def test_language_csv_headers_and_tiers_in_chinese():
    header = groups_csv([], {}, lang="zh-CN").decode("utf-8-sig").splitlines()[0]
    assert "chat_id" not in header
    assert header.startswith("群ID,群名,分级")
    assert groups_csv([], {}).decode("utf-8-sig").startswith("chat_id,title,tier")


# end to end, in a Chinese deployment whose owner's Telegram app speaks English

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"
AD2 = "招代理，日赚 800，加V信 vx55667788 了解"
NAMES = re.compile(r"\S+ \(@\w+, \d+\)")


def bot_latin(text: str) -> set[str]:
    return latin_words(NAMES.sub(" ", text))


@pytest.fixture
async def zh_env(app_db_url):
    world = World()
    olga = world.add_user("olga", owner=True)  # her app is in English
    adam = world.add_user("adam")
    olga.started = True
    titles = ("广州车友会", "北京车友会")
    chats = {
        f"g{n}": world.add_group(f"g{n}", title, owner=olga, admins=(adam,))
        for n, title in enumerate(titles, 1)
    }
    settings = Settings(
        _env_file=None,
        database_url=app_db_url,
        owner_ids=world.owner_ids,
        telegram_api_base_url=IN_PROCESS,
        default_language="zh-CN",
    )
    app = await start_bot(world, settings)
    async with running(app):
        for chat in chats.values():
            Membership(world).add_bot(chat, by=olga)
        await wait_for(lambda: len(world.calls("sendMessage")) >= len(chats), timeout=20)
        async with app.runtime.sessions() as session:
            await session.execute(update(ChatRow).values(policy={"welcome_batch_seconds": 1.5}))
            await session.commit()
        app.runtime.state.chats.clear()
        await settle(world)
        yield Env(world, app, {"olga": olga, "adam": adam}, chats)


async def test_language_zh_warning_and_owner_report_are_chinese(zh_env):
    env = zh_env
    g1, g2 = env.groups["g1"], env.groups["g2"]
    await env.join("spammer", g1)
    await env.join("spammer", g2)
    await env.say("spammer", g1, AD)
    warning = await env.wait_bot_says(g1, "警告")
    assert "群规" in warning
    assert bot_latin(warning) == set()
    await env.say("spammer", g2, AD2)
    report = await env.wait_private("olga", "拉黑")
    assert "1 个账号" in report
    assert bot_latin(report) == set()


async def test_language_owner_reads_the_alliance_language_in_private(zh_env):
    env = zh_env
    env.talk.private("olga", "/start")
    hello = await env.wait_private("olga", "欢迎")
    assert "Welcome" not in hello
    env.talk.private("olga", "你好")
    hint = await env.wait_private("olga", "/help")
    assert "命令" in hint


async def test_language_plain_private_message_gets_a_hint(zh_env):
    env = zh_env
    env.user("carl")
    env.talk.private("carl", "hello there")
    hint = await env.wait_private("carl", "/help")
    assert "commands" in hint  # carl's app is in English, and he owns nothing


async def test_language_mute_duration_in_words(zh_env):
    env = zh_env
    g1 = env.groups["g1"]
    await env.join("bob", g1)
    msg = await env.say("bob", g1, "你好")
    await env.admin_reply(g1, msg, "/mute 10m")
    done = await env.wait_bot_says(g1, "10 分钟")
    assert "10m" not in done
    assert tr("en", "{n} minutes", n=10) == "10 minutes"
