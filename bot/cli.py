"""The command line: `python -m bot [run | db ... | sandbox ...]`.

Settings errors print one line naming the key and exit with code 2. Secrets (the token, the
webhook secret) are never printed: every log line and traceback goes through a formatter that
blanks them, and a token Telegram rejects is reported by name, not by value.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import InvalidToken

from bot.poller import TokenRejected
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


class RedactingFormatter(logging.Formatter):
    """Blanks the secrets in whatever is written: messages, arguments, tracebacks."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return text


def secrets_of(settings: Settings) -> list[str]:
    values = [settings.bot_token, settings.webhook_secret]
    return [v.get_secret_value() for v in values if v is not None]


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(fmt, secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Community group bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the sandbox when BOT_TOKEN is unset)")
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=("upgrade", "downgrade", "check"))
    db.add_argument("revision", nargs="?", default=None)
    sandbox = sub.add_parser("sandbox", help="try the bot against the local Bot API sandbox")
    sandbox.add_argument("--script", help="a scenario file to run instead of the console")
    spam = sub.add_parser("spam", help="labeled data for the ad detector")
    spam.add_argument("action", choices=("train", "evaluate"))
    spam.add_argument("file", help="JSON Lines or CSV (label,text) of labeled messages")
    black = sub.add_parser("blacklist", help="import or export the blacklist")
    black.add_argument("action", choices=("import", "export"))
    black.add_argument("file", nargs="?", help="a .csv or .json file (export: - or none = stdout)")
    black.add_argument("--alliance", type=int, help="which alliance, when there are several")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # python-telegram-bot's coming type for retry_after (a timedelta), without a deprecation
    # warning on every flood wait; the executor reads both forms
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    command = args.command or "run"
    try:
        if command == "db":
            return asyncio.run(_db(settings, args.action, args.revision))
        if command in ("spam", "blacklist"):
            alliance = getattr(args, "alliance", None)
            return asyncio.run(_data(settings, command, args.action, args.file, alliance))
        if command == "sandbox" or (command == "run" and settings.bot_token is None):
            from bot.sandbox_cli import run_sandbox

            if command == "run":
                print("BOT_TOKEN is not set: starting the local sandbox (no network).")
            if settings.log_level != "DEBUG":
                logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output
            return asyncio.run(run_sandbox(settings, script=getattr(args, "script", None)))
        return asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        return 130
    except InvalidToken:
        log.critical("BOT_TOKEN was rejected by Telegram (401): check the token from @BotFather")
        return 2
    except TokenRejected as exc:
        log.critical("%s: check the token from @BotFather", exc)
        return 2


async def _db(settings: Settings, action: str, revision: str | None) -> int:
    from bot import migrate

    if action == "upgrade":
        await migrate.upgrade(settings.database_url, revision or "head")
        print("database is up to date")
    elif action == "downgrade":
        await migrate.downgrade(settings.database_url, revision or "-1")
        print("database downgraded")
    else:
        differences = await migrate.drift(settings.database_url)
        for difference in differences:
            print(difference)
        return 1 if differences else 0
    return 0


async def _data(
    settings: Settings, command: str, action: str, file: str | None, alliance: int | None
) -> int:
    from bot import data_cli, migrate

    await migrate.upgrade(settings.database_url)
    url = settings.database_url
    try:
        if command == "spam":
            run = data_cli.spam_train if action == "train" else data_cli.spam_evaluate
            return await run(url, Path(file or ""))
        if action == "export":
            return await data_cli.blacklist_export(url, file, alliance=alliance)
        if file is None:
            print("error: blacklist import needs a FILE (.csv or .json)", file=sys.stderr)
            return 2
        return await data_cli.blacklist_import(settings, Path(file), alliance=alliance)
    except data_cli.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _serve(settings: Settings) -> int:
    from bot import migrate
    from bot.app import build, running

    await migrate.upgrade(settings.database_url)
    deployment = await build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mode = "webhook" if settings.webhook_url else "long polling"
    async with running(deployment):
        # What start-up built lives as long as the process: keep it out of the collector's
        # scans, which otherwise walk hundreds of thousands of objects on every full pass.
        gc.collect(1)
        gc.freeze()
        log.info("running with %s; SIGTERM or Ctrl-C stops", mode)
        poller = deployment.poller
        stopped = asyncio.ensure_future(stop.wait())
        watched = [stopped] + ([poller.task] if poller is not None and poller.task else [])
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        log.info("stopping")
        if poller is not None and poller.failure is not None:
            raise poller.failure
    return 0
