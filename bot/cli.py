"""The command line: `python -m bot [run | db ... | sandbox ...]`.

Settings errors print one line naming the key and exit with code 2; nothing prints the token.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


class _RedactToken(logging.Filter):
    """Belt and braces: no log line may carry the token, whoever logs it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[token]"), None
        return True


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if settings.bot_token is not None:
        redact = _RedactToken(settings.bot_token.get_secret_value())
        for handler in logging.getLogger().handlers:
            handler.addFilter(redact)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
            return asyncio.run(_data(settings, command, args.action, args.file))
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


async def _data(settings: Settings, command: str, action: str, file: str | None) -> int:
    from bot import data_cli, migrate

    await migrate.upgrade(settings.database_url)
    url = settings.database_url
    try:
        if command == "spam":
            run = data_cli.spam_train if action == "train" else data_cli.spam_evaluate
            return await run(url, Path(file or ""))
        if action == "export":
            return await data_cli.blacklist_export(url, file)
        if file is None:
            print("error: blacklist import needs a FILE (.csv or .json)", file=sys.stderr)
            return 2
        return await data_cli.blacklist_import(url, Path(file))
    except data_cli.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _serve(settings: Settings) -> int:
    from bot import migrate
    from bot.app import build_application, running

    await migrate.upgrade(settings.database_url)
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mode = "webhook" if settings.webhook_url else "long polling"
    async with running(app, webhook=settings.webhook_url is not None):
        log.info("running with %s; SIGTERM or Ctrl-C stops", mode)
        await stop.wait()
        log.info("stopping")
    return 0
