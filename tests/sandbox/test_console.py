"""The sandbox console as an operator uses it: help in the operator's words, what the bot does
later shown without typing another line, and Ctrl-C leaving at once."""

import asyncio
import contextlib
import io
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from telegram import Update
from telegram.ext import MessageHandler, filters

from sandbox.script import run_interactive
from tests.sandbox.conftest import build_app, polling

REPO = Path(__file__).resolve().parent.parent.parent


@contextlib.asynccontextmanager
async def late_greeter(world, base_url):
    """A bot that welcomes newcomers a while after they join, as the real one waits for a wave
    of joins to end."""
    app = build_app(base_url)

    async def joined(update: Update, context) -> None:
        names = ", ".join(u.first_name for u in update.effective_message.new_chat_members)
        chat = update.effective_chat.id

        async def later() -> None:
            await asyncio.sleep(1.0)
            await context.bot.send_message(chat, f"welcome {names}")

        context.application.create_task(later())

    app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, joined))
    async with polling(app):
        yield app


async def _console(lines: str) -> str:
    out = io.StringIO()
    await run_interactive(start_bot=late_greeter, stdin=io.StringIO(lines), out=out)
    return out.getvalue()


async def test_console_help_speaks_the_operators_words():
    text = await _console("help\nquit\n")
    assert "You play everyone here: members, admins and the owner." in text
    assert 'alice@g1: hello                         alice writes "hello" in group g1' in text
    assert "Ctrl-C" in text
    for internal in ("World.settle", "allowed_updates", "world.owner_ids", "message_reaction"):
        assert internal not in text


async def test_console_help_all_is_the_whole_language():
    text = await _console("help all\nquit\n")
    assert "expect 429s = 0" in text
    assert "You play everyone here" not in text


async def test_console_shows_a_late_welcome_without_another_line():
    read, write = os.pipe()
    stdin, writer = os.fdopen(read, "r"), os.fdopen(write, "w")
    out = io.StringIO()
    console = asyncio.create_task(
        run_interactive(start_bot=late_greeter, stdin=stdin, out=out, settle_timeout=5)
    )
    try:
        writer.write("dave joins g1\n")
        writer.flush()
        deadline = time.monotonic() + 15
        while "bot: welcome Dave" not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()
            await asyncio.sleep(0.1)
        transcript = out.getvalue()
        # the welcome came after the line's own output, and a fresh prompt follows it
        assert transcript.index("dave") < transcript.index("bot: welcome Dave")
        assert transcript.rstrip(" ").endswith(">")
    finally:
        writer.write("quit\n")
        writer.flush()
        assert await asyncio.wait_for(console, timeout=15) == 0
        writer.close()
        stdin.close()


def test_console_ctrl_c_leaves_at_once():
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({"PYTHONPATH": str(REPO), "PTB_TIMEDELTA": "1"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"> " not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                seen += os.read(process.stdout.fileno(), 4096)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = process.wait(timeout=10)  # before the fix: waits for one more line, forever
        assert time.monotonic() - started < 5
        assert code == 130
        assert b"Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
