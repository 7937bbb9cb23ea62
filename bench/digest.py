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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from bench._health_data import ALLIANCE_ID, NOW, TODAY, TZ
from rules.health import Window, attention_order, compare, compute, needs_attention, tier_counts
from rules.roles import BEHAVIOUR_BITS, Role, RoleRules
from storage.db import SessionFactory, create_engine, create_session_factory
from storage.health import HealthRepository

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_JSON = REPO / "bench" / "results" / "digest.json"
PARTS = ("counts_week", "counts_prev", "counts_month", "metrics", "trend", "other", "roles")
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
        inviters = await repo.top_inviters(ALLIANCE_ID, TZ, week)
        departed = await repo.departed(ALLIANCE_ID, TZ, week, [Role.CORE, Role.INFLUENCER])
        moderation = await repo.moderation(ALLIANCE_ID, TZ, week)
        lap("other")
        changed = await repo.recompute_roles(ALLIANCE_ID, TODAY, TZ, NOW, RoleRules())
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
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- databases and data (parent process, not timed except for information) -------------------


def pg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_url(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def pg_reachable(url: str) -> str | None:
    """The server's version, or None when it cannot be reached."""
    import asyncpg

    try:
        conn = await asyncpg.connect(pg_dsn(url), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        print(f"note: PostgreSQL at {make_url(url).render_as_string()} not reachable ({error});"
              " skipping it")
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@asynccontextmanager
async def database(kind: str, groups: int, tmp: Path, base_pg: str) -> AsyncIterator[str]:
    """A fresh, empty database for one size; removed afterwards."""
    if kind == "sqlite":
        path = tmp / f"digest_{groups}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import asyncpg

    name = f"bench_digest_{os.getpid()}_{groups}"
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


def load_sqlite(url: str, groups: int) -> dict[str, int]:
    from bench._health_data import COLUMNS, Codec, generate

    counts = dict.fromkeys(COLUMNS, 0)
    conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-400000")  # the loader's, not the measured process's
        conn.execute("BEGIN")
        for batch in generate(groups, Codec("sqlite")):
            for table, rows in batch.items():
                if rows:
                    columns = COLUMNS[table]
                    marks = ", ".join("?" * len(columns))
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                    )
                    counts[table] += len(rows)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return counts


async def load_postgres(url: str, groups: int) -> dict[str, int]:
    import asyncpg

    from bench._health_data import COLUMNS, Codec, generate

    counts = dict.fromkeys(COLUMNS, 0)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        for batch in generate(groups, Codec("postgresql")):
            async with conn.transaction():
                for table, rows in batch.items():
                    if rows:
                        await conn.copy_records_to_table(
                            table, records=rows, columns=list(COLUMNS[table])
                        )
                        counts[table] += len(rows)
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return counts


async def database_mb(kind: str, url: str) -> float:
    if kind == "sqlite":
        return round(Path(make_url(url).database or "").stat().st_size / 2**20, 1)
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return round(size / 2**20, 1)


async def prepare(kind: str, url: str, groups: int) -> dict[str, Any]:
    """Migrate with the project's migrations, then load and analyze; returns row counts."""
    from bot import migrate

    started = time.perf_counter()
    await migrate.upgrade(url)
    if kind == "sqlite":
        rows = await asyncio.to_thread(load_sqlite, url, groups)
    else:
        rows = await load_postgres(url, groups)
    return {
        "rows": rows,
        "load_seconds": round(time.perf_counter() - started, 1),
        "database_mb": await database_mb(kind, url),
    }


# -- report -----------------------------------------------------------------------------------


def growth(results: list[dict[str, Any]], kind: str, run: str) -> list[dict[str, Any]]:
    mine = sorted((r for r in results if r["database"] == kind), key=lambda r: r["groups"])
    out = []
    for small, big in zip(mine, mine[1:], strict=False):
        a, b = small[run]["seconds"], big[run]["seconds"]
        out.append({
            "database": kind,
            "run": run,
            "from": small["groups"],
            "to": big["groups"],
            "size_ratio": big["groups"] / small["groups"],
            "time_ratio": {part: round(b[part] / a[part], 1) if a[part] else None
                           for part in (*PARTS, "total")},
        })
    return out


def linear_baseline(results: list[dict[str, Any]], kind: str, run: str) -> list[dict[str, Any]]:
    mine = sorted((r for r in results if r["database"] == kind), key=lambda r: r["groups"])
    if not mine:
        return []
    base = mine[0]
    per_group = base[run]["seconds"]["total"] / base["groups"]
    return [
        {"database": kind, "run": run, "groups": r["groups"],
         "linear_seconds": round(per_group * r["groups"], 3),
         "measured_seconds": r[run]["seconds"]["total"],
         "measured_over_linear": round(r[run]["seconds"]["total"] / (per_group * r["groups"]), 2)}
        for r in mine
    ]


def print_report(result: dict[str, Any]) -> None:
    runs = result["runs"]
    print()
    print("rows loaded (not timed):")
    for r in runs:
        rows = ", ".join(f"{t} {n:,}" for t, n in r["rows"].items() if n)
        print(f"  {r['database']:10} {r['groups']:>6,} groups: {rows};"
              f" load {r['load_seconds']} s, {r['database_mb']:,} MB")
    head = (f"{'database':10} {'run':5} {'groups':>6} {'activity':>10} "
            + " ".join(f"{p.replace('counts_', 'cnt '):>9}" for p in PARTS)
            + f" {'total s':>8} {'us/group':>9} {'peak MB':>8} {'stmts':>5} {'py rows':>8}")
    print()
    print("seconds per part of the digest computation:")
    print(head)
    for r in runs:
        for run in ("first", "again"):
            s = r[run]["seconds"]
            print(f"{r['database']:10} {run:5} {r['groups']:>6,} {r['rows']['activity']:>10,} "
                  + " ".join(f"{s[p]:>9.3f}" for p in PARTS)
                  + f" {s['total']:>8.2f} {s['total'] / r['groups'] * 1e6:>9,.0f}"
                  f" {r['peak_rss_mb']:>8} {r[run]['statements']:>5}"
                  f" {r[run]['rows_to_python']:>8,}")
    print()
    print("growth, time(bigger) / time(smaller) (linear = the size ratio):")
    for g in result["growth"]:
        ratios = "  ".join(
            f"{p.replace('counts_', 'cnt ')} {v}" for p, v in g["time_ratio"].items()
        )
        print(f"  {g['database']:10} {g['run']:5} {g['from']:>6,} -> {g['to']:>6,}"
              f" (x{g['size_ratio']:.0f}): {ratios}")
    print()
    print("against the linear baseline (smallest size's time per group x groups):")
    for b in result["linear_baseline"]:
        print(f"  {b['database']:10} {b['run']:5} {b['groups']:>6,}: linear {b['linear_seconds']}"
              f" s, measured {b['measured_seconds']} s, ratio {b['measured_over_linear']}")
    print()
    print("peak RSS of the computing process (target < 300 MB at 10,000 groups):")
    for r in runs:
        print(f"  {r['database']:10} {r['groups']:>6,}: peak {r['peak_rss_mb']} MB, baseline"
              f" {r['baseline_rss_mb']} MB, computation adds"
              f" {round(r['peak_rss_mb'] - r['baseline_rss_mb'], 1)} MB")
    for r in runs:
        if r["groups"] == max(x["groups"] for x in runs if x["database"] == r["database"]):
            print(f"\nslowest statements, {r['database']} {r['groups']:,} groups, run 'again':")
            for s in r["again"]["slowest_statements"]:
                print(f"  {s['seconds']:8.3f} s  {s['rows']:>6} rows  {s['sql'][:110]}")


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
    base_pg = (args.postgres_url or os.environ.get("BENCH_POSTGRES_URL")
               or os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG)
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
                    print(f"{kind}: {groups:,} groups: {loaded['rows']['activity']:,} activity"
                          f" rows loaded in {loaded['load_seconds']} s; computing ...", flush=True)
                    if baseline_rss is None:
                        baseline_rss = run_child(url, baseline=True)["peak_rss_mb"]
                    figures = run_child(url, repeat=args.repeat)
                print(f"{kind}: {groups:,} groups: first {figures['first']['seconds']['total']} s,"
                      f" again {figures['again']['seconds']['total']} s,"
                      f" peak {figures['peak_rss_mb']} MB", flush=True)
                runs.append({"database": kind, "groups": groups, **loaded,
                             "baseline_rss_mb": baseline_rss, **figures})
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
        "linear_baseline": [b for k in kinds for run in ("first", "again")
                            for b in linear_baseline(runs, k, run)],
        "targets": {"growth": "time(10 N) / time(N) close to 10",
                    "peak_rss_mb_at_10000": PEAK_TARGET_MB},
    }
    print_report(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    asyncio.run(main())
