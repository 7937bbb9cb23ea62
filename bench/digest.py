"""Benchmark: the digest's computation for an alliance of 100, 1,000 and 10,000 groups.

Question: does computing every group's metrics and tier and every member's behaviour roles grow
close to linearly with the number of groups, on SQLite and on PostgreSQL, and how much memory
does it take? Aggregation is meant to happen in SQL: Python should only see about one row per
group (and per day of the trend), never one per member or activity row.

Data (bench/_health_data.py, generated and bulk-loaded before timing, not timed): N groups of
500 members with 30 days of activity (~40 activity rows per group and day, a reply edge per three
of them, joins, leaves, member counts per day, a few moderation and blacklist rows), in a
database migrated with the project's Alembic migrations (so with the real indexes), ANALYZEd
(VACUUM ANALYZE on PostgreSQL) after loading.

Timed, in a child process per database and size (so sizes do not share caches or memory): what
the scheduled jobs compute for one alliance (the digest, handlers/digest.py, and the daily
upkeep's roles, bot/scheduler.py), in one sequence - group counts for the week, the week before and
the month (three times HealthRepository.group_counts), metrics, comparison, attention order and
tier counts in Python, the month's trend, top inviters, departed core members and influencers
and moderation figures ("other"), then the roles UPDATE and its commit. It runs more than once:
"first" writes every member's roles (every flag changes from the loaded 0: the first digest
after deployment or after the role rules change); "again" (the median of --repeat runs) is the
daily steady state, where almost no role changes (on PostgreSQL the member table is vacuumed in
between, untimed, as autovacuum would after such a mass update). Peak RSS is the child's VmHWM
(its ru_maxrss would include the peak of the parent that forked it); the baseline child only
imports the project and opens the engine (SELECT 1), so peak minus baseline is what the
computation adds. PostgreSQL's own memory (work_mem per sort or hash) is in the server, not in
these figures.

Targets: close to linear growth, i.e. time(10 N) / time(N) close to 10; peak RSS under 300 MB at
10,000 groups. Baseline: linear growth from the smallest size's time (x 10 at 1,000, x 100 at
10,000 groups), measured in the same run.

    python -m bench.digest [--sizes 100,1000,10000] [--databases sqlite,postgresql]
                           [--postgres-url URL] [--repeat 3] [--json bench/results/digest.json]

PostgreSQL: --postgres-url, else $BENCH_POSTGRES_URL or $TEST_POSTGRES_URL, else
postgresql+asyncpg://postgres@127.0.0.1:5432/test; a database bench_digest_<pid>_<groups> is
created there for each size and dropped afterwards. Skipped with a note when unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench._digest_db import database, pg_reachable, prepare
from bench._digest_report import PARTS, growth, linear_baseline, print_report
from bench._health_data import ALLIANCE_ID, NOW, TODAY, TZ
from bench._results import save
from rules.health import Window, attention_order, compare, compute, needs_attention, tier_counts
from rules.roles import BEHAVIOUR_BITS, Role, RoleRules
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.health import HealthRepository
from storage.people import PeopleRepository
from storage.roles import RoleRepository

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_JSON = REPO / "bench" / "results" / "digest.json"
PEAK_TARGET_MB = 300


# -- the measured computation (child process) -------------------------------------------------


class Statements:
    """Counts the SQL statements, the rows they hand to Python, and the time of each."""

    def __init__(self) -> None:
        self.log: list[tuple[float, int, str]] = []
        self._started = 0.0

    def before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def after(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        rows = getattr(cursor, "_rows", None)  # both async adapters buffer the whole result
        fetched = len(rows) if rows is not None else 0
        self.log.append((time.perf_counter() - self._started, fetched, " ".join(statement.split())))

    def take(self) -> list[tuple[float, int, str]]:
        log, self.log = self.log, []
        return log


async def digest(factory: SessionFactory, statements: Statements) -> dict[str, Any]:
    """One alliance's digest computation, as the scheduled job does it, with a lap per part."""
    laps: dict[str, float] = {}
    statements.take()
    started = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        laps[name] = now - mark
        mark = now

    async with factory() as session:
        repo = HealthRepository(session)
        week, month = Window.ending(TODAY, 7), Window.ending(TODAY, 30)
        counts_week = await repo.group_counts(ALLIANCE_ID, week, TZ)
        lap("counts_week")
        counts_prev = await repo.group_counts(ALLIANCE_ID, week.previous(), TZ)
        lap("counts_prev")
        counts_month = await repo.group_counts(ALLIANCE_ID, month, TZ)
        lap("counts_month")
        metrics = [compute(c, week) for c in counts_week]
        before = {c.chat_id: compute(c, week.previous()) for c in counts_prev}
        month_metrics = [compute(c, month) for c in counts_month]
        changes = attention_order(compare(metrics, before))
        tiers = tier_counts(metrics)
        lap("metrics")
        trend = await repo.trend(ALLIANCE_ID, month)
        lap("trend")
        # departed() reads the roles as last computed, and recompute_roles() writes 0 for those
        # who are gone: it has to come first.
        inviters = await PeopleRepository(session).top_inviters(ALLIANCE_ID, TZ, week)
        departed = await PeopleRepository(session).departed(
            ALLIANCE_ID, TZ, week, [Role.CORE, Role.INFLUENCER]
        )
        moderation = await repo.moderation(ALLIANCE_ID, TZ, week)
        lap("other")
        changed = await RoleRepository(session).recompute_roles(
            ALLIANCE_ID, TODAY, TZ, NOW, RoleRules()
        )
        await session.commit()
        lap("roles")
    total = time.perf_counter() - started
    log = statements.take()
    return {
        "seconds": {name: round(laps[name], 4) for name in PARTS} | {"total": round(total, 4)},
        "statements": len(log),
        "rows_to_python": sum(rows for _, rows, _ in log),
        "slowest_statements": [
            {"seconds": round(s, 4), "rows": rows, "sql": sql[:160]}
            for s, rows, sql in sorted(log, reverse=True)[:4]
        ],
        "groups_seen": len(metrics),
        "groups_month": len(month_metrics),
        "tiers": {tier.value: n for tier, n in tiers.items()},
        "needing_attention": sum(needs_attention(c) for c in changes),
        "messages_week": sum(m.messages for m in metrics),
        "trend_days": len(trend),
        "roles_changed": changed,
        "top_inviters": len(inviters),
        "departed": len(departed),
        "ads_removed_week": moderation.ads_removed,
    }


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM where there is one: ru_maxrss carries over the peak of the
    parent that forked us (the loader, with its data) across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


async def child(url: str, repeat: int, baseline: bool) -> dict[str, Any]:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        if baseline:
            async with factory() as session:
                await session.execute(text("SELECT 1"))
            return {"peak_rss_mb": peak_rss_mb(), "numpy_loaded": "numpy" in sys.modules}
        statements = Statements()
        event.listen(engine.sync_engine, "before_cursor_execute", statements.before)
        event.listen(engine.sync_engine, "after_cursor_execute", statements.after)
        first = await digest(factory, statements)
        vacuum = None
        if engine.dialect.name == "postgresql":
            started = time.perf_counter()
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM (ANALYZE) member"))
            vacuum = round(time.perf_counter() - started, 2)
        again = [await digest(factory, statements) for _ in range(repeat)]
        peak = peak_rss_mb()
        event.remove(engine.sync_engine, "before_cursor_execute", statements.before)
        event.remove(engine.sync_engine, "after_cursor_execute", statements.after)
        async with factory() as session:
            roles = await role_census(session)
        return {
            "first": first,
            "again": median_run(again),
            "again_runs": [run["seconds"]["total"] for run in again],
            "vacuum_between_seconds": vacuum,
            "peak_rss_mb": peak,
            "numpy_loaded": "numpy" in sys.modules,
            "members_by_role": roles,
        }
    finally:
        await engine.dispose()


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median total (its parts add up, unlike per-part medians)."""
    ordered = sorted(runs, key=lambda run: run["seconds"]["total"])
    return ordered[(len(ordered) - 1) // 2]


async def role_census(session: Any) -> dict[str, int]:
    counts = ", ".join(
        f"sum(CASE WHEN role_flags & {bit} <> 0 THEN 1 ELSE 0 END)"
        for bit in BEHAVIOUR_BITS.values()
    )
    row = (await session.execute(text(f"SELECT count(*), {counts} FROM member"))).one()
    return {"members": int(row[0])} | {
        role.value: int(n or 0) for role, n in zip(BEHAVIOUR_BITS, row[1:], strict=True)
    }


def run_child(url: str, *, repeat: int = 1, baseline: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.digest", "--child", url, "--repeat", str(repeat)]
    if baseline:
        command.append("--baseline")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="steady-state runs ('again')")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="write the figures here")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        figures = await child(args.child, args.repeat, args.baseline)
        print(json.dumps(figures))
        return figures

    sizes = sorted(int(s) for s in args.sizes.split(","))
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    base_pg = (
        args.postgres_url
        or os.environ.get("BENCH_POSTGRES_URL")
        or os.environ.get("TEST_POSTGRES_URL")
        or DEFAULT_PG
    )
    if "+asyncpg" not in base_pg:
        base_pg = base_pg.replace("postgresql://", "postgresql+asyncpg://", 1)
    versions = {"sqlite": sqlite3.sqlite_version}
    if "postgresql" in kinds:
        version = await pg_reachable(base_pg)
        if version is None:
            kinds.remove("postgresql")
        else:
            versions["postgresql"] = version
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_digest_") as tmp:
        for kind in kinds:
            baseline_rss = None
            for groups in sizes:
                async with database(kind, groups, Path(tmp), base_pg) as url:
                    print(f"{kind}: {groups:,} groups: loading ...", flush=True)
                    loaded = await prepare(kind, url, groups)
                    print(
                        f"{kind}: {groups:,} groups: {loaded['rows']['activity']:,} activity"
                        f" rows loaded in {loaded['load_seconds']} s; computing ...",
                        flush=True,
                    )
                    if baseline_rss is None:
                        baseline_rss = run_child(url, baseline=True)["peak_rss_mb"]
                    figures = run_child(url, repeat=args.repeat)
                print(
                    f"{kind}: {groups:,} groups: first {figures['first']['seconds']['total']} s,"
                    f" again {figures['again']['seconds']['total']} s,"
                    f" peak {figures['peak_rss_mb']} MB",
                    flush=True,
                )
                runs.append(
                    {
                        "database": kind,
                        "groups": groups,
                        **loaded,
                        "baseline_rss_mb": baseline_rss,
                        **figures,
                    }
                )
    result = {
        "benchmark": "digest",
        "question": "digest computation time and memory against the number of groups",
        "sizes": sizes,
        "members_per_group": 500,
        "activity_days": 30,
        "versions": versions,
        "cpus": os.cpu_count(),
        "runs": runs,
        "growth": [g for k in kinds for run in ("first", "again") for g in growth(runs, k, run)],
        "linear_baseline": [
            b for k in kinds for run in ("first", "again") for b in linear_baseline(runs, k, run)
        ],
        "targets": {
            "growth": "time(10 N) / time(N) close to 10",
            "peak_rss_mb_at_10000": PEAK_TARGET_MB,
        },
    }
    print_report(result)
    save(args.json, result)
    return result


if __name__ == "__main__":
    asyncio.run(main())
