"""bench/raid's bot: the full bot in a process of its own, against the sandbox over HTTP.

`python -m bench._raid_bot CONFIG.json` migrates the database, builds the bot (`bot.app.build`)
for the config's sandbox URL and owners, stores the alliance's groups and the members it has
known for a while (as a bot that has run for months knows them), runs it (`bot.app.running`,
long polling) and prints `ready`. On stdin it takes `status` (prints one JSON line: the intake's
backlog, the executor's queue, their counters, the event loop's worst lag since the last status)
and `stop` (stops the bot, then prints one JSON line with its peak memory (VmHWM), the SQL
statements that took the most time in all, and per handled update its chat, message id, kind,
when it was handled (committed), how long that took and how much of it was SQL).

The timings are the benchmark's own stopwatch around the intake's handling of one update and
SQLAlchemy's statement events; the bot's code is not changed.

Its own process, so that its peak memory is the bot's alone and the sandbox does not share its
event loop, as Telegram does not in a deployment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import migrate
from bot.app import Deployment, build, running
from bot.settings import Settings
from storage.groups import AllianceRepository, ChatRepository
from storage.inbox import Received
from storage.models import Member, TgUser, utcnow

TOKEN = "7000000001:SANDBOXSANDBOXSANDBOX"
KNOWN_FOR = timedelta(days=90)


async def seed(d: Deployment, config: dict[str, Any]) -> None:
    now = utcnow()
    async with d.runtime.sessions() as session:
        alliance = (await AllianceRepository(session).list_all())[0]
        for group in config["groups"]:
            await ChatRepository(session).upsert(
                group["id"],
                title=group["title"],
                type="supergroup",
                status="active",
                alliance_id=alliance.id,
            )
        people = {m["user_id"]: m for m in config["members"]}
        await session.execute(
            insert(TgUser),
            [
                {
                    "id": p["user_id"],
                    "first_name": p["first_name"],
                    "username": (p["username"] or "").lower() or None,
                    "updated_at": now,
                }
                for p in people.values()
            ],
        )
        await session.execute(
            insert(Member),
            [
                {
                    "chat_id": m["chat_id"],
                    "user_id": m["user_id"],
                    "status": "member",
                    "first_seen": now - KNOWN_FOR,
                    "joined_at": now - KNOWN_FOR,
                    "messages_seen": 60,
                    "last_message_at": now - timedelta(days=1),
                }
                for m in config["members"]
            ],
        )
        await session.commit()


# The update being handled: its statements, seconds in them, seconds waiting for a connection.
UPDATE_SQL: ContextVar[Tally | None] = ContextVar("UPDATE_SQL", default=None)
EXAMPLES = 6  # heavy updates whose statements are kept, in order, as examples
HEAVY = 15  # statements that make an update heavy


@dataclass
class Tally:
    statements: int = 0
    sql_seconds: float = 0.0
    pool_seconds: float = 0.0
    trace: list[tuple[str, float]] = field(default_factory=list)


class SqlClock:
    """Time spent in each statement and in commits, as the bot's code waits for them (the round
    trip, locks and the loop's turn included): where a slow update's time goes."""

    def __init__(self) -> None:
        self.statements: dict[str, list[float]] = {}
        self._started: dict[int, float] = {}

    def attach(self, d: Deployment) -> Any:
        engine = d.engine.sync_engine

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self._started[id(cursor)] = time.perf_counter()

        def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            began = self._started.pop(id(cursor), None)
            if began is not None:
                self._note(" ".join(statement.split())[:110], time.perf_counter() - began)

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        pool: Any = engine.pool
        take = pool._do_get

        def timed_take() -> Any:
            began = time.perf_counter()
            try:
                return take()
            finally:
                self._note("(waiting for a pooled connection)", time.perf_counter() - began)

        pool._do_get = timed_take
        commit = AsyncSession.commit
        clock = self

        async def timed_commit(session: AsyncSession) -> None:
            began = time.perf_counter()
            try:
                await commit(session)
            finally:
                clock._note("COMMIT", time.perf_counter() - began)

        return patch.object(AsyncSession, "commit", timed_commit)

    def _note(self, key: str, spent: float) -> None:
        self.statements.setdefault(key, []).append(spent)
        tally = UPDATE_SQL.get()
        if tally is not None:  # inside the handling of an update: its own share
            if key.startswith("("):
                tally.pool_seconds += spent
            else:
                tally.statements += 1
                tally.sql_seconds += spent
            tally.trace.append((key[:70], round(spent * 1000, 1)))

    def top(self, count: int = 15) -> list[dict[str, Any]]:
        ranked = sorted(self.statements.items(), key=lambda item: -sum(item[1]))
        return [
            {
                "sql": sql,
                "n": len(times),
                "total_s": round(sum(times), 2),
                "mean_ms": round(1000 * sum(times) / len(times), 2),
                "max_ms": round(1000 * max(times), 1),
            }
            for sql, times in ranked[:count]
        ]


class Stopwatch:
    """Every handled update: chat, message id, kind, when handled (wall clock), seconds taken."""

    def __init__(self) -> None:
        self.handled: list[tuple[Any, ...]] = []
        self.examples: list[dict[str, Any]] = []
        self.worst_lag = 0.0

    def wrap(self, d: Deployment) -> Any:
        """Time the intake's handling of each update: handlers, the inbox mark and the commit
        (after which the executor has the calls it decided)."""
        handle = d.intake._handle

        async def timed(item: Received) -> Any:
            started = time.perf_counter()
            tally = Tally()
            token = UPDATE_SQL.set(tally)
            try:
                return await handle(item)
            finally:
                UPDATE_SQL.reset(token)
                payload = item.payload
                message = payload.get("message") or payload.get("edited_message") or {}
                kind = "member" if "chat_member" in payload else "message" if message else "other"
                self.handled.append(
                    (
                        item.chat_id,
                        message.get("message_id"),
                        kind,
                        time.time(),
                        time.perf_counter() - started,
                        tally.statements,
                        round(tally.sql_seconds, 5),
                        round(tally.pool_seconds, 5),
                    )
                )
                if tally.statements >= HEAVY and len(self.examples) < EXAMPLES:
                    spent_ms = round((time.perf_counter() - started) * 1000, 1)
                    self.examples.append({"ms": spent_ms, "sql_ms": tally.trace})

        return patch.object(d.intake, "_handle", timed)  # the benchmark's stopwatch

    async def watch_loop(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.worst_lag = max(self.worst_lag, time.perf_counter() - before - 0.05)


def status(d: Deployment, watch: Stopwatch) -> dict[str, Any]:
    ex = d.executor
    figures = {
        "intake_backlog": d.intake.backlog,
        "intake": vars(d.intake.stats).copy(),
        "executor_queued": len(ex.lanes),
        "executor": vars(ex.stats).copy(),
        "worst_loop_lag_ms": round(watch.worst_lag * 1000, 1),
        "handled": len(watch.handled),
    }
    watch.worst_lag = 0.0
    return figures


async def serve(config: dict[str, Any]) -> None:
    url = config["database_url"]
    await migrate.upgrade(url)
    settings = Settings(
        _env_file=None,
        database_url=url,
        owner_ids=config["owner_ids"],
        telegram_api_base_url=config["base_url"],
        default_language="zh-CN",
        log_level="WARNING",
    )
    d = await build(settings, token=TOKEN)
    await seed(d, config)
    watch, sql = Stopwatch(), SqlClock()
    loop = asyncio.get_running_loop()
    with watch.wrap(d), sql.attach(d):
        async with running(d):
            lag = asyncio.create_task(watch.watch_loop())
            print("ready", flush=True)
            while True:
                line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
                if line == "status":
                    print(json.dumps(status(d, watch)), flush=True)
                elif line in ("stop", ""):
                    break
            lag.cancel()
    final = {
        "peak_rss_mb": peak_rss_mb(),
        "handled": watch.handled,
        "sql": sql.top(),
        "heavy_update_examples": watch.examples,
    }
    print(json.dumps(final), flush=True)


def peak_rss_mb() -> float | None:
    """VmHWM: this process's own high-water mark (ru_maxrss would count the parent's pages
    at the fork)."""
    try:
        status_text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def main() -> None:
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # as the bot's entry point opts in
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
