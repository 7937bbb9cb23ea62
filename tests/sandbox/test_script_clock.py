"""Scenario steps for the date clock, reactions, replies and media sent to private chats, with a
bot that records what it receives and sends a photo and a document on /report."""

import contextlib
import io
import time

from telegram import InputFile, Update
from telegram.ext import CommandHandler, MessageHandler, MessageReactionHandler, filters

from sandbox.script import run_scenario
from sandbox.script_syntax import parse_line
from tests.sandbox.conftest import build_app, polling

DAY = 86400


class RecordingBot:
    """A StartBot that keeps every update the bot got and the world it ran in."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.world = None

    @contextlib.asynccontextmanager
    async def __call__(self, world, base_url):
        self.world = world
        app = build_app(base_url)

        async def keep(update: Update, context) -> None:
            self.updates.append(update)

        async def report(update: Update, context) -> None:
            chat = update.effective_chat.id
            await context.bot.send_photo(
                chat, InputFile(b"png", filename="chart.png"), caption="活跃度 chart"
            )
            await context.bot.send_document(chat, InputFile(b"a,b\n", filename="groups.csv"))

        app.add_handler(CommandHandler("report", report, filters.ChatType.PRIVATE))
        app.add_handler(MessageHandler(filters.ALL, keep))
        app.add_handler(MessageReactionHandler(keep))
        async with polling(app):
            yield app

    def messages(self, text: str):
        return [u.message for u in self.updates if u.message and u.message.text == text]


async def run(lines, bot, **options):
    out = io.StringIO()
    failures = await run_scenario(lines, start_bot=bot, out=out, **options)
    return failures, out.getvalue()


def test_script_time_steps_parse_to_seconds():
    assert parse_line("time passes 2 days").args["seconds"] == str(2.0 * DAY)
    assert parse_line("time passes 3 hours").args["seconds"] == str(3.0 * 3600)
    assert parse_line("time passes 30 minutes").args["seconds"] == "1800.0"
    assert parse_line("clock -6 days").args["seconds"] == str(-6.0 * DAY)
    assert parse_line("clock +0").args["seconds"] == "0.0"
    assert parse_line("alice reacts 👍 to #5 in g1").args == {
        "user": "alice",
        "emoji": "👍",
        "message": "5",
        "chat": "g1",
    }


async def test_script_time_passes_and_clock_move_the_dates():
    bot = RecordingBot()
    lines = [
        "alice@g1: today",
        "time passes 2 days",
        "alice@g1: later",
        "time passes 3 hours",
        "time passes 30 minutes",
        "alice@g1: even later",
        "clock -6 days",
        "alice@g1: last week",
        "clock +0",
        "alice@g1: now",
    ]
    failures, text = await run(lines, bot)
    assert failures == 0, text
    date = {
        t: bot.messages(t)[0].date.timestamp()
        for t in ("today", "later", "even later", "last week", "now")
    }
    assert abs(date["today"] - time.time()) < 30
    assert abs(date["later"] - date["today"] - 2 * DAY) < 30
    assert abs(date["even later"] - date["today"] - (2 * DAY + 3.5 * 3600)) < 30
    assert abs(date["last week"] - date["today"] + 6 * DAY) < 30
    assert abs(date["now"] - date["today"]) < 30
    assert "(time passes: 2 days; sandbox clock " in text
    assert "UTC, +2 days)" in text
    assert "(time passes: 30 minutes; " in text
    assert ", -6 days)" in text
    assert bot.world.time_offset == 0


async def test_script_react_and_replies_reach_the_bot():
    bot = RecordingBot()
    lines = [
        "bob@g1: 周六去爬山吗",
        "alice@g1 replies to bob: 好呀",
        "alice reacts 👍 to bob@g1",
        "carl reacts 👍 to bob@g1",
        "alice reacts 👍 to bob@g1",
        "bob reacts 🔥 to #3 in g1",
        "expect messages in g1 = 3",
    ]
    failures, text = await run(lines, bot)
    assert failures == 0, text
    reply = bot.messages("好呀")[0]
    bob_message = bot.messages("周六去爬山吗")[0]
    assert reply.reply_to_message.message_id == bob_message.message_id
    assert reply.reply_to_message.text == "周六去爬山吗"
    assert reply.reply_to_message.from_user.id == bot.world.users["bob"].id
    changed = [u.message_reaction for u in bot.updates if u.message_reaction]
    totals = [u.message_reaction_count for u in bot.updates if u.message_reaction_count]
    assert [
        (c.user.username, c.message_id, [r.emoji for r in c.new_reaction]) for c in changed
    ] == [
        ("alice", bob_message.message_id, ["👍"]),
        ("carl", bob_message.message_id, ["👍"]),
        ("bob", reply.message_id, ["🔥"]),
    ]
    assert [r.total_count for r in totals[1].reactions] == [2]
    assert "alice reacts 👍 to #" in text
    assert ": no change" in text
    assert "[g1 Guangzhou] alice (reply to #" in text
    assert "carl reacted 👍 to #" in text


async def test_script_media_expectations_pass_and_fail():
    bot = RecordingBot()
    lines = [
        "olga@bot: /report",
        "expect olga receives photo",
        'expect olga receives photo "chart"',
        'expect olga receives document "groups.csv"',
        "expect olga got a document",
        "expect bob did not receive document",
        'expect olga receives document "members.csv"',
        "expect olga did not receive photo",
        "expect bob receives photo",
    ]
    failures, text = await run(lines, bot, expect_timeout=0.3)
    assert failures == 3, text
    for number in (2, 3, 4, 5, 6):
        assert f"ok   line {number}:" in text
    assert (
        'FAIL line 7: expect olga receives document "members.csv" (olga got 1 document(s), '
        "the last: document 'groups.csv')"
    ) in text
    assert "FAIL line 8: expect olga did not receive photo (it got photo " in text
    assert "FAIL line 9: expect bob receives photo (bob got 0 photo(s))" in text
