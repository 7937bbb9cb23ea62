"""The outbox: Bot API calls queued in the deciding transaction, and the one codec for them.

`encode`/`decode` turn a `rules.actions` action into a row's kind, chat, priority and payload and
back; nothing else knows the payload's shape. `OutboxRepository.add` is what services call; the
claim/finish methods are the executor's. A row moves pending -> sending -> done | failed, or
pending -> cancelled; a row found in `sending` at start was interrupted mid-call and is handed
out again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select, update

from rules.actions import BY_KIND, LANE_OF_KIND, Action, Lane, Priority, SendMessage
from storage.groups import Repository, affected
from storage.models import Outbox, PostedMessage, utcnow

_ADAPTERS: dict[str, TypeAdapter[Any]] = {kind: TypeAdapter(cls) for kind, cls in BY_KIND.items()}
UNFINISHED = ("pending", "sending")


class CodecError(ValueError):
    """A row that no action can be read from (an unknown kind, a malformed payload)."""


def encode(action: Action) -> tuple[str, dict[str, Any], str | None]:
    """(kind, payload, coalesce key) of an action; chat and priority are columns of their own."""
    data: dict[str, Any] = _ADAPTERS[action.kind].dump_python(action, mode="json")
    data.pop("chat_id", None)
    data.pop("priority", None)
    key = action.batch.key if isinstance(action, SendMessage) and action.batch else None
    return action.kind, data, key


def decode(kind: str, chat_id: int, priority: int, payload: dict[str, Any]) -> Action:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise CodecError(f"unknown outbox kind {kind!r}")
    try:
        raw = json.dumps({**payload, "chat_id": chat_id, "priority": priority})
        action: Action = adapter.validate_json(raw)
    except (ValidationError, TypeError, ValueError) as exc:
        raise CodecError(f"malformed {kind} payload: {exc}") from None
    return action


@dataclass(frozen=True, slots=True)
class Queued:
    """An unfinished row as the executor schedules it (its payload is read when it is sent)."""

    id: int
    kind: str
    chat_id: int
    priority: Priority
    not_before: datetime
    attempts: int
    after_id: int | None = None

    @property
    def lane(self) -> Lane:
        return LANE_OF_KIND.get(self.kind, Lane.MESSAGE)

    @classmethod
    def of(cls, row: Outbox) -> Queued:
        return cls(
            row.id,
            row.kind,
            row.chat_id,
            _priority(row.priority),
            row.not_before,
            row.attempts,
            row.after_id,
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    chat_id: int
    kind: str
    priority: int
    payload: dict[str, Any]
    attempts: int


def _priority(value: int | None) -> Priority:
    try:
        return Priority(value if value is not None else Priority.NORMAL)
    except ValueError:
        return Priority.NORMAL


_HEAD_COLUMNS = (
    Outbox.id,
    Outbox.kind,
    Outbox.chat_id,
    Outbox.priority,
    Outbox.not_before,
    Outbox.attempts,
    Outbox.after_id,
)


class OutboxRepository(Repository):
    async def add(
        self, action: Action, *, not_before: datetime | None = None, after: int | None = None
    ) -> Outbox:
        kind, payload, key = encode(action)
        row = Outbox(
            kind=kind,
            chat_id=action.chat_id,
            payload=payload,
            priority=int(getattr(action, "priority", Priority.NORMAL)),
            coalesce_key=key,
            after_id=after,
            not_before=not_before or utcnow(),
            status="pending",
            attempts=0,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def latest_coalescing(self, chat_id: int, key: str) -> Outbox | None:
        """The chat's newest row gathering events under `key`, whatever its state."""
        row: Outbox | None = await self.session.scalar(
            select(Outbox)
            .where(Outbox.chat_id == chat_id, Outbox.coalesce_key == key)
            .order_by(Outbox.id.desc())
            .limit(1)
        )
        return row

    async def replace_waiting(self, row_id: int, action: Action, not_before: datetime) -> bool:
        """Change a row the executor has not taken yet; False when it was taken meanwhile."""
        _, payload, _ = encode(action)
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending", Outbox.attempts == 0)
            .values(payload=payload, not_before=not_before)
        )
        return bool(affected(result))

    async def cancel(self, row_id: int, reason: str) -> bool:
        """Drop a row the executor has not taken yet (a welcome to someone since banned)."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending", Outbox.attempts == 0)
            .values(status="cancelled", last_error=reason, finished_at=utcnow())
        )
        return bool(affected(result))

    async def cancel_chat(self, chat_id: int, reason: str) -> int:
        """Drop every call queued for the chat that the executor has not taken yet."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.chat_id == chat_id, Outbox.status == "pending", Outbox.attempts == 0)
            .values(status="cancelled", last_error=reason, finished_at=utcnow())
        )
        return affected(result)

    async def unfinished(self, *, after_id: int = 0) -> list[Queued]:
        rows = await self.session.execute(
            select(*_HEAD_COLUMNS)
            .where(Outbox.status.in_(UNFINISHED), Outbox.id > after_id)
            .order_by(Outbox.id)
        )
        return [
            Queued(int(i), k, int(c), _priority(p), nb, int(a or 0), after)
            for i, k, c, p, nb, a, after in rows
        ]

    async def statuses(self, ids: Sequence[int]) -> dict[int, str]:
        rows = await self.session.execute(
            select(Outbox.id, Outbox.status).where(Outbox.id.in_(list(ids)))
        )
        return {int(i): str(s) for i, s in rows}

    async def claim(self, ids: Sequence[int]) -> list[Claimed]:
        """Mark rows as being sent (their payload as it is now); rows finished meanwhile are
        left out."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(ids)), Outbox.status.in_(UNFINISHED))
            .values(status="sending", attempts=Outbox.attempts + 1)
            .returning(
                Outbox.id,
                Outbox.chat_id,
                Outbox.kind,
                Outbox.priority,
                Outbox.payload,
                Outbox.attempts,
            )
        )
        return [
            Claimed(int(i), int(c), k, int(p or 1), dict(pl or {}), int(a or 0))
            for i, c, k, p, pl, a in result
        ]

    async def mark_done(
        self, ids: Sequence[int], result: dict[str, Any] | None, *, at: datetime
    ) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(ids)))
            .values(status="done", result=result, finished_at=at, last_error=None)
        )

    async def mark_failed(self, ids: Sequence[int], error: str, *, at: datetime) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(ids)))
            .values(status="failed", last_error=error[:2000], finished_at=at)
        )

    async def reschedule(
        self,
        ids: Sequence[int],
        *,
        not_before: datetime,
        error: str | None,
        refund: bool = False,
    ) -> None:
        """Rows whose call is to be made again later (only while they are being sent); with
        `refund`, this try does not count against the row's attempts."""
        values: dict[str, Any] = {
            "status": "pending",
            "not_before": not_before,
            "last_error": error,
        }
        if refund:
            values["attempts"] = Outbox.attempts - 1
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(ids)), Outbox.status == "sending")
            .values(**values)
        )

    async def retarget(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its queued actions follow it."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.chat_id == old_chat_id, Outbox.status.in_(UNFINISHED))
            .values(chat_id=new_chat_id)
        )

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
