"""The action executor: the one task that carries out queued Bot API calls.

Promises:
- every row of the outbox is tried until it is done or fails permanently, with the reason kept;
- calls within one chat keep the order they were queued in (a retried call holds back the later
  calls of its chat, never the other chats);
- pacing follows `SendLimiter` (about 30 calls a second overall, 20 messages a minute a group);
  a 429 is honoured with its retry_after, timeouts and server errors back off exponentially;
- payload keys starting with "_" are the queuing code's own notes and never reach Telegram;
- a row is marked `sending` (committed) before its call and `done` right after, so after a crash
  or kill -9 unfinished rows are resumed and finished rows are not repeated. Moderation calls are
  idempotent, so a resumed one has its effect once; a message send interrupted after Telegram
  accepted it but before the commit (a window of one local commit) is the only case that can
  repeat.
No Bot API call is made while a database transaction is open.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, ChatPermissions, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.ratelimit import SendLimiter
from storage.db import SessionFactory
from storage.models import Outbox, utcnow
from storage.outbox import OutboxRepository, PostedMessageRepository

log = logging.getLogger(__name__)

MESSAGE_KINDS = frozenset({"send_message", "send_photo", "send_document", "edit_message_text"})
# Errors that mean the wanted state already holds: the call is done, not failed.
ALREADY_DONE = (
    "message to delete not found",
    "message is not modified",
    "user_already_participant",
)
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0
BACKOFF_BASE = 2.0


@dataclass
class ExecutorStats:
    done: int = 0
    failed: int = 0
    retried: int = 0
    flood_waits: int = 0


@dataclass
class Executor:
    bot: Bot
    sessions: SessionFactory
    limiter: SendLimiter = field(default_factory=SendLimiter)
    concurrency: int = 16
    # rows read per look: enough to find a due head for every free slot, few enough to be cheap,
    # since the executor looks again each time a call finishes
    look_ahead: int = 96
    poll_interval: float = 1.0
    backoff_base: float = BACKOFF_BASE
    stats: ExecutorStats = field(default_factory=ExecutorStats)
    clock: Callable[[], float] = time.monotonic
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _busy_chats: set[int] = field(default_factory=set)
    # rows in flight, and rows finished since the last look at the table: a look started before
    # a row finished still sees it unfinished and must not hand it out again
    _inflight: set[int] = field(default_factory=set)
    _finished_ids: set[int] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: bool = False
    _runner: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the executor new rows are queued (called after the deciding commit)."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._runner = asyncio.create_task(self.run(), name="outbox-executor")

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Stop taking rows; let calls under way finish (they are resumed at start if cut)."""
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            await asyncio.wait({self._runner}, timeout=drain_timeout)
            self._runner.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_timeout)

    async def run(self) -> None:
        while not self._stopping:
            try:
                delay = await self.dispatch_ready()
            except Exception:  # a database hiccup must not kill the executor
                log.exception("outbox dispatch failed; retrying")
                delay = self.poll_interval
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def drain(self, *, timeout: float = 60.0) -> None:
        """Run until nothing is left to do (for tests, scripts and benchmarks)."""
        deadline = self.clock() + timeout
        while True:
            delay = await self.dispatch_ready()
            async with self.sessions() as session:
                due = await OutboxRepository(session).next_due()
            if due is None and not self._tasks:
                return
            if self.clock() > deadline:
                raise TimeoutError("outbox not drained in time")
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=min(delay, 0.5))
            else:
                await asyncio.sleep(min(delay, 0.5))

    async def dispatch_ready(self) -> float:
        """Start the due head call of every chat; return how long to wait before looking again."""
        now = self.clock()
        finished_before = set(self._finished_ids)
        async with self.sessions() as session:
            outbox = OutboxRepository(session)
            rows = await outbox.list_ready(now=utcnow(), limit=self.look_ahead)
            retrying = await outbox.retrying_heads(now=utcnow()) if rows else {}
        next_look = self.poll_interval
        seen: set[int] = set()
        for row in rows:
            if row.id in self._inflight or row.id in self._finished_ids:
                seen.add(row.chat_id)
                continue
            if row.chat_id in seen:
                continue
            seen.add(row.chat_id)  # only a chat's oldest due row may go: order within a chat
            if row.chat_id in self._busy_chats or len(self._tasks) >= self.concurrency:
                continue
            if retrying.get(row.chat_id, row.id) < row.id:
                continue  # an older call of this chat waits for its retry
            ready = self.limiter.chat_ready_at(row.chat_id, now, counts=_counts(row))
            if ready > now:
                next_look = min(next_look, ready - now)
                continue
            slot = self.limiter.reserve(row.chat_id, now, counts=_counts(row))
            self._busy_chats.add(row.chat_id)
            self._inflight.add(row.id)
            task = asyncio.create_task(self._execute(row, slot))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        if len(rows) >= self.look_ahead or (self._tasks and len(self._tasks) >= self.concurrency):
            next_look = min(next_look, self.limiter.interval)
        self._finished_ids -= finished_before
        self.limiter.forget_idle(now)
        return max(next_look, 0.005)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox task crashed", exc_info=task.exception())

    async def _execute(self, row: Outbox, slot: float) -> None:
        try:
            async with self.sessions() as session:
                await OutboxRepository(session).mark_sending(row.id)
                await session.commit()
            wait = slot - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._call_and_record(row)
        finally:
            self._busy_chats.discard(row.chat_id)
            self._inflight.discard(row.id)
            self._finished_ids.add(row.id)

    async def _call_and_record(self, row: Outbox) -> None:
        try:
            result = await self._call(row)
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            self.stats.flood_waits += 1
            log.warning("429 in chat %s: waiting %.0fs", row.chat_id, seconds)
            self.limiter.pause_chat(row.chat_id, self.clock() + seconds)
            await self._retry_later(row, seconds, f"429 retry after {seconds:.0f}s")
        except ChatMigrated as exc:
            async with self.sessions() as session:
                await OutboxRepository(session).retarget(row.chat_id, exc.new_chat_id)
                await OutboxRepository(session).reschedule(row.id, not_before=utcnow(), error=None)
                await session.commit()
        except (BadRequest, Forbidden) as exc:
            if any(text in exc.message.lower() for text in ALREADY_DONE):
                await self._record_done(row, {"note": exc.message})
            else:
                await self._record_failed(row, f"{type(exc).__name__}: {exc.message}")
        except NetworkError as exc:  # timeouts and 5xx: transient
            if row.attempts + 1 >= MAX_ATTEMPTS:
                await self._record_failed(row, f"gave up after {MAX_ATTEMPTS} tries: {exc.message}")
            else:
                backoff = min(MAX_BACKOFF, self.backoff_base ** (row.attempts + 1))
                self.stats.retried += 1
                await self._retry_later(row, backoff, f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:  # a malformed row: record it, never retry it forever
            log.exception("outbox %s cannot be carried out", row.id)
            await self._record_failed(row, f"internal error: {type(exc).__name__}: {exc}")
        else:
            await self._record_done(row, result)

    async def _retry_later(self, row: Outbox, seconds: float, error: str) -> None:
        async with self.sessions() as session:
            await OutboxRepository(session).reschedule(
                row.id, not_before=utcnow() + timedelta(seconds=seconds), error=error
            )
            await session.commit()

    async def _record_failed(self, row: Outbox, error: str) -> None:
        self.stats.failed += 1
        log.warning("outbox %s (%s in %s) failed: %s", row.id, row.kind, row.chat_id, error)
        async with self.sessions() as session:
            await OutboxRepository(session).mark_failed(row.id, error, at=utcnow())
            await session.commit()

    async def _record_done(self, row: Outbox, result: dict[str, Any] | None) -> None:
        self.stats.done += 1
        now = utcnow()
        async with self.sessions() as session:
            outbox = OutboxRepository(session)
            await outbox.mark_done(row.id, result, at=now)
            message_id = (result or {}).get("message_id")
            if isinstance(message_id, int):
                await self._follow_up(outbox, PostedMessageRepository(session), row, message_id)
            await session.commit()

    async def _follow_up(
        self,
        outbox: OutboxRepository,
        posted: PostedMessageRepository,
        row: Outbox,
        message_id: int,
    ) -> None:
        """Replace the chat's previous message of the same kind; schedule self-deletion."""
        track = row.payload.get("track_as")
        if isinstance(track, str):
            previous = await posted.replace(row.chat_id, track, message_id, at=utcnow())
            if previous is not None:
                await outbox.add("delete_message", row.chat_id, {"message_id": previous})
        delete_after = row.payload.get("delete_after")
        if isinstance(delete_after, int | float) and delete_after > 0:
            await outbox.add(
                "delete_message",
                row.chat_id,
                {"message_id": message_id},
                not_before=utcnow() + timedelta(seconds=delete_after),
            )

    async def _call(self, row: Outbox) -> dict[str, Any] | None:
        call = _CALLS.get(row.kind)
        if call is None:
            raise BadRequest(f"unknown outbox kind {row.kind}")
        params = {
            k: v
            for k, v in row.payload.items()
            if k not in ("track_as", "delete_after") and not k.startswith("_")
        }
        value = await call(self.bot, row.chat_id, params)
        if isinstance(value, Message):
            return {"message_id": value.message_id}
        return None


def _counts(row: Outbox) -> bool:
    return row.kind in MESSAGE_KINDS


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 1.0)


def _markup(params: dict[str, Any], bot: Bot) -> dict[str, Any]:
    markup = params.pop("reply_markup", None)
    if markup:
        params["reply_markup"] = InlineKeyboardMarkup.de_json(markup, bot)
    return params


def _file(params: dict[str, Any], key: str) -> InputFile:
    data = base64.b64decode(params.pop(f"{key}_b64"))
    return InputFile(data, filename=params.pop("filename", f"{key}.bin"))


Call = Callable[[Bot, int, dict[str, Any]], Awaitable[Any]]

_CALLS: dict[str, Call] = {
    "send_message": lambda b, c, p: b.send_message(c, **_markup(p, b)),
    "send_photo": lambda b, c, p: b.send_photo(c, photo=_file(p, "photo"), **_markup(p, b)),
    "send_document": lambda b, c, p: b.send_document(
        c, document=_file(p, "document"), **_markup(p, b)
    ),
    "edit_message_text": lambda b, c, p: b.edit_message_text(chat_id=c, **_markup(p, b)),
    "delete_message": lambda b, c, p: b.delete_message(c, **p),
    "ban_chat_member": lambda b, c, p: b.ban_chat_member(c, **p),
    "unban_chat_member": lambda b, c, p: b.unban_chat_member(c, **p),
    "restrict_chat_member": lambda b, c, p: b.restrict_chat_member(
        c,
        user_id=p["user_id"],
        permissions=ChatPermissions(**p["permissions"]),
        until_date=p.get("until_date"),
        use_independent_chat_permissions=True,
    ),
    "leave_chat": lambda b, c, p: b.leave_chat(c),
    "approve_chat_join_request": lambda b, c, p: b.approve_chat_join_request(c, **p),
    "decline_chat_join_request": lambda b, c, p: b.decline_chat_join_request(c, **p),
}
