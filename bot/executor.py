"""The action executor: the one task that carries out queued Bot API calls.

Promises:
- every outbox row is tried until it is done or fails for good, with the reason kept;
- fairness and priority (`bot.lanes`): per chat and lane, in order; urgent removals first by
  share, then what people wait for, then housekeeping; removals of one chat go together in
  deleteMessages calls of up to 100;
- pacing (`bot.ratelimit`): calls are made at the moment their slot comes (about 30 a second
  overall; 20 messages a minute in a group), so the priorities decide at the last moment;
- a 429 pauses the chat for its retry_after; timeouts and server errors back off and retry;
- an answer that reports on a call (`after`) is sent only once that call (and every call it
  follows in turn) is finished, and says so truthfully when one failed, with the reason
  (`SendMessage.failures`);
- a row is marked `sending` (committed) before its call and `done` right after, so after a crash
  or kill -9 unfinished rows are resumed and finished rows are not repeated. Moderation calls are
  idempotent, so a resumed one has its effect once; a message whose send was cut after Telegram
  accepted it but before the commit (one local commit's window) is the only thing that can repeat.
No Bot API call is made while a database transaction is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.calls import call, delete_many, failure_reason
from bot.lanes import Job, LaneKey, Lanes, Pick
from bot.ratelimit import SendLimiter
from rules.actions import Action, DeleteMessage, Failure, Lane, Priority, SendMessage
from storage.db import SessionFactory
from storage.models import utcnow
from storage.outbox import (
    Claimed,
    CodecError,
    OutboxRepository,
    PostedMessageRepository,
    Queued,
    decode,
)

log = logging.getLogger(__name__)

# Errors that mean the wanted state already holds: the call is done, not failed.
ALREADY_DONE = (
    "message to delete not found",
    "message is not modified",
    "user_already_participant",
    "query is too old",
)
MAX_ATTEMPTS = 8
MARK_RETRIES = (0.2, 0.5, 1.0)  # seconds between tries to write that a call was done
MAX_BACKOFF = 300.0
BACKOFF_BASE = 2.0
RECONCILE_EVERY = 2.0  # seconds between looks for rows written elsewhere
FULL_LOOK_EVERY = 60.0  # seconds between looks at every unfinished row (late commits)


@dataclass
class ExecutorStats:
    done: int = 0
    failed: int = 0
    retried: int = 0
    flood_waits: int = 0
    calls: int = 0


@dataclass
class Executor:
    bot: Bot
    sessions: SessionFactory
    limiter: SendLimiter = field(default_factory=SendLimiter)
    concurrency: int = 32
    backoff_base: float = BACKOFF_BASE
    clock: Callable[[], float] = time.monotonic
    stats: ExecutorStats = field(default_factory=ExecutorStats)
    lanes: Lanes = field(default_factory=Lanes)
    _inflight: dict[int, Pick] = field(default_factory=dict)
    # finished row -> why it (or a call it followed) failed; None: it succeeded
    _outcomes: dict[int, Failure | None] = field(default_factory=dict)
    # rows Telegram carried out whose mark could not be written yet: never handed out again
    _unrecorded: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: asyncio.Task[None] | None = None
    _stopping: bool = False
    _high_water: int = 0
    _last_look: float = 0.0
    _last_full_look: float = 0.0

    # ---- feeding -----------------------------------------------------------------------------
    def accept(self, rows: Sequence[Queued]) -> None:
        """New (or moved) outbox rows, committed by their writer."""
        if not rows:
            return
        now, wall = self.clock(), utcnow()
        for row in rows:
            if row.id in self._inflight_ids():
                continue
            self._high_water = max(self._high_water, row.id)
            due = now + max(0.0, (row.not_before - wall).total_seconds())
            job = Job(row.id, row.chat_id, row.lane, row.priority, due, row.after_id)
            after = row.after_id
            waits = after is not None and (
                after in self.lanes.jobs or after in self._inflight_ids()
            )
            self.lanes.add(job, now, waits_for=waits)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def _inflight_ids(self) -> set[int]:
        return {job.id for pick in self._inflight.values() for job in pick.jobs}

    async def look(self, *, full: bool = False) -> None:
        """Read rows other writers queued (the command line, another process), or that committed
        out of id order; with `full`, every unfinished row."""
        async with self.sessions() as session:
            repo = OutboxRepository(session)
            rows = await repo.unfinished(after_id=0 if full else self._high_water)
            known = set(self.lanes.jobs) | self._inflight_ids() | set(self._unrecorded)
            fresh = [r for r in rows if r.id not in known]
            waiting_on = {r.after_id for r in fresh if r.after_id is not None}
            statuses = await repo.statuses(sorted(waiting_on)) if waiting_on else {}
        for row_id, status in statuses.items():
            if status != "pending" and status != "sending":
                self._outcomes[row_id] = None if status == "done" else Failure.OTHER
        self.accept(fresh)

    # ---- running -----------------------------------------------------------------------------
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
            self._runner = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_timeout)

    async def run(self) -> None:
        await self.look(full=True)
        while not self._stopping:
            try:
                delay = await self.step()
            except Exception:  # a database hiccup must not kill the executor
                log.exception("outbox dispatch failed; retrying")
                delay = 1.0
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def step(self) -> float:
        """Start every call whose moment has come; return how long to wait before looking again
        (0: look again at once)."""
        now = self.clock()
        if now - self._last_look >= RECONCILE_EVERY:
            full = now - self._last_full_look >= FULL_LOOK_EVERY
            self._last_look = now
            if full:
                self._last_full_look = now
            await self._record_unrecorded()
            await self.look(full=full)
            self.limiter.forget_idle(now)
        self.lanes.release_due(now)
        slot = self.limiter.next_slot(now)
        if slot > now:
            return slot - now
        if len(self._tasks) >= self.concurrency:
            return 0.05
        pick = self.lanes.take(now, self._sendable)
        if pick is None:
            return self._idle_wait(now)
        self.limiter.reserve(pick.chat_id, now, counts=pick.lane is Lane.MESSAGE)
        self._inflight[id(pick)] = pick
        task = asyncio.create_task(self._execute(pick))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return 0.0

    def _sendable(self, key: LaneKey, job: Job) -> bool:
        now = self.clock()
        counts = key[1] is Lane.MESSAGE
        return self.limiter.chat_ready_at(key[0], now, counts=counts) <= now

    def _idle_wait(self, now: float) -> float:
        waits = [RECONCILE_EVERY]
        timer = self.lanes.next_timer()
        if timer is not None:
            waits.append(timer - now)
        batch = self.lanes.delete_wait(now)
        if batch is not None:
            waits.append(batch)
        if self.lanes.lanes:  # lanes held by rate limits or retries: look again soon
            waits.append(0.25)
        return max(0.005, min(waits))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox task crashed", exc_info=task.exception())

    async def drain(self, *, timeout: float = 60.0) -> None:
        """Until every queued row is finished, including those due later (for tests, scripts and
        benchmarks). Steps the executor itself when it is not running."""
        deadline = self.clock() + timeout
        if self._runner is None:
            await self.look(full=True)
        while self.lanes.jobs or self._tasks:
            if self.clock() > deadline:
                raise TimeoutError("outbox not drained in time")
            delay = 0.02 if self._runner is not None else await self.step()
            await asyncio.sleep(min(max(delay, 0.001), 0.02))

    # ---- one call ---------------------------------------------------------------------------
    async def _execute(self, pick: Pick) -> None:
        try:
            async with self.sessions() as session:
                claimed = await OutboxRepository(session).claim([j.id for j in pick.jobs])
                await session.commit()
            jobs = {j.id: j for j in pick.jobs}
            if claimed:
                await self._carry_out(pick, claimed, jobs)
            gone = [j.id for j in pick.jobs if j.id not in {c.id for c in claimed}]
            if gone:  # finished or cancelled meanwhile: what waits for them may go now
                await self._settle_from_rows(gone)
        finally:
            self.lanes.done(pick)
            self._inflight.pop(id(pick), None)
            self._wake.set()

    async def _carry_out(self, pick: Pick, claimed: list[Claimed], jobs: dict[int, Job]) -> None:
        ids = [c.id for c in claimed]
        try:
            actions = [decode(c.kind, c.chat_id, c.priority, c.payload) for c in claimed]
        except CodecError as exc:
            await self._record_failed(ids, str(exc))
            return
        first = actions[0]
        try:
            self.stats.calls += 1
            if pick.lane is Lane.DELETE and len(actions) > 1:
                message_ids = [a.message_id for a in actions if isinstance(a, DeleteMessage)]
                result = await delete_many(self.bot, pick.chat_id, message_ids)
            else:
                first = await self._as_reported(first, jobs.get(ids[0]))
                result = await call(self.bot, first)
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            self.stats.flood_waits += 1
            log.warning("429 in chat %s: waiting %.0fs", pick.chat_id, seconds)
            self.limiter.pause_chat(pick.chat_id, self.clock() + seconds)
            # a flood wait is Telegram's pacing, not a failure: it uses up no attempt
            error = f"429 retry after {seconds:.0f}s"
            await self._retry(pick, jobs, ids, seconds, error, refund=True)
        except ChatMigrated as exc:
            await self._migrated(pick, jobs, ids, exc.new_chat_id)
        except (BadRequest, Forbidden) as exc:
            if any(text in exc.message.lower() for text in ALREADY_DONE):
                await self._record_done(ids, {"note": exc.message}, first)
            else:
                error = f"{type(exc).__name__}: {exc.message}"
                await self._record_failed(ids, error, failure_reason(exc.message))
        except NetworkError as exc:  # timeouts and 5xx: transient
            attempts = max(c.attempts for c in claimed)
            if attempts >= MAX_ATTEMPTS:
                await self._record_failed(ids, f"gave up after {MAX_ATTEMPTS} tries: {exc.message}")
            else:
                backoff = min(MAX_BACKOFF, self.backoff_base ** max(1, attempts))
                self.stats.retried += 1
                await self._retry(pick, jobs, ids, backoff, f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:  # a malformed row: record it, never retry it forever
            log.exception("outbox %s cannot be carried out", ids)
            await self._record_failed(ids, f"internal error: {type(exc).__name__}: {exc}")
        else:
            value = {"message_id": result.message_id} if isinstance(result, Message) else None
            await self._record_done(ids, value, first)

    async def _as_reported(self, action: Action, job: Job | None) -> Action:
        """A message that reports on earlier calls says why one of them failed instead, when
        one did."""
        if not isinstance(action, SendMessage) or not action.failures or job is None:
            return action
        if job.after_id is None:
            return action
        reason = await self._failure_of(job.after_id)
        text = action.failure_text(reason) if reason is not None else None
        return replace(action, text=text, failures=()) if text else action

    async def _failure_of(self, row_id: int) -> Failure | None:
        if row_id in self._outcomes:
            return self._outcomes[row_id]
        async with self.sessions() as session:
            status = (await OutboxRepository(session).statuses([row_id])).get(row_id)
        return None if status == "done" else Failure.OTHER

    async def _settle_from_rows(self, ids: list[int]) -> None:
        async with self.sessions() as session:
            statuses = await OutboxRepository(session).statuses(ids)
        for row_id in ids:
            status = statuses.get(row_id)
            if status in ("pending", "sending"):
                continue  # still queued: it will be handed out again
            self._settle([row_id], None if status == "done" else Failure.OTHER)

    async def _retry(
        self,
        pick: Pick,
        jobs: dict[int, Job],
        ids: list[int],
        seconds: float,
        error: str,
        *,
        refund: bool = False,
    ) -> None:
        """Back to the head of their lanes at once (nothing later may overtake them), then the
        rows are marked pending again."""
        now = self.clock()
        self.lanes.retry([jobs[i] for i in ids if i in jobs], now + seconds, now)
        async with self.sessions() as session:
            await OutboxRepository(session).reschedule(
                ids, not_before=utcnow() + timedelta(seconds=seconds), error=error, refund=refund
            )
            await session.commit()

    async def _migrated(
        self, pick: Pick, jobs: dict[int, Job], ids: list[int], new_chat: int
    ) -> None:
        """A group became a supergroup: its calls move to the new chat, this one first, and
        none of them goes until the rows say so too."""
        now = self.clock()
        self.lanes.retry([jobs[i] for i in ids if i in jobs], now, now)
        self.lanes.retarget(pick.chat_id, new_chat)
        held = (new_chat, pick.lane)
        self.lanes.busy.add(held)
        try:
            async with self.sessions() as session:
                outbox = OutboxRepository(session)
                await outbox.retarget(pick.chat_id, new_chat)
                await outbox.reschedule(ids, not_before=utcnow(), error=f"moved to {new_chat}")
                await session.commit()
        finally:
            self.lanes.busy.discard(held)

    async def _record_failed(
        self, ids: list[int], error: str, reason: Failure = Failure.OTHER
    ) -> None:
        self.stats.failed += len(ids)
        log.warning("outbox %s failed: %s", ids, error)
        async with self.sessions() as session:
            await OutboxRepository(session).mark_failed(ids, error, at=utcnow())
            await session.commit()
        self._settle(ids, reason)

    async def _record_done(
        self, ids: list[int], result: dict[str, Any] | None, action: Any
    ) -> None:
        self.stats.done += len(ids)
        follow: list[Queued] = []
        for delay in MARK_RETRIES:
            try:
                follow = await self._mark_done(ids, result, action)
                break
            except SQLAlchemyError as exc:
                log.warning("outbox %s done but not marked (%s); trying again", ids, exc)
                await asyncio.sleep(delay)
        else:  # Telegram did it: never send it again; the mark is written when it can be
            log.error("outbox %s done but not marked; kept in memory until it is", ids)
            self._unrecorded.update(dict.fromkeys(ids, result))
        self._settle(ids, None)
        self.accept(follow)

    async def _mark_done(
        self, ids: list[int], result: dict[str, Any] | None, action: Any
    ) -> list[Queued]:
        async with self.sessions() as session:
            outbox = OutboxRepository(session)
            await outbox.mark_done(ids, result, at=utcnow())
            follow: list[Queued] = []
            message_id = (result or {}).get("message_id")
            if isinstance(message_id, int) and isinstance(action, SendMessage):
                follow = await _follow_up(
                    outbox, PostedMessageRepository(session), action, message_id
                )
            await session.commit()
        return follow

    async def _record_unrecorded(self) -> None:
        for row_id, result in list(self._unrecorded.items()):
            try:
                await self._mark_done([row_id], result, None)
            except SQLAlchemyError:
                return
            del self._unrecorded[row_id]

    def _settle(self, ids: list[int], failure: Failure | None) -> None:
        """Finished rows: an answer that follows one fails with it, and inherits the failure of
        the calls that one followed in turn."""
        now = self.clock()
        if len(self._outcomes) > 10_000:
            self._outcomes.clear()
        for row_id in ids:
            job = self._inflight_job(row_id)
            inherited = self._outcomes.get(job.after_id) if job and job.after_id else None
            self._outcomes[row_id] = failure or inherited
            self.lanes.finished(row_id, now)

    def _inflight_job(self, row_id: int) -> Job | None:
        for pick in self._inflight.values():
            for job in pick.jobs:
                if job.id == row_id:
                    return job
        return None


async def _follow_up(
    outbox: OutboxRepository, posted: PostedMessageRepository, sent: SendMessage, message_id: int
) -> list[Queued]:
    """Replace the chat's previous message of the same kind; schedule self-removal."""
    queued: list[Queued] = []
    if sent.replace is not None:
        previous = await posted.replace(sent.chat_id, sent.replace, message_id, at=utcnow())
        if previous is not None:
            tidy = DeleteMessage(
                chat_id=sent.chat_id, message_id=previous, priority=Priority.BACKGROUND
            )
            queued.append(Queued.of(await outbox.add(tidy)))
    if sent.delete_after > 0:
        later = utcnow() + timedelta(seconds=sent.delete_after)
        tidy = DeleteMessage(
            chat_id=sent.chat_id, message_id=message_id, priority=Priority.BACKGROUND
        )
        queued.append(Queued.of(await outbox.add(tidy, not_before=later)))
    return queued


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the library warns that the type will change: both work
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 1.0)
