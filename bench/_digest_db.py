"""bench/digest's databases: a fresh migrated database per size (SQLite file or PostgreSQL
database), bulk-loaded from bench._health_data's seeded generator and analysed. Loading is
timed for information only."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


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
        print(
            f"note: PostgreSQL at {make_url(url).render_as_string()} not reachable ({error});"
            " skipping it"
        )
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
            await asyncio.to_thread(_remove_sqlite, path)
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


def _remove_sqlite(path: Path) -> None:
    """The database file and the journal files beside it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


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
        size = await asyncio.to_thread(os.path.getsize, make_url(url).database or "")
        return round(size / 2**20, 1)
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
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
