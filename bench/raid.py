"""Benchmark: an ad raid on one group while the others go on, against the sandbox's limits.

The full bot (`bench._raid_bot`: `bot.app.build`/`running` in a process of its own, long polling)
runs against the sandbox Bot API over HTTP on 127.0.0.1, which enforces Telegram's limits (30
messages a second, 20 a minute in a group, 429 past them). Twelve groups of one alliance: the one
to be raided (150 members), ten chatty ones (about one message a second each) and a quiet one
where an admin sends `/warns @member` every 5 s. The members are known to the bot from before.

Two phases in one run, each watched for 90 s:
- baseline: every group but the quiet one chats, and the admin's commands; no raid;
- raid: 500 accounts join the group in its first 42 s (some added by three inviter accounts)
  and, with its members, write 5,000 messages there within 60 s; about a fifth are ads (made up
  in `bench._raid_plan`, Chinese and English), one to three per raider among ordinary lines, so
  that the warn ladder blacklists repeaters; the chatty groups and the commands go on; then 30 s
  more are watched.

Reported, from the sandbox's own records: how long each ad stayed visible (p50/p99), the share
of ads removed by the raid's end and 30 s later, raiders banned, what the bot posted in the raided
group (most in any minute), the quiet group's command latency (p50/p99) with and without the
raid, and the bot's peak memory (VmHWM of its process). Targets: every ad removed within 30 s of
the raid's end, ad visible p99 <= 10 s, quiet command p99 <= 2 x the baseline's, at most 20 bot
messages a minute in the raided group, peak memory under 400 MB. A target missed is printed and
kept in the JSON's `targets`; the exit code is 0 either way (it is a measurement).

`--scale` shrinks counts and durations together (0.1: 50 joins and 500 messages in 6 s, each
phase watched 9 s), keeping the rates. PostgreSQL: --postgres-url, else $BENCH_POSTGRES_URL or
$TEST_POSTGRES_URL, else postgresql+asyncpg://postgres@127.0.0.1:5432/test; a database
bench_raid_<pid> is created there and dropped afterwards; skipped with a note when unreachable.

    python -m bench.raid [--db sqlite|postgres|both] [--scale 1.0] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench._digest_db import pg_dsn, pg_reachable, pg_url
from bench._raid_plan import Plan, make_plan
from bench._raid_report import command_latency, percentile, raid_figures, table, targets
from bench._raid_world import Player, Seen, Watch, existing_members, make_world
from bench._results import save
from sandbox.server import SandboxServer
from sandbox.world import World

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
FINISH_SECONDS = 60.0  # at most this long (x scale) after the watch for the last ads to go


@contextlib.asynccontextmanager
async def database(kind: str, tmp: Path, base_pg: str) -> AsyncIterator[str]:
    """A fresh, empty database (migrated by the bot's process); removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'raid.db'}"
        return
    import asyncpg

    name = f"bench_raid_{os.getpid()}"
    admin = await asyncpg.connect(pg_dsn(base_pg))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield pg_url(base_pg, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class BotProcess:
    """The bot in its own process: started, asked for its status, stopped."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.samples: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, config: Path) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._raid_bot",
            str(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,
        )
        bot = cls(proc)
        line = await asyncio.wait_for(bot._line(), timeout=180)
        if line != "ready":
            raise SystemExit(f"the bot's process did not start: {line!r}")
        return bot

    async def _line(self) -> str:
        assert self.proc.stdout is not None
        return (await self.proc.stdout.readline()).decode().strip()

    async def _ask(self, word: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{word}\n".encode())
        await self.proc.stdin.drain()
        answer: dict[str, Any] = json.loads(await self._line())
        return answer

    @contextlib.asynccontextmanager
    async def sampling(self, phase: str, world: World) -> AsyncIterator[None]:
        """Every second while inside: the bot's status and resident memory, and how many
        updates Telegram holds for it."""
        done = asyncio.Event()
        started = time.time()

        async def sample() -> None:
            while not done.is_set():
                figures = await self._ask("status")
                figures.update(
                    phase=phase,
                    at=round(time.time() - started, 1),
                    rss_mb=self.rss_mb(),
                    telegram_pending=len(world.updates),
                )
                self.samples.append(figures)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=1.0)

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            done.set()
            await task

    def rss_mb(self) -> float | None:
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        line = next((s for s in text.splitlines() if s.startswith("VmRSS:")), None)
        return round(int(line.split()[1]) / 1024, 1) if line else None

    async def stop(self) -> dict[str, Any]:
        answer = await asyncio.wait_for(self._ask("stop"), timeout=120)
        await self.proc.wait()
        return answer


async def phase(world: World, bot: BotProcess, plan: Plan, name: str) -> tuple[Seen, float, int]:
    """Play one phase and watch it to its end; returns what was seen, its start (wall clock)
    and the journal index where it began."""
    seen, since = Seen(), len(world.journal)
    steps = plan.baseline if name == "baseline" else plan.raid
    started = await Player(world).play(steps, seen)
    await asyncio.sleep(max(0.0, started + plan.phase_seconds - time.time()))
    return seen, started, since


async def finish_raid(world: World, seen: Seen, plan: Plan) -> float:
    """Wait (bounded) until every posted ad is gone; returns how long that took past the watch."""
    raided = world.chat("raided")
    waited = time.time()
    deadline = waited + FINISH_SECONDS * plan.scale
    while time.time() < deadline:
        if all(raided.messages[m].deleted for _, m in seen.ads):
            break
        await world.changed(0.2)
    return round(time.time() - waited, 1)


async def run(kind: str, plan: Plan, base_pg: str) -> dict[str, Any]:
    world = make_world(plan)
    with tempfile.TemporaryDirectory() as tmp:
        async with database(kind, Path(tmp), base_pg) as url, SandboxServer(world) as server:
            config = Path(tmp) / "bot.json"
            config.write_text(
                json.dumps(
                    {
                        "database_url": url,
                        "base_url": server.base_url,
                        "owner_ids": world.owner_ids,
                        "groups": [
                            {"id": world.chat(k).id, "title": world.chat(k).title}
                            for k in plan.groups
                        ],
                        "members": existing_members(world, plan),
                    }
                ),
                encoding="utf-8",
            )
            clock = Clock()
            bot = await BotProcess.start(config)
            await world.settle(quiet=0.5, timeout=60)
            clock.lap("bot_start")
            async with bot.sampling("baseline", world):
                base_seen, _, base_since = await phase(world, bot, plan, "baseline")
                clock.lap("baseline")
                await world.settle(quiet=0.5, timeout=120)
                clock.lap("settle")
            base_watch = Watch(world, base_since)
            async with bot.sampling("raid", world):
                raid_seen, started, raid_since = await phase(world, bot, plan, "raid")
                clock.lap("raid")
                finished_after = await finish_raid(world, raid_seen, plan)
                clock.lap("finish")
            final = await bot.stop()
            clock.lap("bot_stop")
    watch = Watch(world, raid_since)
    handled = {(row[0], row[1]): row[3] for row in final["handled"] if row[0] and row[1]}
    raid = raid_figures(world, plan, raid_seen, watch, started=started, handled=handled)
    raid["finish_wait_seconds"] = finished_after
    base_cmd = command_latency(world, base_seen, base_watch, handled)
    raid_cmd = command_latency(world, raid_seen, watch, handled)
    ratio = (
        round(raid_cmd["p99"] / base_cmd["p99"], 2)
        if raid_cmd["p99"] is not None and base_cmd["p99"]
        else None
    )
    result: dict[str, Any] = {
        "benchmark": "raid",
        "database": kind,
        "scale": plan.scale,
        "raid_seconds": plan.raid_seconds,
        "after_seconds": plan.after_seconds,
        "raid": raid,
        "quiet_commands": {"baseline": base_cmd, "raid": raid_cmd, "ratio_p99": ratio},
        "memory": {
            "peak_rss_mb": final["peak_rss_mb"],
            "rss_mb_by_phase": _peaks(bot.samples, "rss_mb"),
        },
        "bot": _bot_figures(
            bot.samples, final["handled"], world.chat("raided").id, raid_seen, plan
        ),
        "sql_by_total_time": final["sql"],
        "heavy_update_examples": final["heavy_update_examples"],
        "calls_during_raid": watch.calls,
        "answers_429": world.too_many_requests,
        "wall_seconds": clock.laps,
    }
    result["targets"] = targets(result)
    return result


class Clock:
    """Where the run's wall time went."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 1)
        self._last = now


def _peaks(samples: list[dict[str, Any]], key: str) -> dict[str, Any]:
    peaks: dict[str, Any] = {}
    for s in samples:
        if s.get(key) is not None:
            peaks[s["phase"]] = max(peaks.get(s["phase"], 0), s[key])
    return peaks


def _bot_figures(
    samples: list[dict[str, Any]], handled: list[list[Any]], raided: int, seen: Seen, plan: Plan
) -> dict[str, Any]:
    """Inside the bot: its backlog and queue at their worst, and how long the raided group's
    updates took to handle, by kind (one chat's updates are handled one after another)."""
    raiders = set(plan.raider_names)
    took: dict[str, list[float]] = {}
    sql: dict[str, list[float]] = {}
    for chat_id, message_id, kind, _, spent, statements, in_sql, in_pool in handled:
        if chat_id != raided:
            continue
        key = (chat_id, message_id)
        if kind == "member":
            what = "member_update"
        elif key in seen.ads:
            what = "ad"
        elif key in seen.authors:
            what = "raider_line" if seen.authors[key] in raiders else "member_line"
        else:
            what = "service_or_other"
        took.setdefault(what, []).append(spent)
        tally = sql.setdefault(what, [0.0, 0.0, 0.0])
        tally[0], tally[1], tally[2] = tally[0] + statements, tally[1] + in_sql, tally[2] + in_pool
    last = samples[-1] if samples else {}
    return {
        "telegram_pending_max": _peaks(samples, "telegram_pending"),
        "intake_backlog_max": _peaks(samples, "intake_backlog"),
        "executor_queued_max": _peaks(samples, "executor_queued"),
        "worst_loop_lag_ms": _peaks(samples, "worst_loop_lag_ms"),
        "raided_updates_ms": {
            what: {
                "n": len(values),
                "p50": round(1000 * (percentile(values, 0.5) or 0), 1),
                "p99": round(1000 * (percentile(values, 0.99) or 0), 1),
                "total_s": round(sum(values), 2),
                # per update: statements, seconds in them, seconds waiting for a connection
                "statements_mean": round(sql[what][0] / len(values), 1),
                "sql_ms_mean": round(1000 * sql[what][1] / len(values), 1),
                "pool_wait_ms_mean": round(1000 * sql[what][2] / len(values), 1),
            }
            for what, values in sorted(took.items())
        },
        "executor": last.get("executor"),
        "intake": last.get("intake"),
        "timeline": [
            {
                k: s.get(k)
                for k in (
                    "phase",
                    "at",
                    "telegram_pending",
                    "intake_backlog",
                    "executor_queued",
                    "rss_mb",
                )
            }
            for s in samples
        ],
    }


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    base_pg = (
        args.postgres_url
        or os.environ.get("BENCH_POSTGRES_URL")
        or os.environ.get("TEST_POSTGRES_URL")
        or DEFAULT_PG
    )
    if "+asyncpg" not in base_pg:
        base_pg = base_pg.replace("postgresql://", "postgresql+asyncpg://", 1)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    runs: list[dict[str, Any]] = []
    for kind in kinds:
        if kind == "postgres" and await pg_reachable(base_pg) is None:
            continue
        result = await run(kind, make_plan(args.scale), base_pg)
        print(table(result), flush=True)
        runs.append(result)
    summary = {"benchmark": "raid", "scale": args.scale, "runs": runs}
    save(args.json, summary)
    return summary


if __name__ == "__main__":
    asyncio.run(main())
