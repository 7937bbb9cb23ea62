"""The outbox: Bot API calls that change a chat, queued in the decision's own transaction.

`OutboxRepository.add` is what handlers and jobs call; the claim/finish methods are the
executor's. A row moves pending -> sending -> done | failed. A row found in `sending` at start
was interrupted mid-call and is handed out again first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from storage.groups import Repository
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


class OutboxRepository(Repository):
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
        """Per chat, the oldest row waiting for a retry: later rows of that chat wait behind it."""
        rows = await self.session.execute(
            select(Outbox.chat_id, func.min(Outbox.id))
            .where(Outbox.status == "pending", Outbox.attempts > 0, Outbox.not_before > now)
            .group_by(Outbox.chat_id)
        )
        return {int(chat_id): int(row_id) for chat_id, row_id in rows.all()}

    async def next_due(self) -> datetime | None:
        due: datetime | None = await self.session.scalar(
            select(func.min(Outbox.not_before)).where(Outbox.status.in_(("pending", "sending")))
        )
        return due

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

    async def find_pending_tracked(
        self, chat_id: int, key: str, *, after: datetime
    ) -> Outbox | None:
        """A queued message of a tracked kind (e.g. the welcome) not due before `after`."""
        rows = await self.session.scalars(
            select(Outbox)
            .where(
                Outbox.chat_id == chat_id,
                Outbox.status == "pending",
                Outbox.attempts == 0,
                Outbox.not_before > after,
                Outbox.kind == "send_message",
            )
            .order_by(Outbox.id.desc())
        )
        for row in rows:
            if row.payload.get("track_as") == key:
                return row
        return None

    async def update_pending_payload(self, row_id: int, payload: dict[str, Any]) -> bool:
        """Change a queued row's payload if the executor has not taken it yet."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending", Outbox.attempts == 0)
            .values(payload=payload)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, row_id: int) -> Outbox | None:
        return await self.session.get(Outbox, row_id)

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Outbox.status, func.count()).group_by(Outbox.status)
        )
        return {status: int(n) for status, n in rows.all()}


class PostedMessageRepository(Repository):
    """The bot's current message of a kind per chat (e.g. "welcome"), replaced when reposted."""

    async def replace(self, chat_id: int, key: str, message_id: int, *, at: datetime) -> int | None:
        """Store the new message id and return the one it replaces, if any."""
        row = await self.session.get(PostedMessage, (chat_id, key))
        if row is None:
            self.session.add(
                PostedMessage(chat_id=chat_id, key=key, message_id=message_id, posted_at=at)
            )
            await self.session.flush()
            return None
        previous = row.message_id
        row.message_id = message_id
        row.posted_at = at
        await self.session.flush()
        return previous if previous != message_id else None
