"""The inbox: every update, durable before Telegram is told it arrived, then handled from here.

The receiver (long polling or the webhook) writes a batch with `add_new` and commits before it
acknowledges; workers take the pending rows in update order per chat. An update that decided
something is `claim`ed (marked done) in its own transaction, with its effects; one that decided
nothing is marked with the next activity batch (`finish_many`), so a crash re-handles exactly the
updates whose counts were lost with it. The row is also the record that an update was handled:
a redelivered update finds its row and is not handled twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from storage.groups import Repository, affected, table_of, upsert
from storage.models import Inbox


@dataclass(frozen=True, slots=True)
class Received:
    """One update as it came: its id, the chat it belongs to (its order key), the raw JSON."""

    update_id: int
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int = 0


UPDATE_ID_LIMIT = 1 << 63  # the inbox key is a signed 64-bit integer on both databases


def update_id_of(payload: object) -> int | None:
    """The update_id of a received update object, or None when it is no update object: not a
    JSON object, or no whole number from 0 up to what the inbox can hold."""
    value = payload.get("update_id") if isinstance(payload, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 <= value < UPDATE_ID_LIMIT else None


def storable(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The payload as both databases can store it (a NUL character, which PostgreSQL's JSON
    cannot hold, becomes U+FFFD), or a stand-in and the reason when it cannot be stored at all
    (e.g. nested too deep)."""
    try:
        text = json.dumps(payload, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError) as exc:
        return {"unstorable": type(exc).__name__}, f"cannot be stored: {type(exc).__name__}"
    if "\\u0000" in text:  # JSON writes NUL as an escape
        cleaned: dict[str, Any] = json.loads(text.replace("\\u0000", "\\ufffd"))
        return cleaned, None
    return payload, None


class InboxRepository(Repository):
    async def add_new(self, items: Sequence[Received], *, at: datetime) -> set[int]:
        """Store the updates not stored yet; returns the ids that are new."""
        if not items:
            return set()
        stmt = upsert(self.session, table_of(Inbox)).on_conflict_do_nothing(
            index_elements=["update_id"]
        )
        rows: list[dict[str, Any]] = []
        pending_ids: set[int] = set()
        for item in items:
            payload, problem = storable(item.payload)
            if problem is None:
                pending_ids.add(item.update_id)
            rows.append(
                {
                    "update_id": item.update_id,
                    "chat_id": item.chat_id,
                    "payload": payload,
                    "status": "pending" if problem is None else "quarantined",
                    "error": problem,
                    "attempts": 0,
                    "received_at": at,
                    "finished_at": None if problem is None else at,
                }
            )
        result = await self.session.execute(stmt.returning(Inbox.update_id), rows)
        stored = {int(i) for i in result.scalars()}
        return pending_ids & stored

    async def pending(self, *, limit: int, after_id: int | None = None) -> list[Received]:
        query = select(Inbox.update_id, Inbox.chat_id, Inbox.payload, Inbox.attempts).where(
            Inbox.status == "pending"
        )
        if after_id is not None:
            query = query.where(Inbox.update_id > after_id)
        rows = await self.session.execute(query.order_by(Inbox.update_id).limit(limit))
        return [Received(int(u), c, dict(p or {}), int(a or 0)) for u, c, p, a in rows]

    async def count_pending(self) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Inbox).where(Inbox.status == "pending")
        )
        return int(count or 0)

    async def claim(self, update_id: int, *, at: datetime) -> bool:
        """Mark the update handled; False when it already was (the caller rolls back).

        An upsert, so that it also serves workers that read updates from elsewhere (a Redis
        stream): for them the row is written here, with the update's effects, for the first time.
        """
        table = table_of(Inbox)
        stmt = upsert(self.session, table).values(
            update_id=update_id,
            payload={},
            status="done",
            attempts=0,
            received_at=at,
            finished_at=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["update_id"],
            set_={"status": "done", "finished_at": at},
            where=table.c.status == "pending",
        )
        result = await self.session.execute(stmt)
        return bool(affected(result))

    async def finish_many(self, update_ids: Sequence[int], *, at: datetime) -> None:
        if update_ids:
            await self.session.execute(
                update(Inbox)
                .where(Inbox.update_id.in_(list(update_ids)), Inbox.status == "pending")
                .values(status="done", finished_at=at)
            )

    async def record_failure(self, update_id: int, error: str) -> None:
        await self.session.execute(
            update(Inbox)
            .where(Inbox.update_id == update_id)
            .values(attempts=Inbox.attempts + 1, error=error[:4000])
        )

    async def quarantine(self, update_id: int, error: str, *, at: datetime) -> None:
        await self.session.execute(
            update(Inbox)
            .where(Inbox.update_id == update_id)
            .values(status="quarantined", error=error[:4000], finished_at=at)
        )

    async def quarantined(self, *, since: datetime, chat_ids: Sequence[int]) -> int:
        """Updates set aside since `since` in these chats, or in no known chat."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(Inbox)
            .where(
                Inbox.status == "quarantined",
                Inbox.received_at >= since,
                or_(Inbox.chat_id.in_(list(chat_ids)), Inbox.chat_id.is_(None)),
            )
        )
        return int(count or 0)

    async def prune(self, *, done_before: datetime, quarantined_before: datetime) -> int:
        result = await self.session.execute(
            delete(Inbox).where(
                or_(
                    (Inbox.status == "done") & (Inbox.received_at < done_before),
                    (Inbox.status == "quarantined") & (Inbox.received_at < quarantined_before),
                )
            )
        )
        return affected(result)

    async def status_of(self, update_id: int) -> str | None:
        row = await self.session.get(Inbox, update_id)
        return row.status if row is not None else None
