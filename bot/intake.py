"""The intake: every stored update is handled, chats in parallel, each chat in order, and no
chat's backlog holds the workers other chats need.

Updates arrive from `storage.inbox` (written and committed by the receiver before Telegram was
told, see `bot.poller` and `bot.webhook`) and wait in one queue per chat. Workers take a chat
(round robin), handle its oldest update, and put the chat back at the end of the line: a flood
in one chat uses one worker at a time, whatever its length. An update is handled in a unit of
work through python-telegram-bot's handlers (`Application.process_update`); the unit commits
with the inbox row marked done, or, when it decided nothing, the mark goes with the next
activity batch. An update that cannot be parsed is set aside at once; one whose handling fails
is tried again, then set aside (kept with its error, logged once, counted in the owners' digest)
and the chat's later updates flow on. Waiting for Telegram (an admin list it cannot give now)
is not a failure: the update is tried again for a while before it is set aside.

The inbox can later be a Redis stream sharded by chat, read by several workers: this module is
its one reader, handlers never see where an update came from, and the mark that an update was
handled (`InboxRepository.claim`, an upsert) is written with the update's effects either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from telegram import Update

from bot.units import AfterCommit, close
from handlers.context import BotApplication
from services.authority import AuthorityUnknown
from services.telegram import TelegramUnavailable
from services.uow import UnitOfWork
from storage.inbox import InboxRepository, Received, storable, update_id_of
from storage.models import utcnow

log = logging.getLogger(__name__)

UPDATE_TIMEOUT = 60.0  # seconds one update may take before it counts as failed
RETRY_DELAYS = (1.0, 5.0)  # a failing update is tried len + 1 times
WAIT_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0)  # then every 120 s...
WAIT_ATTEMPTS = 30  # ... up to about an hour of waiting for Telegram
NO_CHAT = 0  # the order key of updates that belong to no chat and no user


class Outcome(Enum):
    DONE = "done"
    RETRY = "retry"
    SET_ASIDE = "set_aside"


@dataclass(frozen=True)
class Receipt:
    new: int  # updates not seen before
    highest: int | None  # the highest update_id received (the next offset is one past it)


@dataclass
class IntakeStats:
    handled: int = 0
    retried: int = 0
    set_aside: int = 0


def order_key(payload: dict[str, object]) -> int | None:
    """The chat an update belongs to (its order key), read from the raw JSON without parsing it:
    the chat of the message, member change, reaction or join request; a button's message's chat;
    else the user; None when there is none."""
    for name, value in payload.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict):
                chat = holder.get("chat")
                if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                    return int(chat["id"])
        user = value.get("from") or value.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    return None


class Intake:
    def __init__(
        self,
        app: BotApplication,
        after: AfterCommit,
        *,
        workers: int = 16,
        max_backlog: int = 20_000,
    ) -> None:
        self.app = app
        self.rt = app.runtime
        self.after = after
        self.workers = workers
        self.max_backlog = max_backlog
        self.stats = IntakeStats()
        self._queues: dict[int, deque[Received]] = {}
        self._ready: deque[int] = deque()
        self._busy: set[int] = set()
        self._held: set[int] = set()  # chats waiting for a retry's delay
        self._known: set[int] = set()
        self._wake = asyncio.Condition()
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._waking: set[asyncio.Task[None]] = set()
        self._stopping = False
        # more updates wait in the inbox than were taken up at start: nothing new is received
        # until they are all taken up (so a chat's old updates go before its new ones)
        self._overflow = False
        self._loaded_upto: int | None = None
        self._refilling = False

    # ---- receiving ---------------------------------------------------------------------
    async def receive(self, raw_updates: Sequence[object]) -> Receipt:
        """Store a batch of updates as they came and commit, then queue the new ones: the
        receiver may acknowledge them to Telegram once this returns."""
        items: list[Received] = []
        highest: int | None = None
        for raw in raw_updates:
            update_id = update_id_of(raw)
            if update_id is None:
                log.error("an update without a usable update_id was received: dropped")
                beyond = raw.get("update_id") if isinstance(raw, dict) else None
                if isinstance(beyond, int) and not isinstance(beyond, bool) and beyond > 0:
                    highest = beyond if highest is None else max(highest, beyond)  # move past it
                continue
            assert isinstance(raw, dict)
            payload, _ = storable(raw)  # handled as it is stored (a NUL made U+FFFD, ...)
            items.append(Received(update_id, order_key(raw), payload))
            highest = update_id if highest is None else max(highest, update_id)
        new: set[int] = set()
        if items:
            async with self.rt.sessions() as session:
                new = await InboxRepository(session).add_new(items, at=utcnow())
                await session.commit()
            self.accept([i for i in items if i.update_id in new])
        return Receipt(len(new), highest)

    # ---- queueing ----------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        return len(self._known)

    async def start(self) -> None:
        """Take up what the inbox holds (left by a stop or a crash), then start the workers."""
        self._stopping = False
        async with self.rt.sessions() as session:
            pending = await InboxRepository(session).pending(limit=self.max_backlog)
        if pending:
            log.info("taking up %d updates left in the inbox", len(pending))
        self._overflow = len(pending) >= self.max_backlog
        self._loaded_upto = pending[-1].update_id if pending else None
        self.accept(pending)
        self._tasks = [
            asyncio.create_task(self._work(), name=f"intake-{n}") for n in range(self.workers)
        ]

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Let updates under way finish; the rest stay in the inbox for the next start."""
        self._stopping = True
        for timer in self._timers:
            timer.cancel()
        async with self._wake:
            self._wake.notify_all()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=timeout)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []

    def accept(self, items: Sequence[Received]) -> None:
        """Queue stored updates (in update order) behind their chat's earlier ones."""
        added = False
        for item in items:
            if item.update_id in self._known:
                continue
            self._known.add(item.update_id)
            key = item.chat_id if item.chat_id is not None else NO_CHAT
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                if key not in self._busy and key not in self._held:
                    self._ready.append(key)
            _insert_in_order(queue, item, head_taken=key in self._busy)
            added = True
        self._update_room()
        if added:
            self._idle.clear()
            self._notify_soon()

    async def _notify(self) -> None:
        async with self._wake:
            self._wake.notify_all()

    def _notify_soon(self) -> None:
        """`_notify` from code that cannot await. The task is kept until it has run: the event
        loop holds tasks only weakly."""
        task = asyncio.get_running_loop().create_task(self._notify())
        self._waking.add(task)
        task.add_done_callback(self._waking.discard)

    @property
    def has_room(self) -> bool:
        return not self._overflow and self.backlog < self.max_backlog

    def _update_room(self) -> None:
        if self.has_room:
            self._room.set()
        else:
            self._room.clear()
        if self._overflow and not self._refilling and self.backlog <= self.max_backlog // 2:
            self._refilling = True
            task = asyncio.get_running_loop().create_task(self._refill())
            self._waking.add(task)
            task.add_done_callback(self._waking.discard)

    async def _refill(self) -> None:
        """Take up the next updates left in the inbox, in update order."""
        try:
            room = self.max_backlog - self.backlog
            async with self.rt.sessions() as session:
                more = await InboxRepository(session).pending(
                    limit=room, after_id=self._loaded_upto
                )
            if more:
                self._loaded_upto = more[-1].update_id
            self._overflow = len(more) >= room  # a full batch: there may be more
            self.accept(more)
        except Exception:  # the next freed room tries again
            log.exception("updates left in the inbox could not be taken up")
        finally:
            self._refilling = False
            self._update_room()

    async def wait_room(self) -> None:
        """Until the backlog is under its bound (the receiver waits: Telegram keeps the rest)."""
        await self._room.wait()

    async def idle(self, timeout: float = 30.0) -> None:
        """Until every accepted update is handled (for tests and benchmarks)."""
        if self._known:
            await asyncio.wait_for(self._idle.wait(), timeout)

    # ---- the workers --------------------------------------------------------------------
    async def _next_chat(self) -> int | None:
        async with self._wake:
            while not self._ready:
                if self._stopping:
                    return None
                await self._wake.wait()
            if self._stopping:
                return None
            key = self._ready.popleft()
            self._busy.add(key)
            return key

    async def _work(self) -> None:
        while True:
            key = await self._next_chat()
            if key is None:
                return
            queue = self._queues[key]
            item = queue[0]
            delay = RETRY_DELAYS[0]
            try:
                outcome, delay = await self._handle(item)
            except Exception:  # the intake itself must not die: try the update again later
                log.exception("update %s could not be handled", item.update_id)
                outcome = Outcome.RETRY
            self._busy.discard(key)
            if outcome is Outcome.RETRY and not self._stopping:
                queue[0] = replace(item, attempts=item.attempts + 1)
                self._hold(key, delay)
                continue
            if outcome is not Outcome.RETRY:
                queue.popleft()
                self._known.discard(item.update_id)
            if queue and not self._stopping:
                self._ready.append(key)
                await self._notify()
            elif not queue:
                del self._queues[key]
            self._update_room()
            if not self._known:
                self._idle.set()

    def _hold(self, key: int, delay: float) -> None:
        self._held.add(key)
        timer: asyncio.TimerHandle

        def release() -> None:
            self._timers.discard(timer)
            self._held.discard(key)
            if key in self._queues and not self._stopping:
                self._ready.append(key)
                self._notify_soon()

        timer = asyncio.get_running_loop().call_later(delay, release)
        self._timers.add(timer)

    # ---- one update ---------------------------------------------------------------------
    async def _handle(self, item: Received) -> tuple[Outcome, float]:
        try:
            update = Update.de_json(item.payload, self.app.bot)
        except Exception as exc:
            reason = f"cannot be parsed: {type(exc).__name__}: {exc}"
            return await self._set_aside(item, reason), 0.0
        if not isinstance(update, Update) or update.update_id != item.update_id:
            return await self._set_aside(item, "not an update object"), 0.0
        uow = UnitOfWork(self.rt.sessions)
        self.app.units[item.update_id] = uow
        try:
            await asyncio.wait_for(self.app.process_update(update), UPDATE_TIMEOUT)
        except Exception as exc:  # a timeout, or a failure outside any handler
            uow.failed, uow.error = True, exc
        finally:
            self.app.units.pop(item.update_id, None)
        try:
            if uow.failed:
                await close(self.rt, uow, self.after)
                return await self._failed(item, uow.error)
            committed = await close(self.rt, uow, self.after, update_id=item.update_id)
        except Exception as exc:  # the commit itself failed: the update is tried again
            return await self._failed(item, exc)
        if not committed:
            # Nothing decided: no transaction; the inbox mark goes with the next batch.
            self.rt.activity.note_processed(item.update_id)
        self.stats.handled += 1
        return Outcome.DONE, 0.0

    async def _failed(self, item: Received, error: BaseException | None) -> tuple[Outcome, float]:
        waiting = isinstance(error, AuthorityUnknown | TelegramUnavailable)
        limit = WAIT_ATTEMPTS if waiting else len(RETRY_DELAYS)
        described = f"{type(error).__name__}: {error}" if error is not None else "failed"
        if item.attempts >= limit:
            detail = "".join(traceback.format_exception(error)) if error is not None else described
            return await self._set_aside(item, detail), 0.0
        self.stats.retried += 1
        if waiting:
            log.warning("update %s waits for Telegram: %s", item.update_id, described)
        else:
            log.warning(
                "update %s failed (try %d): %s", item.update_id, item.attempts + 1, described
            )
        async with self.rt.sessions() as session:
            await InboxRepository(session).record_failure(item.update_id, described)
            await session.commit()
        delays = WAIT_DELAYS if waiting else RETRY_DELAYS
        return Outcome.RETRY, delays[min(item.attempts, len(delays) - 1)]

    async def _set_aside(self, item: Received, error: str) -> Outcome:
        self.stats.set_aside += 1
        log.error("update %s set aside: %s", item.update_id, error)
        async with self.rt.sessions() as session:
            await InboxRepository(session).quarantine(item.update_id, error, at=utcnow())
            await session.commit()
        return Outcome.SET_ASIDE


def _insert_in_order(queue: deque[Received], item: Received, *, head_taken: bool) -> None:
    """Queue `item` in update order (webhook deliveries may arrive out of it), never ahead of
    an update being handled."""
    position = len(queue)
    first = 1 if head_taken else 0
    while position > first and queue[position - 1].update_id > item.update_id:
        position -= 1
    queue.insert(position, item)
