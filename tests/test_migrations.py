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


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_migration_0004_knows_which_entries_owners_made(databases, backend):
    from sqlalchemy import text

    url = await databases.fresh(backend, migrated=False)
    await migrate.upgrade(url, "0003")
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO alliance (id, name, owner_ids, timezone, language, created_at) "
                "VALUES (1, 'a', '[42]', 'UTC', 'en', CURRENT_TIMESTAMP)"
            )
        )
        for user_id, by in ((100, 42), (101, 7), (102, None)):
            await conn.execute(
                text(
                    "INSERT INTO blacklist (alliance_id, user_id, reason, evidence, added_by, created_at) "
                    "VALUES (1, :u, 'x', '{}', :b, CURRENT_TIMESTAMP)"
                ),
                {"u": user_id, "b": by},
            )
    await engine.dispose()
    await migrate.upgrade(url)
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT user_id, added_as FROM blacklist ORDER BY user_id"))
        ).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [(100, "owner"), (101, "admin"), (102, "auto")]
