"""What the bot says in groups, paced so that it never becomes the spammer (`rules.notices`).

- `gather`: a notice that can come in waves (a warning, a welcome) joins the chat's waiting
  message of its kind, or starts one due when the pacing allows;
- `refuse`: a refusal is given to a member once, not again for a while;
- `reply`: an answer to a command, cut to Telegram's limit.
Everything goes through the unit of work's outbox, so it lands with the decision or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from rules.actions import AnswerCallback, Batch, BatchEntry, Priority, SendMessage
from rules.limits import TEXT_LIMIT, fit
from rules.notices import REFUSALS, Pacing, due_at, may_repeat
from services.uow import UnitOfWork
from storage.models import Outbox, utcnow
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
