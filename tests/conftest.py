"""Shared fixtures: a fresh, migrated database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests run when TEST_POSTGRES_URL is set (e.g. postgresql+asyncpg://postgres@127.0.0.1/test);
without it they skip and say why. Each test gets its own database: a copy of a SQLite file, or a
PostgreSQL database cloned from a template migrated once per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

# python-telegram-bot's coming type for retry_after (a timedelta): the bot reads both, and the
# entry point opts in the same way
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot import migrate

PG_URL = os.environ.get("TEST_POSTGRES_URL", "").strip()
PG_SKIP = "PostgreSQL not configured: set TEST_POSTGRES_URL to run these tests on it"
REPO = Path(__file__).resolve().parent.parent
SPAM_DATA = Path(os.environ.get("SPAM_DATA_DIR", REPO.parent / "shared" / "data" / "spam"))


def _pg_async_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+asyncpg://", 1) if "+asyncpg" not in url else url
    )


async def _pg_admin(sql: str) -> None:
    import asyncpg

    base = make_url(_pg_async_url(PG_URL))
    conn = await asyncpg.connect(
        user=base.username,
        host=base.host,
        port=base.port or 5432,
        password=base.password,
        database=base.database,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url_for(name: str) -> str:
    return make_url(_pg_async_url(PG_URL)).set(database=name).render_as_string(hide_password=False)


class Databases:
    """Makes fresh databases; migrated ones are cloned from a template built on first use."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tag = uuid.uuid4().hex[:8]
        self._sqlite_template: Path | None = None
        self._pg_template: str | None = None
        self._pg_made: list[str] = []

    async def fresh(self, backend: str, *, migrated: bool = True) -> str:
        name = f"gk_{self.tag}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            path = self.tmp / f"{name}.db"
            if migrated:
                if self._sqlite_template is None:
                    template = self.tmp / "template.db"
                    await migrate.upgrade(f"sqlite+aiosqlite:///{template}")
                    self._sqlite_template = template
                shutil.copy(self._sqlite_template, path)
            return f"sqlite+aiosqlite:///{path}"
        if not PG_URL:
            pytest.skip(PG_SKIP)
        if migrated and self._pg_template is None:
            template = f"gk_{self.tag}_template"
            await _pg_admin(f'CREATE DATABASE "{template}"')
            self._pg_made.append(template)
            await migrate.upgrade(_pg_url_for(template))
            self._pg_template = template
        source = f' TEMPLATE "{self._pg_template}"' if migrated else " TEMPLATE template0"
        await _pg_admin(f'CREATE DATABASE "{name}"{source}')
        self._pg_made.insert(0, name)
        return _pg_url_for(name)

    async def drop_all(self) -> None:
        for name in self._pg_made:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pg_made.clear()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    if PG_URL:
        asyncio.run(dbs.drop_all())


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, databases: Databases) -> str:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    return await databases.fresh(request.param)


@pytest.fixture
async def app_db_url(databases: Databases) -> str:
    """The database end-to-end tests run on: PostgreSQL when configured, else SQLite."""
    return await databases.fresh("postgres" if PG_URL else "sqlite")
