"""Every policy settable from Telegram: /settings shows it, /set changes one key (English or
Chinese names), a value the bot cannot use gets a one-line reason and changes nothing, the
switches under /settings flip in one tap, /approve exempts a member, and the owners set the
alliance's time zone and language in private. Each change is checked by what people then see."""

import asyncio
import logging

from sqlalchemy import select

from bot.app import running
from bot.settings import Settings
from sandbox.membership import Membership
from sandbox.talk import Talk
from sandbox.world import wait_for
from storage.db import create_engine, create_session_factory
from storage.models import Alliance, ModerationLog
from tests.e2e.conftest import IN_PROCESS, start_bot, start_env

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"


def _answers(env) -> list[str]:
    return [c.params.get("text", "") for c in env.world.calls("answerCallbackQuery")]


async def test_settings_shows_the_groups_whole_policy(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/settings")
    text = await env.wait_bot_says(g1, "Settings of “Club 1”")
    for line in (
        "welcome (欢迎): on",
        "welcome_delete (欢迎删除): 10m",
        "rules_button (规则按钮): off",
        "warn_limit (警告上限): 2",
        "warn_days (警告天数): 30",
        "strictness (严格度): normal",
        "language (语言): English (the alliance's)",
        "shadow (影子模式): off",
        "approved members",
    ):
        assert line in text, line
    message = env.world.bot_messages(g1)[-1]
    labels = [b["text"] for row in message.buttons or [] for b in row]
    assert labels == ["welcome: on", "rules_button: off", "shadow: off"]


async def test_set_warn_limit_one_blacklists_at_the_first_ad(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    await env.admin_says(g1, "/set warn_limit 1")
    assert await env.wait_bot_says(g1, "warn_limit: 2 → 1")
    await env.join("spammer", g1)
    await env.say("spammer", g1, AD)
    await env.wait_for(lambda: env.is_banned("spammer", g1) and env.is_banned("spammer", g2))
    async with env.session() as s:
        row = await s.scalar(select(ModerationLog).where(ModerationLog.action == "set_policy"))
    assert row.details["key"] == "warn_limit"
    assert row.actor_id == env.users["adam"].id


async def test_set_refuses_a_value_with_one_line_and_changes_nothing(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/set warn_limit 11")
    refusal = await env.wait_bot_says(g1, "warn_limit must be")
    assert refusal == "warn_limit must be a whole number from 1 to 10."
    await env.admin_says(g1, "/set welcome maybe")
    assert await env.wait_bot_says(g1, "welcome takes on or off.")
    await env.admin_says(g1, "/set flag_threshold 0.95")
    assert await env.wait_bot_says(g1, "flag threshold must not be above the delete threshold")
    await env.admin_says(g1, "/set colour blue")
    assert await env.wait_bot_says(g1, "I have no setting “colour”")
    await env.admin_says(g1, "/set timezone Europe/Berlin")
    assert await env.wait_bot_says(g1, "timezone is set by the owners")
    # nothing changed: the ladder still warns first
    await env.join("spammer", g1)
    await env.say("spammer", g1, AD)
    assert await env.wait_bot_says(g1, "Warning 1 of 2")


async def test_set_in_chinese_and_the_group_language(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/set language zh-CN")
    assert await env.wait_bot_says(g1, "语言: English (the alliance's) → 简体中文")
    await env.admin_says(g1, "/set 警告上限 3")
    assert await env.wait_bot_says(g1, "警告上限: 2 → 3")
    await env.admin_says(g1, "/settings")
    text = await env.wait_bot_says(g1, "“Club 1”的设置")
    assert "警告上限 (warn_limit): 3" in text
    await env.join("spammer", g1)
    await env.say("spammer", g1, AD)
    warning = await env.wait_bot_says(g1, "spammer")
    assert "第 1/3 次警告" in warning


async def test_the_welcome_switch_under_settings_turns_welcomes_off(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/settings")
    await env.wait_bot_says(g1, "Settings of")
    menu = env.world.bot_messages(g1)[-1]
    env.talk.press("adam", menu, "set:welcome")
    await env.wait_for(lambda: "welcome: on → off" in _answers(env))
    await env.wait_for(lambda: "welcome (欢迎): off" in g1.messages[menu.message_id].text)
    await env.join("amy", g1)
    await asyncio.sleep(2.0)  # longer than the welcome's gathering window
    await env.settle()
    assert not [t for t in env.bot_texts(g1) if "amy" in t.lower()]


async def test_a_member_may_not_flip_the_switches(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/settings")
    await env.wait_bot_says(g1, "Settings of")
    menu = env.world.bot_messages(g1)[-1]
    await env.join("mallory", g1)
    env.talk.press("mallory", menu, "set:welcome")
    await env.wait_for(lambda: "Only the group's admins can change its settings." in _answers(env))
    await env.join("amy", g1)
    assert await env.wait_bot_says(g1, "amy")


async def test_rules_button_and_welcome_deletion_time(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/set rules_button on")
    assert await env.wait_bot_says(g1, "rules_button: off → on")
    await env.admin_says(g1, "/set welcome_delete 2h")
    assert await env.wait_bot_says(g1, "welcome_delete: 10m → 2h")
    await env.admin_says(g1, "/set welcome_delete 3 weeks")
    assert await env.wait_bot_says(g1, "welcome_delete takes seconds or a duration")
    await env.join("amy", g1)
    await env.wait_bot_says(g1, "amy")
    welcome = [m for m in env.world.bot_messages(g1) if "amy" in m.text.lower()][-1]
    labels = [b["text"] for row in welcome.buttons or [] for b in row]
    assert labels == ["Read the group rules"]
    assert "No ads" not in welcome.text


async def test_approve_exempts_a_member_and_unapprove_ends_it(env):
    g1 = env.groups["g1"]
    await env.join("vendor", g1)
    hello = await env.say("vendor", g1, "大家好")
    await env.admin_reply(g1, hello, "/approve")
    assert await env.wait_bot_says(g1, "is approved")
    ad = await env.say("vendor", g1, AD)
    await env.settle()
    assert not env.deleted(g1, ad)
    await env.admin_says(g1, "/settings")
    text = await env.wait_bot_says(g1, "Settings of")
    assert "vendor" in text.split("approved members")[1].split("\n")[0]
    await env.admin_says(g1, f"/unapprove {env.users['vendor'].id}")
    assert await env.wait_bot_says(g1, "is no longer approved")
    again = await env.say("vendor", g1, AD)
    await env.wait_for(lambda: env.deleted(g1, again))
    assert await env.wait_bot_says(g1, "Warning 1 of 2")


async def test_owner_sets_time_zone_and_language_in_private(env):
    env.talk.private("olga", "/settings")
    text = await env.wait_private("olga", "Settings of all our groups")
    assert "timezone (时区): Asia/Shanghai" in text
    env.talk.private("olga", "/set timezone Mars/Olympus")
    assert await env.wait_private("olga", "Unknown time zone “Mars/Olympus”")
    env.talk.private("olga", "/set timezone Europe/Berlin")
    assert await env.wait_private("olga", "timezone: Asia/Shanghai → Europe/Berlin")
    env.talk.private("olga", "/set 语言 中文")
    assert await env.wait_private("olga", "语言: English → 简体中文")
    async with env.session() as s:
        alliance = await s.scalar(select(Alliance))
    assert (alliance.timezone, alliance.language) == ("Europe/Berlin", "zh-CN")
    # groups without a language of their own now speak the alliance's
    await env.join("amy", env.groups["g2"])
    assert await env.wait_bot_says(env.groups["g2"], "欢迎")
    env.talk.private("adam", "/set timezone UTC")
    assert await env.wait_private("adam", "Only the owners of our groups")


async def test_env_defaults_follow_unless_a_command_set_them(app_db_url, caplog):
    """TIMEZONE and DEFAULT_LANGUAGE changed in .env after the first start: what no command
    set follows them; what an owner set stays, and the start's log names it."""
    world, app, chats, users = await start_env(app_db_url)
    async with running(app):
        Membership(world).add_bot(chats["g1"], by=users["olga"])
        await wait_for(lambda: world.calls("sendMessage"), timeout=20, what="the greeting")
        Talk(world).private("olga", "/set timezone Europe/Berlin")
        await wait_for(
            lambda: any("Europe/Berlin" in m.text for m in world.private_messages_to("olga")),
            timeout=20,
            what="the owner's answer",
        )
    changed = Settings(
        _env_file=None,
        database_url=app_db_url,
        owner_ids=world.owner_ids,
        telegram_api_base_url=IN_PROCESS,
        default_language="zh-CN",
        timezone="Asia/Tokyo",
    )
    with caplog.at_level(logging.INFO, logger="bot.app"):
        again = await start_bot(world, changed)
    await again.engine.dispose()
    engine = create_engine(app_db_url)
    async with create_session_factory(engine)() as s:
        alliance = await s.scalar(select(Alliance))
    await engine.dispose()
    assert (alliance.timezone, alliance.language) == ("Europe/Berlin", "zh-CN")
    logged = [r.getMessage() for r in caplog.records if "overrides" in r.getMessage()]
    assert logged == [
        f"alliance #{alliance.id}: stored timezone 'Europe/Berlin' overrides "
        "TIMEZONE='Asia/Tokyo' (set by an owner's command; /set timezone changes it)"
    ]
