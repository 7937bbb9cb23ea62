"""Migrations go up, down and up again, and the models never drift from them."""

import pytest
from sqlalchemy import inspect

from bot import migrate
from storage.db import create_engine
from storage.models import Base


async def _tables(url):
    engine = create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_migrations_upgrade_downgrade_upgrade(databases, backend):
    url = await databases.fresh(backend, migrated=False)
    await migrate.upgrade(url)
    assert await _tables(url) == set(Base.metadata.tables)
    await migrate.downgrade(url, "base")
    assert await _tables(url) == set()
    await migrate.upgrade(url)
    assert await _tables(url) == set(Base.metadata.tables)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_migrations_match_models(databases, backend):
    url = await databases.fresh(backend, migrated=False)
    await migrate.upgrade(url)
    assert await migrate.drift(url) == []
