"""The outbox: Bot API calls that change a chat, queued in the decision's own transaction.

`OutboxRepository.add` is what handlers and jobs call; the claim/finish methods are the
executor's. A row moves pending -> sending -> done | failed. A row found in `sending` at start
was interrupted mid-call and is handed out again first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, PostedMessage, utcnow

# The kinds the executor knows; each maps to one Bot API method.
KINDS = frozenset(
    {
        "send_message",
        "send_photo",
        "send_document",
        "edit_message_text",
        "delete_message",
        "ban_chat_member",
        "unban_chat_member",
        "restrict_chat_member",
        "leave_chat",
        "approve_chat_join_request",
        "decline_chat_join_request",
    }
)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        kind: str,
        chat_id: int,
        payload: dict[str, Any] | None = None,
        *,
        not_before: datetime | None = None,
    ) -> Outbox:
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        row = Outbox(
            kind=kind,
            chat_id=chat_id,
            payload=payload or {},
            not_before=not_before or utcnow(),
            status="pending",
            attempts=0,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def list_ready(self, *, now: datetime, limit: int) -> list[Outbox]:
        """Rows due now, oldest first, including interrupted ones."""
        rows = await self.session.scalars(
            select(Outbox)
            .where(Outbox.status.in_(("pending", "sending")), Outbox.not_before <= now)
            .order_by(Outbox.id)
            .limit(limit)
        )
        return list(rows)

    async def retrying_heads(self, *, now: datetime) -> dict[int, int]:
        """Per chat, the oldest row waiting to be retried: later rows of that chat wait behind it."""
        rows = await self.session.execute(
            select(Outbox.chat_id, func.min(Outbox.id))
            .where(Outbox.status == "pending", Outbox.attempts > 0, Outbox.not_before > now)
            .group_by(Outbox.chat_id)
        )
        return {int(chat_id): int(row_id) for chat_id, row_id in rows.all()}

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Outbox.not_before)).where(Outbox.status.in_(("pending", "sending")))
        )

    async def mark_sending(self, row_id: int) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(status="sending", attempts=Outbox.attempts + 1)
        )

    async def mark_done(self, row_id: int, result: dict[str, Any] | None, *, at: datetime) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(status="done", result=result, finished_at=at, last_error=None)
        )

    async def mark_failed(self, row_id: int, error: str, *, at: datetime) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(status="failed", last_error=error[:2000], finished_at=at)
        )

    async def reschedule(self, row_id: int, *, not_before: datetime, error: str | None) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(status="pending", not_before=not_before, last_error=error)
        )

    async def retarget(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its queued actions follow it."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.chat_id == old_chat_id, Outbox.status.in_(("pending", "sending")))
            .values(chat_id=new_chat_id)
        )

    async def get(self, row_id: int) -> Outbox | None:
        return await self.session.get(Outbox, row_id)

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Outbox.status, func.count()).group_by(Outbox.status)
        )
        return {status: int(n) for status, n in rows.all()}


class PostedMessageRepository:
    """The bot's current message of a kind per chat (e.g. "welcome"), replaced when reposted."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, chat_id: int, key: str, message_id: int, *, at: datetime) -> int | None:
        """Store the new message id and return the one it replaces, if any."""
        row = await self.session.get(PostedMessage, (chat_id, key))
        if row is None:
            self.session.add(PostedMessage(chat_id=chat_id, key=key, message_id=message_id, posted_at=at))
            await self.session.flush()
            return None
        previous = row.message_id
        row.message_id = message_id
        row.posted_at = at
        await self.session.flush()
        return previous if previous != message_id else None
