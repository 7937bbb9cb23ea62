"""Stored schedules (digests, group reports, daily upkeep) and the record of alerts sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from storage.groups import Repository, affected, upsert
from storage.models import AlertSent, Schedule, utcnow


class ScheduleRepository(Repository):
    async def list_all(self) -> list[Schedule]:
        return list(await self.session.scalars(select(Schedule).order_by(Schedule.id)))

    async def list_for(self, alliance_id: int) -> list[Schedule]:
        return list(
            await self.session.scalars(
                select(Schedule).where(Schedule.alliance_id == alliance_id).order_by(Schedule.id)
            )
        )

    async def get(self, schedule_id: int) -> Schedule | None:
        return await self.session.get(Schedule, schedule_id)

    async def find(
        self, alliance_id: int, kind: str, chat_id: int | None = None
    ) -> Schedule | None:
        found: Schedule | None = await self.session.scalar(
            select(Schedule)
            .where(
                Schedule.alliance_id == alliance_id,
                Schedule.kind == kind,
                Schedule.chat_id.is_(None) if chat_id is None else Schedule.chat_id == chat_id,
            )
            .order_by(Schedule.id)
            .limit(1)
        )
        return found

    async def ensure(
        self,
        alliance_id: int,
        kind: str,
        recurrence: str,
        *,
        paused: bool = False,
        payload: dict[str, Any] | None = None,
    ) -> Schedule:
        """The alliance's schedule of this kind, created with these defaults if missing."""
        row = await self.find(alliance_id, kind)
        if row is None:
            row = Schedule(
                alliance_id=alliance_id,
                kind=kind,
                recurrence=recurrence,
                paused=paused,
                payload=payload or {},
                created_at=utcnow(),
            )
            self.session.add(row)
            await self.session.flush()
        return row


class AlertRepository(Repository):
    async def claim(self, chat_id: int, kind: str, day: date, *, at: datetime) -> bool:
        """True the first time this (group, kind, day) is claimed: the alert may be sent."""
        stmt = upsert(self.session, AlertSent).values(chat_id=chat_id, kind=kind, day=day, at=at)
        result = await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["chat_id", "kind", "day"])
        )
        return bool(affected(result))
