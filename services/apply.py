"""Carrying out a decision: the one place that writes the audit row, the records and the outbox,
and the only place that knows shadow mode.

`apply(uow, rt, decision)` works in the caller's transaction. When the group where the decision
was made is in shadow mode, every step is recorded as "would ..." and none is done: no record, no
message, no call reaches Telegram. Otherwise each Bot API call aimed at a group in shadow mode is
recorded as "would ..." and left out, and everything else is done. Every decision leaves one
audit row: the verdict, its reasons, who and where, and what was left undone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from rules.actions import Action, SendMessage
from rules.decision import (
    AddToBlacklist,
    AddWarning,
    Decision,
    InviterNotice,
    LiftBlacklist,
    Step,
    StrikeInviter,
    WarningNotice,
)
from services import texts
from services.runtime import Runtime
from services.uow import UnitOfWork, Wake
from storage.models import Chat, ModerationLog, utcnow
from storage.moderation import BlacklistRepository, StrikeRepository, WarningRepository
from storage.policy import GroupPolicy


@dataclass
class Applied:
    """What became of a decision's steps."""

    shadow: bool  # the deciding group is in shadow mode: nothing was done
    done: list[Step] = field(default_factory=list)
    would: list[Step] = field(default_factory=list)
    new_entry: bool = False  # a blacklist entry was made (not one that already existed)
    sent: list[int] = field(default_factory=list)  # outbox rows of the calls queued, in order

    @property
    def last_sent(self) -> int | None:
        return self.sent[-1] if self.sent else None


def describe(step: Step) -> str:
    """One line for the audit log: the step's kind and where or whom it concerns."""
    if isinstance(step, Action):
        target = getattr(step, "user_id", None) or getattr(step, "message_id", None)
        return f"{step.kind} {step.chat_id}" + (f" {target}" if target is not None else "")
    name = type(step).__name__
    who = getattr(step, "user_id", None) or getattr(step, "inviter_id", None)
    return f"{name} {who}" if who is not None else name


async def shadowed_chats(uow: UnitOfWork, rt: Runtime, chat_ids: Sequence[int]) -> set[int]:
    """Which of these chats are groups in shadow mode."""
    groups = sorted({c for c in chat_ids if c < 0})
    if len(groups) <= 2:
        return {c for c in groups if (await rt.state.policy(uow, c)).shadow_mode}
    rows = await uow.session.execute(select(Chat.id, Chat.policy).where(Chat.id.in_(groups)))
    return {int(cid) for cid, policy in rows if GroupPolicy.load(policy).shadow_mode}


async def apply(uow: UnitOfWork, rt: Runtime, decision: Decision) -> Applied:
    source = decision.chat_id
    targets = [s.chat_id for s in decision.steps if isinstance(s, Action)]
    shadow = await shadowed_chats(uow, rt, [*targets, *([source] if source else [])])
    applied = Applied(shadow=source is not None and source in shadow)
    for step in decision.steps:
        if applied.shadow or (isinstance(step, Action) and step.chat_id in shadow):
            applied.would.append(step)
            continue
        await _carry_out(uow, rt, step, applied, decision.actor, chained=decision.chained)
        applied.done.append(step)
    audit(
        uow,
        ("would_" if applied.shadow else "") + decision.verdict,
        chat_id=source,
        actor=decision.actor,
        target=decision.target,
        reasons=decision.explain(),
        **(_evidence(decision) if applied.shadow else {}),
        **dict(decision.details),
        **({"would": [describe(s) for s in applied.would]} if applied.would else {}),
    )
    return applied


def _evidence(decision: Decision) -> dict[str, Any]:
    """The offending text and score of a decision not carried out, for the shadow report (and
    for labeling it when admins say it was fine): nothing else keeps them."""
    for step in decision.steps:
        if isinstance(step, AddWarning | AddToBlacklist):
            kept = {k: step.evidence.get(k) for k in ("text", "score")}
            return {
                k: v for k, v in kept.items() if v not in (None, "") and k not in decision.details
            }
    return {}


def audit(
    uow: UnitOfWork,
    action: str,
    *,
    chat_id: int | None,
    actor: int | None,
    target: int | None,
    reasons: str = "",
    **details: Any,
) -> None:
    """An audit row for what was decided outside a `Decision` (a setting changed, ...)."""
    uow.session.add(
        ModerationLog(
            at=utcnow(),
            actor_id=actor,
            target_id=target,
            chat_id=chat_id,
            action=action,
            reasons=reasons,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


async def _carry_out(
    uow: UnitOfWork,
    rt: Runtime,
    step: Step,
    applied: Applied,
    actor: int | None,
    *,
    chained: bool = False,
) -> None:
    now = utcnow()
    session = uow.session
    match step:
        case WarningNotice():
            await texts.gather_warning(uow, rt, step, now=now)
        case InviterNotice():
            await texts.notify_inviter(uow, rt, step, now=now)
        case SendMessage(batch=batch) if batch is not None:
            raise ValueError("a gathering message is queued by services.notices, not applied")
        case Action():
            after = applied.last_sent if chained else None
            applied.sent.append(await uow.send(step, after=after))
        case AddWarning():
            await WarningRepository(session).add(
                alliance_id=step.alliance_id,
                chat_id=step.chat_id,
                user_id=step.user_id,
                actor_id=actor,
                reason=step.reason,
                evidence=dict(step.evidence),
                at=now,
                expires_at=now + timedelta(days=step.expires_in_days),
            )
        case AddToBlacklist():
            _, applied.new_entry = await BlacklistRepository(session).add(
                alliance_id=step.alliance_id,
                user_id=step.user_id,
                reason=step.reason,
                evidence=dict(step.evidence),
                added_by=step.added_by,
                added_as=step.added_as,
                source_chat_id=step.source_chat_id,
                at=now,
                reported=step.added_as == "import",
            )
            if applied.new_entry and step.added_as != "import":
                uow.after_commit(Wake.REPORTS)
        case LiftBlacklist():
            await BlacklistRepository(session).revoke(
                step.alliance_id, step.user_id, by=step.by, at=now
            )
            await WarningRepository(session).revoke_all(
                step.alliance_id, step.user_id, by=step.by, now=now
            )
        case StrikeInviter():
            await StrikeRepository(session).add(
                inviter_id=step.inviter_id,
                invitee_id=step.invitee_id,
                chat_id=step.chat_id,
                alliance_id=step.alliance_id,
                at=now,
            )
