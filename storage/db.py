"""Engine and session factory, created at start from the database URL (never at import).

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the executor, the scheduler
and update handlers can share one file. PostgreSQL is reached through asyncpg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.pool import ConnectionPoolEntry

SessionFactory = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for `url`, making the SQLite file's folder if needed."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that note what they write (`written`), for dropping cached copies of it.

    The listeners belong to a Session class made for this factory, so nothing is registered on
    SQLAlchemy's own classes and two factories never see each other's sessions.
    """
    tracked = type("TrackedSession", (Session,), {})
    event.listen(tracked, "after_flush", _flushed)
    event.listen(tracked, "do_orm_execute", _executed)
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=tracked)


@dataclass
class Written:
    """What a session wrote, for dropping cached copies of it (`services.state.StateCache`).

    `rows` are the (table, primary key) of every ORM object flushed; `tables` the tables of DML
    statements (whose rows are unknown); `unknown` is set by a DML statement whose table could
    not be told, and means "anything may have changed".
    """

    rows: set[tuple[str, tuple[Any, ...]]] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    unknown: bool = False


def _pk_keys(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)


def _written(session: Session) -> Written:
    found = session.info.get("written")
    if found is None:
        found = session.info["written"] = Written()
    assert isinstance(found, Written)
    return found


def _flushed(session: Session, _context: object) -> None:
    session.info["wrote"] = True
    rows = _written(session).rows
    # Still the pre-flush lists here; primary keys are set (inserted rows have theirs by now).
    for obj in chain(session.new, session.dirty, session.deleted):
        state = inspect(obj)
        values = state.dict
        mapper = state.mapper
        table = mapper.local_table.name
        rows.add((table, tuple(values.get(k) for k in _pk_keys(mapper))))
        if state.identity is not None:  # the key it was loaded with, should the key change
            rows.add((table, tuple(state.identity)))


def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        session = state.session
        session.info["wrote"] = True
        table = getattr(getattr(state.statement, "table", None), "name", None)
        if isinstance(table, str):
            _written(session).tables.add(table)
        else:
            _written(session).unknown = True


def has_written(session: AsyncSession) -> bool:
    """Whether the session's current unit of work wrote anything (flush or DML statement)."""
    return bool(session.sync_session.info.get("wrote")) or bool(
        session.new or session.dirty or session.deleted
    )


def written(session: AsyncSession) -> Written:
    """What the session has written so far (flushed objects and DML statements)."""
    return _written(session.sync_session)
