"""Scenarios and the console, with a trivial bot that greets groups and answers /start."""

import contextlib
import io

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from sandbox.script import run_interactive, run_scenario
from sandbox.script_syntax import parse_line
from tests.sandbox.conftest import build_app, polling


@contextlib.asynccontextmanager
async def trivial_bot(world, base_url):
    app = build_app(base_url)

    async def hi(update: Update, context) -> None:
        await update.effective_message.reply_text(
            "hi",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Ban me", callback_data="ban")]]
            ),
        )

    async def start(update: Update, context) -> None:
        await update.effective_message.reply_text("欢迎 welcome")

    async def pressed(update: Update, context) -> None:
        await update.callback_query.answer()
        await context.bot.ban_chat_member(update.effective_chat.id, update.effective_user.id)

    app.add_handler(CommandHandler("start", start, filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, hi))
    async with polling(app):
        yield app


SCENARIO = """\
# two groups, one bot
owner olga
users alice, bob
group g1 "Guangzhou 广州" owner olga admins adam members alice
group g2 Beijing owner olga
olga adds bot to g1
alice@g1: hello 大家好
bob joins g1 invited by alice
bob@g1 reply to #2: 你好
expect bot said in g1 "hi"
expect bot said nothing in g2
bob presses "Ban me" in g1
expect bob is banned in g1
expect alice is not banned in g1
bob joins g1
expect bob was refused in g1
olga@bot: /start
expect olga got "welcome"
expect bot messages in g1 = 2
expect 429s = 0
"""


async def test_script_passing_scenario_prints_transcript():
    out = io.StringIO()
    failures = await run_scenario(SCENARIO.splitlines(), start_bot=trivial_bot, out=out, name="two")
    text = out.getvalue()
    assert failures == 0, text
    assert "[g1 Guangzhou 广州] alice: hello 大家好  #2" in text
    assert "[g1 Guangzhou 广州] bot: hi" in text
    assert "[Ban me]" in text
    assert "[g1 Guangzhou 广州] bob joined (invited by alice)" in text
    assert "[g1 Guangzhou 广州] bot banned bob" in text
    assert "[g1 Guangzhou 广州] bob tried to join: refused, banned" in text
    assert "[private olga] bot: 欢迎 welcome" in text
    assert "ok   line 10: expect bot said in g1" in text
    assert "two: 8 expectation(s), 0 failure(s)" in text


async def test_script_failing_expect_and_syntax_error_count():
    lines = [
        "owner olga",
        "group g1 Club owner olga members alice with bot",
        "alice@g1: hello",
        'expect bot said in g1 "goodbye"',
        "alice dances wildly",
        "expect alice is member in g1",
    ]
    out = io.StringIO()
    failures = await run_scenario(lines, start_bot=trivial_bot, out=out, expect_timeout=0.2)
    text = out.getvalue()
    assert failures == 2, text
    assert (
        "FAIL line 4: expect bot said in g1 \"goodbye\" (the bot said 1 message(s) there, the last: 'hi')"
        in text
    )
    assert "FAIL line 5: syntax: cannot understand 'alice dances wildly'" in text
    assert "ok   line 6: expect alice is member in g1" in text
    assert "[g1 Club] olga added the bot as admin" in text


async def test_script_console_default_world():
    stdin = io.StringIO('help\nalice@g1: 你好\nexpect bot said in g1 "hi"\nquit\nalice@g1: never\n')
    out = io.StringIO()
    failures = await run_interactive(start_bot=trivial_bot, stdin=stdin, out=out)
    text = out.getvalue()
    assert failures == 0, text
    assert "expect bot said in g1" in text  # the help text
    assert "[g1 Guangzhou] olga added the bot as admin" in text
    assert "[g1 Guangzhou] alice: 你好" in text
    assert "never" not in text.split("quit")[-1]
    assert "ok   line 3:" in text


def test_script_syntax_covers_message_options():
    step = parse_line('eve@g1 forwarded from "Crypto News" photo: 空投')
    assert step.kind == "say"
    assert step.args["forward_name"] == "Crypto News"
    assert "photo" in step.args
    assert parse_line("olga@g1 anonymous: 公告").args["anonymous"] == "yes"
    assert parse_line("expect last message of eve in g1 was deleted").kind == "expect_deleted"
    assert parse_line("  # a comment") is None


def test_script_every_documented_line_parses():
    from sandbox.script import HELP

    example = [line for line in HELP.splitlines() if line.startswith("    ")]
    assert len(example) > 30
    steps = [parse_line(line) for line in example]
    assert all(step is None or step.kind for step in steps)
