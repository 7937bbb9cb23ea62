"""Members coming and going: who joined, who brought them, through which invite link, who left.

Telegram reports a join twice (a chat_member update, when the bot asks for them, and a service
message with new_chat_members); both are recorded idempotently, and whichever names the inviter
or the link fills it in. Arrivals then go to the welcome (blacklisted ones are banned instead).
A core member or an influencer leaving is an alert to the owners.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rules.decision import Person
from rules.health import Alert, AlertKind
from rules.roles import Role, from_bits
from services.alerts import send_alert
from services.runtime import Runtime
from services.state import ChatEntry
from services.uow import UnitOfWork
from services.welcome import on_joined
from storage.groups import MemberRepository, UserRepository
from storage.models import Alliance, utcnow


@dataclass(frozen=True)
class Arrival:
    person: Person
    at: datetime
    invited_by: int | None = None
    invite_link: str | None = None
    status: str = "member"
    is_bot: bool = False


async def arrived(
    uow: UnitOfWork,
    rt: Runtime,
    entry: ChatEntry,
    arrivals: Sequence[Arrival],
    *,
    bot_username: str,
) -> None:
    """Record the arrivals; those not already recorded for this join are welcomed (or, when
    blacklisted, banned)."""
    members = MemberRepository(uow.session)
    await UserRepository(uow.session).remember([a.person for a in arrivals])
    fresh: list[Person] = []
    for arrival in arrivals:
        if arrival.person.user_id == rt.options.bot_id:
            continue
        new = await members.record_join(
            entry.chat.id,
            arrival.person.user_id,
            at=min(arrival.at, utcnow()),
            invited_by=arrival.invited_by,
            invite_link=arrival.invite_link,
            status=arrival.status,
        )
        if new and not arrival.is_bot:
            fresh.append(arrival.person)
    if fresh:
        await on_joined(uow, rt, entry, fresh, bot_username=bot_username)


async def left(
    uow: UnitOfWork, rt: Runtime, entry: ChatEntry, person: Person, *, at: datetime, status: str
) -> None:
    """Record a departure; a core member or an influencer (as of the last daily count) leaving is
    an alert to the owners. A ban is the admins' own decision, not a loss to report."""
    chat = entry.chat
    member = await MemberRepository(uow.session).record_leave(
        chat.id, person.user_id, at=min(at, utcnow()), status=status
    )
    if member is None or chat.alliance_id is None or member.status == "kicked":
        return
    notable = [r for r in (Role.CORE, Role.INFLUENCER) if r in from_bits(member.role_flags)]
    if not notable:
        return
    alliance = await uow.session.get(Alliance, chat.alliance_id)
    if alliance is not None:
        detail = {"role": notable[0].value, "name": person.render()}
        await send_alert(uow, alliance, chat.title, Alert(AlertKind.MEMBER_LEFT, chat.id, detail))
