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
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import InvalidToken, NetworkError

from bot.poller import TokenRejected
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.app import Deployment

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
    """Every secret the settings hold: the token, the webhook secret, and the passwords in
    DATABASE_URL and TELEGRAM_PROXY_URL."""
    values = [settings.bot_token, settings.webhook_secret, settings.telegram_proxy_url]
    found = [v.get_secret_value() for v in values if v is not None]
    for url in (settings.database_url, settings.proxy):
        password = urlsplit(url).password if url else None
        if password:
            found.append(password)
    # longest first, so that a secret containing another is blanked whole
    return sorted(set(found), key=len, reverse=True)


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(fmt, secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # httpx and httpcore log request URLs, which carry the token (also at DEBUG)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="groupkeeper: looks after your Telegram groups (welcomes, ads, blacklist, "
        "health). Settings come from .env (see .env.example).",
        epilog="examples: `python -m bot run` (no BOT_TOKEN: the sandbox), "
        "`python -m bot sandbox --script scenarios/two_groups.txt`, "
        "`python -m bot blacklist export list.csv`",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (without BOT_TOKEN: try it in the sandbox)")
    db = sub.add_parser("db", help="the database: upgrade (also done at every start), check")
    db.add_argument("action", choices=("upgrade", "downgrade", "check"))
    db.add_argument("revision", nargs="?", default=None)
    sandbox = sub.add_parser(
        "sandbox", help="try the bot with no token and no network: you play every member"
    )
    sandbox.add_argument("--script", help="a scenario file to run instead of the console")
    spam = sub.add_parser("spam", help="teach the ad detector, or measure it")
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
        return _dispatch(settings, command, args)
    except KeyboardInterrupt:
        return 130
    except StartupError as exc:
        print(_redacted(settings, f"cannot start: {exc}"), file=sys.stderr)
        return 2
    except InvalidToken:
        log.critical("BOT_TOKEN was rejected by Telegram (401): check the token from @BotFather")
        return 2
    except TokenRejected as exc:
        log.critical("%s: check the token from @BotFather", exc)
        return 2


def _dispatch(settings: Settings, command: str, args: argparse.Namespace) -> int:
    if command == "db":
        try:
            return asyncio.run(_db(settings, args.action, args.revision))
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise _database_failed(settings, exc) from None
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
    if not settings.owner_ids:
        print(
            "configuration error: OWNER_IDS: required with BOT_TOKEN: the numeric Telegram "
            "ids of the owners, comma-separated (ask @userinfobot for yours)",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_serve(settings))


class StartupError(Exception):
    """Something the bot needs at start is unreachable; the message names the setting."""


def _redacted(settings: Settings, text: str) -> str:
    for secret in secrets_of(settings):
        text = text.replace(secret, "[secret]")
    return text


def _cause(exc: BaseException) -> str:
    """The innermost reason of an error, on one line (drivers wrap theirs in several layers)."""
    while exc.__cause__ is not None and str(exc.__cause__).strip():
        exc = exc.__cause__
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.split(" (Background on this error", 1)[0]
    return f"{type(exc).__name__}: {text[:300]}"


def _database_failed(settings: Settings, exc: BaseException) -> StartupError:
    return StartupError(
        f"DATABASE_URL: the database {settings.database_shown} cannot be used ({_cause(exc)})"
    )


def _telegram_failed(settings: Settings, exc: BaseException) -> StartupError:
    if settings.proxy is not None:
        where = f"TELEGRAM_PROXY_URL: Telegram is not reachable through {settings.proxy_shown}"
    else:
        base = urlsplit(settings.telegram_api_base_url)
        where = f"TELEGRAM_API_BASE_URL: Telegram is not reachable at {base.scheme}://{base.netloc}"
    hint = "" if settings.proxy else "; behind a firewall, set TELEGRAM_PROXY_URL"
    return StartupError(f"{where} ({_cause(exc)}){hint}")


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

    url = settings.database_url
    try:
        if file is not None and file != "-" and not (command == "blacklist" and action == "export"):
            data_cli.must_exist(Path(file))
        if command == "spam" and action == "evaluate" and not await _database_exists(settings):
            return await data_cli.spam_evaluate(None, Path(file or ""))
        try:
            await migrate.upgrade(url)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise _database_failed(settings, exc) from None
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


def _is_database_error(exc: BaseException) -> bool:
    """An error of the database or its driver (asyncpg's own errors are not always wrapped)."""
    module = type(exc).__module__
    return isinstance(exc, SQLAlchemyError | OSError) or module.startswith(
        ("asyncpg", "sqlite3", "aiosqlite")
    )


async def _reach_telegram(settings: Settings) -> None:
    """getMe once, through the proxy if one is set: an unreachable Telegram or a rejected token
    is said at once, in one line."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    assert settings.bot_token is not None
    probe = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        request=HTTPXRequest(connect_timeout=10, read_timeout=15, proxy=settings.proxy),
    )
    try:
        async with probe:  # initialize() asks getMe; leaving closes the connection
            pass
    except NetworkError as exc:  # InvalidToken is no NetworkError: main names it
        raise _telegram_failed(settings, exc) from None


async def _database_exists(settings: Settings) -> bool:
    """Whether there is a database to read (a SQLite file is not made just to read it)."""
    path = settings.sqlite_path
    return path is None or await asyncio.to_thread(path.exists)


async def _serve(settings: Settings) -> int:
    from bot import migrate
    from bot.app import build, running

    try:
        await migrate.upgrade(settings.database_url)
        await _reach_telegram(settings)  # before the detector's seconds of training
        deployment = await build(settings)
    except (ImportError, RuntimeError) as exc:
        if settings.proxy is None or "socks" not in str(exc).lower():
            raise
        raise StartupError(
            "TELEGRAM_PROXY_URL: a SOCKS proxy needs python-telegram-bot's socks extra "
            "(pip install 'python-telegram-bot[socks]')"
        ) from None
    except Exception as exc:
        if _is_database_error(exc):
            raise _database_failed(settings, exc) from None
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mode = "webhook" if settings.webhook_url else "long polling"
    if settings.proxy is not None:
        mode += f" through the proxy {settings.proxy_shown}"
    async with AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(running(deployment))
        except (InvalidToken, TokenRejected):
            raise
        except (NetworkError, OSError) as exc:
            raise _telegram_failed(settings, exc) from None
        except Exception as exc:
            if _is_database_error(exc):
                raise _database_failed(settings, exc) from None
            raise
        await _until_stopped(deployment, stop, mode)
    return 0


async def _until_stopped(deployment: Deployment, stop: asyncio.Event, mode: str) -> None:
    """Until SIGTERM or Ctrl-C, or until polling stops for good (a rejected token)."""
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
