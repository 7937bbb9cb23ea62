"""Repositories for warnings, the alliance blacklist, inviter strikes and labeled messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from storage.groups import Repository, affected
from storage.models import BlacklistEntry, LabeledMessage, Member, ModerationLog, Warning

STRIKE = "inviter_strike"


class WarningRepository(Repository):
    async def add(
        self,
        *,
        alliance_id: int,
        chat_id: int,
        user_id: int,
        actor_id: int | None,
        reason: str,
        evidence: dict[str, Any],
        at: datetime,
        expires_at: datetime,
    ) -> Warning:
        row = Warning(
            alliance_id=alliance_id,
            chat_id=chat_id,
            user_id=user_id,
            actor_id=actor_id,
            reason=reason,
            evidence=evidence,
            created_at=at,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    def _active(self, alliance_id: int, user_id: int, now: datetime) -> Any:
        return select(Warning).where(
            Warning.alliance_id == alliance_id,
            Warning.user_id == user_id,
            Warning.revoked_at.is_(None),
            Warning.expires_at > now,
        )

    async def list_active(self, alliance_id: int, user_id: int, *, now: datetime) -> list[Warning]:
        rows = await self.session.scalars(
            self._active(alliance_id, user_id, now).order_by(Warning.created_at)
        )
        return list(rows)

    async def count_active(self, alliance_id: int, user_id: int, *, now: datetime) -> int:
        return len(await self.list_active(alliance_id, user_id, now=now))

    async def revoke_latest(
        self, alliance_id: int, user_id: int, *, by: int, now: datetime
    ) -> Warning | None:
        active = await self.list_active(alliance_id, user_id, now=now)
        if not active:
            return None
        latest = active[-1]
        latest.revoked_at, latest.revoked_by = now, by
        await self.session.flush()
        return latest

    async def revoke_all(self, alliance_id: int, user_id: int, *, by: int, now: datetime) -> int:
        result = await self.session.execute(
            update(Warning)
            .where(
                Warning.alliance_id == alliance_id,
                Warning.user_id == user_id,
                Warning.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_by=by)
        )
        return affected(result)


class BlacklistRepository(Repository):
    async def get_active(self, alliance_id: int, user_id: int) -> BlacklistEntry | None:
        row = await self.session.get(BlacklistEntry, (alliance_id, user_id))
        return row if row is not None and row.revoked_at is None else None

    async def add(
        self,
        *,
        alliance_id: int,
        user_id: int,
        reason: str,
        evidence: dict[str, Any],
        added_by: int | None,
        source_chat_id: int | None,
        at: datetime,
        added_as: str = "auto",
        reported: bool = False,
    ) -> tuple[BlacklistEntry, bool]:
        """Blacklist the user; returns the entry and whether it is new (not already active)."""
        row = await self.session.get(BlacklistEntry, (alliance_id, user_id))
        if row is not None and row.revoked_at is None:
            return row, False
        if row is None:
            row = BlacklistEntry(alliance_id=alliance_id, user_id=user_id)
            self.session.add(row)
        row.reason, row.evidence, row.added_by = reason, evidence, added_by
        row.added_as = added_as
        row.source_chat_id, row.created_at = source_chat_id, at
        row.revoked_at = row.revoked_by = None
        row.reported_at = at if reported else None
        await self.session.flush()
        return row, True

    async def revoke(
        self, alliance_id: int, user_id: int, *, by: int, at: datetime
    ) -> BlacklistEntry | None:
        row = await self.get_active(alliance_id, user_id)
        if row is None:
            return None
        row.revoked_at, row.revoked_by = at, by
        await self.session.flush()
        return row

    async def list_active(
        self, alliance_id: int, *, limit: int | None = None, offset: int = 0
    ) -> list[BlacklistEntry]:
        query = (
            select(BlacklistEntry)
            .where(BlacklistEntry.alliance_id == alliance_id, BlacklistEntry.revoked_at.is_(None))
            .order_by(BlacklistEntry.created_at.desc(), BlacklistEntry.user_id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(await self.session.scalars(query))

    async def count_active(self, alliance_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(BlacklistEntry)
            .where(BlacklistEntry.alliance_id == alliance_id, BlacklistEntry.revoked_at.is_(None))
        )
        return int(count or 0)

    async def take_unreported(self, alliance_id: int, *, at: datetime) -> list[BlacklistEntry]:
        """Entries the owner has not been told of yet, marked as told."""
        rows = list(
            await self.session.scalars(
                select(BlacklistEntry)
                .where(
                    BlacklistEntry.alliance_id == alliance_id,
                    BlacklistEntry.revoked_at.is_(None),
                    BlacklistEntry.reported_at.is_(None),
                )
                .order_by(BlacklistEntry.created_at)
            )
        )
        for row in rows:
            row.reported_at = at
        await self.session.flush()
        return rows


class StrikeRepository(Repository):
    """Inviter strikes, kept in the moderation log: one per blacklisted invitee."""

    async def add(
        self, *, inviter_id: int, invitee_id: int, chat_id: int, alliance_id: int, at: datetime
    ) -> int:
        """Record the strike (once per invitee) and return the inviter's strike count."""
        already = await self.session.scalar(
            select(func.count())
            .select_from(ModerationLog)
            .where(
                ModerationLog.action == STRIKE,
                ModerationLog.target_id == inviter_id,
                ModerationLog.details["invitee"].as_numeric(20, 0) == invitee_id,
            )
        )
        if not already:
            self.session.add(
                ModerationLog(
                    at=at,
                    actor_id=None,
                    target_id=inviter_id,
                    chat_id=chat_id,
                    action=STRIKE,
                    reasons=f"invited {invitee_id}, now blacklisted",
                    details={"invitee": invitee_id, "alliance": alliance_id},
                )
            )
            await self.session.flush()
        return await self.count(inviter_id, alliance_id)

    async def count(self, inviter_id: int, alliance_id: int | None = None) -> int:
        query = (
            select(func.count())
            .select_from(ModerationLog)
            .where(ModerationLog.action == STRIKE, ModerationLog.target_id == inviter_id)
        )
        if alliance_id is not None:
            query = query.where(ModerationLog.details["alliance"].as_numeric(20, 0) == alliance_id)
        return int(await self.session.scalar(query) or 0)

    async def counted(self, inviter_id: int, invitee_id: int) -> bool:
        """Whether this invitee already counts against the inviter."""
        found = await self.session.scalar(
            select(func.count())
            .select_from(ModerationLog)
            .where(
                ModerationLog.action == STRIKE,
                ModerationLog.target_id == inviter_id,
                ModerationLog.details["invitee"].as_numeric(20, 0) == invitee_id,
            )
        )
        return bool(found)

    async def inviter_of(self, chat_ids: Sequence[int], user_id: int) -> Member | None:
        """The membership row naming who brought the user in, in any of the chats."""
        row: Member | None = await self.session.scalar(
            select(Member)
            .where(
                Member.chat_id.in_(list(chat_ids)),
                Member.user_id == user_id,
                Member.invited_by.is_not(None),
            )
            .order_by(Member.joined_at.desc())
            .limit(1)
        )
        return row

    async def invitees(self, chat_ids: Sequence[int], inviter_id: int) -> list[Member]:
        rows = await self.session.scalars(
            select(Member).where(
                Member.chat_id.in_(list(chat_ids)), Member.invited_by == inviter_id
            )
        )
        return list(rows)


class LabeledMessageRepository(Repository):
    async def add(
        self, text: str, label: str, *, source: str, chat_id: int | None, at: datetime
    ) -> None:
        if label not in ("spam", "ham"):
            raise ValueError(f"label must be spam or ham, not {label!r}")
        self.session.add(
            LabeledMessage(text=text, label=label, source=source, chat_id=chat_id, at=at)
        )
        await self.session.flush()

    async def add_many(
        self, samples: Sequence[tuple[str, str]], *, source: str, at: datetime
    ) -> int:
        for text, label in samples:
            await self.add(text, label, source=source, chat_id=None, at=at)
        return len(samples)

    async def all(self) -> list[tuple[str, bool]]:
        rows = await self.session.execute(select(LabeledMessage.text, LabeledMessage.label))
        return [(text, label == "spam") for text, label in rows.all()]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(LabeledMessage)) or 0)
