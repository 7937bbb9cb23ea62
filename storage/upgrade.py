"""Moving a group's rows to its supergroup id, when Telegram upgrades a group.

Promises: after `move_rows`, no row of the table is left under the old id, and nothing is
counted twice. Rows the supergroup already has (it spoke before the upgrade was handled) are
merged with the group's: counters are added, the earliest first sighting and the latest message
are kept, history the supergroup's row lacks (who invited, when they joined, roles) comes from
the group's row, and everything else stays as the supergroup's row has it. Rows with no clash
move in one statement; only the clashing ones (a handful, written in the seconds before the
upgrade) are merged one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

ADDED = frozenset(
    {"messages", "replies_received", "reactions_received", "replies", "messages_seen"}
)
EARLIEST = frozenset({"first_seen"})
LATEST = frozenset({"last_message_at"})
HISTORY = frozenset({"joined_at", "invited_by", "invite_link"})  # the group's, if the new lacks it
BITS = frozenset({"role_flags"})
UNION = frozenset({"roles"})  # JSON objects: the supergroup's keys win


async def move_rows(
    session: AsyncSession, model: type[Base], name: str, old_id: int, new_id: int
) -> int:
    """Move every row of `model` whose column `name` is `old_id` to `new_id`; the number of
    rows merged into rows the supergroup already had."""
    table = cast(Table, model.__table__)
    column = table.c[name]
    others = [c for c in table.primary_key.columns if c.name != name]
    if len(others) == len(table.primary_key.columns):  # the group id is no part of the key
        await session.execute(update(table).where(column == old_id).values({name: new_id}))
        return 0
    taken = table.alias("taken")
    clash = exists().where(taken.c[name] == new_id, *[taken.c[c.name] == c for c in others])
    rows = (await session.execute(select(table).where(column == old_id, clash))).mappings().all()
    for row in rows:
        key = [c == row[c.name] for c in others]
        mine = (await session.execute(select(table).where(column == new_id, *key))).mappings()
        current = mine.one()
        merged = merge(dict(current), dict(row))
        if merged:
            await session.execute(update(table).where(column == new_id, *key).values(merged))
        await session.execute(delete(table).where(column == old_id, *key))
    await session.execute(update(table).where(column == old_id, ~clash).values({name: new_id}))
    return len(rows)


def merge(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of the supergroup's row that change when the group's row joins it."""
    changed: dict[str, Any] = {}
    for name, mine in new.items():
        theirs = old.get(name)
        if theirs is None:
            continue
        if name in ADDED:
            value = (mine or 0) + theirs
        elif name in EARLIEST:
            value = min(mine, theirs) if mine is not None else theirs
        elif name in LATEST:
            value = max(mine, theirs) if mine is not None else theirs
        elif name in HISTORY:
            value = theirs if mine is None else mine
        elif name in BITS:
            value = (mine or 0) | theirs
        elif name in UNION:
            value = {**theirs, **(mine or {})}
        else:
            continue
        if value != mine:
            changed[name] = value
    return changed
