"""Groups' administrators as Telegram last listed them.

Admins of any group of an alliance are protected from being blacklisted in all of them, which
needs every group's list, not only the current one; and when Telegram cannot answer, the last
list stands in (it is never guessed that someone is a plain member).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.decision import Person
from storage.groups import Repository, UserRepository
from storage.models import Chat, ChatAdmin, TgUser


@dataclass(frozen=True, slots=True)
class AdminEntry:
    status: str  # creator | administrator
    can_restrict: bool
    name: str = ""  # as Telegram listed them: remembered, so they are named and known
    username: str | None = None


class AdminRepository(Repository):
    async def replace(
        self, chat_id: int, admins: Mapping[int, AdminEntry], *, at: datetime
    ) -> None:
        """Store the chat's whole list as Telegram gave it, and remember who they are."""
        await UserRepository(self.session).remember(
            [Person(u, e.name, e.username) for u, e in admins.items() if e.name]
        )
        await self.session.execute(delete(ChatAdmin).where(ChatAdmin.chat_id == chat_id))
        self.session.add_all(
            ChatAdmin(
                chat_id=chat_id,
                user_id=user_id,
                status=entry.status,
                can_restrict=entry.can_restrict,
                seen_at=at,
            )
            for user_id, entry in admins.items()
        )
        await self.session.flush()

    async def of_chat(self, chat_id: int) -> tuple[dict[int, AdminEntry], datetime | None]:
        """The stored list and when it was taken (None: never)."""
        rows = list(
            await self.session.scalars(select(ChatAdmin).where(ChatAdmin.chat_id == chat_id))
        )
        listed = {r.user_id: AdminEntry(r.status, r.can_restrict) for r in rows}
        return listed, (min(r.seen_at for r in rows) if rows else None)

    async def admin_of(self, alliance_id: int, user_id: int) -> set[int]:
        """The alliance's active groups where the user is listed as an admin."""
        rows = await self.session.scalars(
            select(ChatAdmin.chat_id)
            .join(Chat, Chat.id == ChatAdmin.chat_id)
            .where(
                ChatAdmin.user_id == user_id,
                Chat.alliance_id == alliance_id,
                Chat.status == "active",
            )
        )
        return set(rows)

    async def moderator_of(self, alliance_id: int, user_id: int) -> set[int]:
        """The alliance's active groups where the user may restrict members (creator, or an
        admin with that right)."""
        rows = await self.session.scalars(
            select(ChatAdmin.chat_id)
            .join(Chat, Chat.id == ChatAdmin.chat_id)
            .where(
                ChatAdmin.user_id == user_id,
                Chat.alliance_id == alliance_id,
                Chat.status == "active",
                (ChatAdmin.status == "creator") | ChatAdmin.can_restrict.is_(True),
            )
        )
        return set(rows)

    async def listed_in(self, alliance_id: int) -> set[int]:
        """Everyone listed as an admin of one of the alliance's active groups."""
        rows = await self.session.scalars(
            select(ChatAdmin.user_id)
            .join(Chat, Chat.id == ChatAdmin.chat_id)
            .where(Chat.alliance_id == alliance_id, Chat.status == "active")
            .distinct()
        )
        return set(rows)

    async def listed_since(self, chat_ids: Sequence[int], since: datetime | None) -> set[int]:
        """Which of the chats have a list taken at or after `since` (None: ever)."""
        query = select(ChatAdmin.chat_id).where(ChatAdmin.chat_id.in_(list(chat_ids)))
        if since is not None:
            query = query.where(ChatAdmin.seen_at >= since)
        return set(await self.session.scalars(query.distinct()))

    async def set(
        self, chat_id: int, user_id: int, entry: AdminEntry | None, *, at: datetime
    ) -> None:
        """One admin changed: listed with `entry`, or no longer an admin (None)."""
        await self.session.execute(
            delete(ChatAdmin).where(ChatAdmin.chat_id == chat_id, ChatAdmin.user_id == user_id)
        )
        if entry is not None:
            self.session.add(
                ChatAdmin(
                    chat_id=chat_id,
                    user_id=user_id,
                    status=entry.status,
                    can_restrict=entry.can_restrict,
                    seen_at=at,
                )
            )
            await self.session.flush()


async def own_handles(
    session: AsyncSession, alliance_id: int, owner_ids: Sequence[int]
) -> set[str]:
    """The alliance's own @usernames: its owners', its groups' admins' and its public groups'."""
    admins = (
        select(TgUser.username)
        .join(ChatAdmin, ChatAdmin.user_id == TgUser.id)
        .join(Chat, Chat.id == ChatAdmin.chat_id)
        .where(Chat.alliance_id == alliance_id, TgUser.username.is_not(None))
    )
    owners = select(TgUser.username).where(
        TgUser.id.in_(list(owner_ids)), TgUser.username.is_not(None)
    )
    groups = select(Chat.username).where(
        Chat.alliance_id == alliance_id, Chat.status == "active", Chat.username.is_not(None)
    )
    found: set[str] = set()
    for query in (admins, owners, groups):
        found.update(str(name).lower() for name in await session.scalars(query) if name)
    return found
