"""`python -m bot sandbox`: the real bot against the local Bot API, with no token and no network.

The bot runs with its own throwaway SQLite database (unless DATABASE_URL points elsewhere on
purpose via SANDBOX_DATABASE_URL), its owners are the scenario's owners, and Telegram is the
sandbox on 127.0.0.1. Scenario files exit non-zero when an `expect` line fails.

The sandbox is a top-level package of the source checkout, not part of the installed bot: it is
imported only when this command runs, from the checkout this bot package belongs to.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot import migrate
from bot.app import build, running
from bot.settings import Settings

if TYPE_CHECKING:
    from sandbox.script import StartBot
    from sandbox.world import World

CHECKOUT = Path(__file__).resolve().parent.parent

SANDBOX_TOKEN = "7000000001:SANDBOXSANDBOXSANDBOX"  # noqa: S105 - the sandbox accepts any token


def _starter(settings: Settings, database_url: str) -> StartBot:
    @asynccontextmanager
    async def start_bot(world: World, base_url: str) -> AsyncIterator[object]:
        await migrate.upgrade(database_url)
        local = settings.model_copy(
            update={
                "database_url": database_url,
                "owner_ids": list(world.owner_ids),
                "telegram_api_base_url": base_url,
                "webhook_url": None,
            }
        )
        deployment = await build(local, token=SANDBOX_TOKEN, report_delay=1.0)
        async with running(deployment):
            yield deployment

    return start_bot


def _find_sandbox() -> None:
    """Let `import sandbox` find the checkout's sandbox even when the command runs elsewhere."""
    if (CHECKOUT / "sandbox" / "__init__.py").is_file() and str(CHECKOUT) not in sys.path:
        sys.path.append(str(CHECKOUT))


async def run_sandbox(settings: Settings, *, script: str | None) -> int:
    _find_sandbox()
    try:
        from sandbox import run_interactive, run_scenario
    except ModuleNotFoundError as exc:
        if exc.name != "sandbox":
            raise
        print("error: the sandbox comes with the source checkout only", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="groupkeeper-sandbox-") as tmp:
        database_url = os.environ.get("SANDBOX_DATABASE_URL") or (
            f"sqlite+aiosqlite:///{Path(tmp) / 'sandbox.db'}"
        )
        start_bot = _starter(settings, database_url)
        if script is None:
            failures = await run_interactive(start_bot=start_bot, stdin=sys.stdin, out=sys.stdout)
            return 1 if failures else 0
        path = Path(script)
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError:
            print(f"error: no scenario file {script}", file=sys.stderr)
            return 2
        lines = text.splitlines()
        failures = await run_scenario(lines, start_bot=start_bot, out=sys.stdout, name=path.name)
        return 1 if failures else 0
