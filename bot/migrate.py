"""Schema migrations from code: upgrade, downgrade and drift checks, on an async engine."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.models import Base


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    return config


async def _run(url: str, action: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:

            def go(sync_connection: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                getattr(command, action)(config, revision)

            await connection.run_sync(go)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)


async def drift(url: str) -> list[object]:
    """Differences between the models and the migrated schema (empty when they agree)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def go(sync_connection: Connection) -> list[object]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return list(compare_metadata(context, Base.metadata))

            return await connection.run_sync(go)
    finally:
        await engine.dispose()


async def make_revision(url: str, message: str) -> None:
    """Autogenerate a migration against an up-to-date database (developer tool)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:

            def go(sync_connection: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.revision(config, message=message, autogenerate=True)

            await connection.run_sync(go)
    finally:
        await engine.dispose()
