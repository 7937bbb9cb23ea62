"""What the bot says in groups, paced so that it never becomes the spammer (`rules.notices`).

- `gather`: a notice that can come in waves (a warning, a welcome) joins the chat's waiting
  message of its kind, or starts one due when the pacing allows;
- `refuse`: a refusal is given to a member once, not again for a while;
- `reply`: an answer to a command, cut to Telegram's limit;
- `deliver_kept` and `tell_unreached_owners`: what Telegram would not deliver to someone who has
  not started the bot (403 "bot can't initiate conversation") is kept, as failed outbox rows,
  and sent when they press Start, undo buttons and all; meanwhile a group of the owner's is told
  once that the owner must start the bot.
Everything goes through the unit of work's outbox, so it lands with the decision or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.sql.expression import ColumnElement

from rules.actions import AnswerCallback, Batch, BatchEntry, Priority, SendMessage
from rules.limits import TEXT_LIMIT, fit
from rules.notices import REFUSALS, Pacing, due_at, may_repeat
from services.i18n import tr
from services.uow import UnitOfWork
from storage.groups import UserRepository
from storage.models import Alliance, Chat, Outbox, utcnow
from storage.outbox import CodecError, OutboxRepository, Queued, decode

Render = Callable[[Batch], SendMessage]


async def gather(
    uow: UnitOfWork,
    *,
    chat_id: int,
    key: str,
    entry: BatchEntry,
    pacing: Pacing,
    render: Render,
    now: datetime | None = None,
) -> None:
    """Add `entry` to the chat's waiting message of `key`, or queue a new one when none waits."""
    now = now or utcnow()
    outbox = OutboxRepository(uow.session)
    latest = await outbox.latest_coalescing(chat_id, key)
    if latest is not None and latest.status == "pending" and latest.attempts == 0:
        waiting = _batch_of(latest)
        if waiting is not None:
            batch = waiting.merged(entry)
            due = latest.not_before
            if pacing.raid_size and batch.people >= pacing.raid_size:
                held = due_at(
                    now,
                    last_sent=None,
                    batch_size=batch.people,
                    pacing=pacing,
                    first_at=latest.created_at,
                )
                due = max(due, held)
            if await outbox.replace_waiting(latest.id, render(batch), due):
                if due != latest.not_before:
                    uow.requeued(_moved(latest, due))
                return
    last_sent = _last_sent(latest, now)
    batch = Batch(key, (entry,))
    due = due_at(now, last_sent=last_sent, batch_size=1, pacing=pacing)
    await uow.send(render(batch), not_before=due)


def _batch_of(row: Outbox) -> Batch | None:
    try:
        action = decode(row.kind, row.chat_id, row.priority, row.payload)
    except CodecError:
        return None
    return action.batch if isinstance(action, SendMessage) else None


def _moved(row: Outbox, due: datetime) -> Queued:
    queued = Queued.of(row)
    return Queued(queued.id, queued.kind, queued.chat_id, queued.priority, due, queued.attempts)


def _last_sent(latest: Outbox | None, now: datetime) -> datetime | None:
    if latest is None:
        return None
    if latest.status == "sending" or (latest.status == "pending" and latest.attempts):
        return now  # going out right now
    return latest.finished_at or latest.not_before


async def refuse(
    uow: UnitOfWork,
    *,
    chat_id: int,
    user_id: int,
    reply_to: int | None,
    text: str,
    delete_after: int = 60,
    pacing: Pacing = REFUSALS,
    now: datetime | None = None,
) -> bool:
    """Tell a member a command is not theirs, unless they were told lately; False if not told."""
    now = now or utcnow()
    key = f"refuse:{user_id}"
    latest = await OutboxRepository(uow.session).latest_coalescing(chat_id, key)
    if latest is not None and not may_repeat(now, latest.created_at, pacing):
        return False
    await uow.send(
        SendMessage(
            chat_id=chat_id,
            text=fit(text, TEXT_LIMIT),
            reply_to=reply_to,
            delete_after=delete_after,
            batch=Batch(key, (BatchEntry(user_id, ""),)),
        )
    )
    return True


async def reply(
    uow: UnitOfWork,
    chat_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    delete_after: int = 0,
    parse_mode: str | None = None,
    priority: Priority = Priority.NORMAL,
    after: int | None = None,
    failures: Mapping[str, str] | None = None,
) -> None:
    """An answer in a chat, cut to Telegram's limit; with `after`, sent once that call is done,
    and said as `failures[reason]` if it failed (`rules.actions.Failure`)."""
    await uow.send(
        SendMessage(
            chat_id=chat_id,
            text=fit(text, TEXT_LIMIT),
            reply_to=reply_to,
            delete_after=delete_after,
            parse_mode=parse_mode,
            failures=tuple((k, fit(v, TEXT_LIMIT)) for k, v in (failures or {}).items()),
            priority=priority,
        ),
        after=after,
    )


async def answer_callback(
    uow: UnitOfWork, user_id: int, callback_query_id: str, text: str, *, alert: bool = False
) -> None:
    """Answer a button press (Telegram shows at most 200 characters)."""
    await uow.send(
        AnswerCallback(
            chat_id=user_id,
            callback_query_id=callback_query_id,
            text=fit(text, 200),
            show_alert=alert,
        )
    )


# Telegram's answers to a private message for someone who never started the bot, or stopped it
UNREACHED = ("can't initiate conversation", "bot was blocked by the user")
KEPT_AT_MOST = 200  # the newest kept messages delivered at /start
KEPT_AFTER = timedelta(seconds=1)
KEPT_FOR = timedelta(days=30)  # older news is stale: not delivered, and no one is told of it


def _unreached(chat_id: int) -> list[ColumnElement[bool]]:
    """Rows Telegram would not deliver to `chat_id` (a person) lately."""
    return [
        Outbox.chat_id == chat_id,
        Outbox.status == "failed",
        or_(*(Outbox.last_error.contains(marker) for marker in UNREACHED)),
        Outbox.created_at >= utcnow() - KEPT_FOR,
    ]


async def deliver_kept(uow: UnitOfWork, user_id: int) -> int:
    """Queue again, in their order, what could not reach `user_id` before they started the bot
    (reports with their undo buttons, alerts, digests); returns how many."""
    rows = list(
        await uow.session.scalars(
            select(Outbox)
            .where(*_unreached(user_id))
            .order_by(Outbox.id.desc())
            .limit(KEPT_AT_MOST)
        )
    )
    after_greeting = utcnow() + KEPT_AFTER  # the answer to /start goes first
    for row in rows:
        row.status, row.attempts, row.not_before = "pending", 0, after_greeting
        row.last_error, row.finished_at = None, None
    await uow.session.flush()
    for row in sorted(rows, key=lambda r: r.id):
        uow.requeued(Queued.of(row))
    return len(rows)


def unreached_key(owner_id: int) -> str:
    return f"unreached:{owner_id}"


async def tell_unreached_owners(uow: UnitOfWork, alliances: list[Alliance]) -> int:
    """For each owner whom Telegram would not let the bot write to, say so once in a group of
    theirs (the newest one they added the bot to); returns how many groups were told."""
    told = 0
    session = uow.session
    for alliance in alliances:
        for owner_id in alliance.owner_ids:
            key = unreached_key(owner_id)
            kept = await session.scalar(select(Outbox.id).where(*_unreached(owner_id)).limit(1))
            if kept is None:
                continue
            if await session.scalar(select(Outbox.id).where(Outbox.coalesce_key == key).limit(1)):
                continue  # told already
            group = await _group_of(uow, alliance.id, owner_id)
            if group is None:
                continue
            person = (await UserRepository(session).people([owner_id]))[owner_id]
            language = group.language or alliance.language
            text = tr(
                language,
                "{owner}: I cannot send you reports and alerts until you start a private chat with me. Please open my profile and press Start; I keep everything for you until then.",
                owner=person.render(),
            )
            entry = BatchEntry(owner_id, person.name)
            await uow.send(SendMessage(chat_id=group.id, text=text, batch=Batch(key, (entry,))))
            told += 1
    return told


async def _group_of(uow: UnitOfWork, alliance_id: int, owner_id: int) -> Chat | None:
    """The group to tell: the newest the owner added the bot to, else the alliance's newest."""
    active = select(Chat).where(Chat.alliance_id == alliance_id, Chat.status == "active")
    newest = (Chat.created_at.desc(), Chat.id.desc())
    added = await uow.session.scalar(
        active.where(Chat.added_by == owner_id).order_by(*newest).limit(1)
    )
    return added or await uow.session.scalar(active.order_by(*newest).limit(1))
