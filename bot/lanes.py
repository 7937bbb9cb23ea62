"""Which queued call goes next: the executor's scheduling, without any I/O.

Every chat has three lanes (`rules.actions.Lane`): removals, member changes and messages. A lane
keeps its calls in order and has at most one call under way; the lanes of a chat and all the
chats move independently, so one chat's paced backlog never holds another chat's calls. Calls
come in three priorities (urgent removals, what people wait for, housekeeping); each priority
keeps a round-robin line of the lanes whose next call has it, and the priorities share the send
rate by weight (stride scheduling: 6 : 3 : 1 while all three have work; a priority with no work
lends its share). Removals wait a moment to be sent together (deleteMessages takes 100 ids).

A call not yet due waits in a timer heap; a call that reports on another (`after`) waits until
that one is finished; a call being retried blocks its lane until its retry time, keeping order.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rules.actions import Lane, Priority
from rules.limits import DELETE_BATCH

WEIGHTS = {Priority.URGENT: 6.0, Priority.NORMAL: 3.0, Priority.BACKGROUND: 1.0}
DELETE_WINDOW = 0.3  # seconds a removal waits for others to share its deleteMessages call

LaneKey = tuple[int, Lane]


@dataclass
class Job:
    """One outbox row as the scheduler sees it."""

    id: int
    chat_id: int
    lane: Lane
    priority: Priority
    due: float  # monotonic seconds
    after_id: int | None = None
    blocked_until: float = 0.0  # a retry's time: the lane waits behind it

    @property
    def key(self) -> LaneKey:
        return (self.chat_id, self.lane)


@dataclass
class Pick:
    chat_id: int
    lane: Lane
    jobs: list[Job]


@dataclass
class Lanes:
    """The queued calls: waiting for their time, waiting for another call, or in their lane."""

    delete_window: float = DELETE_WINDOW
    jobs: dict[int, Job] = field(default_factory=dict)
    lanes: dict[LaneKey, list[Job]] = field(default_factory=dict)
    busy: set[LaneKey] = field(default_factory=set)
    ready: dict[Priority, OrderedDict[LaneKey, None]] = field(
        default_factory=lambda: {p: OrderedDict() for p in Priority}
    )
    passes: dict[Priority, float] = field(default_factory=lambda: dict.fromkeys(Priority, 0.0))
    timers: list[tuple[float, int]] = field(default_factory=list)
    dependents: dict[int, list[Job]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.jobs)

    # ---- adding, moving, finishing ---------------------------------------------------------
    def add(self, job: Job, now: float, *, waits_for: bool = False) -> None:
        """Queue a job (or move one already queued to its new time)."""
        if job.id in self.jobs:
            self._remove(self.jobs[job.id])
        self.jobs[job.id] = job
        if waits_for and job.after_id is not None:
            self.dependents.setdefault(job.after_id, []).append(job)
        elif job.due > now:
            heapq.heappush(self.timers, (job.due, job.id))
        else:
            self._enter(job)

    def release_due(self, now: float) -> None:
        """Jobs whose time has come enter their lanes."""
        while self.timers and self.timers[0][0] <= now:
            due, job_id = heapq.heappop(self.timers)
            job = self.jobs.get(job_id)
            if job is not None and job.due == due and not self._in_lane(job):
                self._enter(job)

    def finished(self, job_id: int, now: float) -> list[Job]:
        """A call is done or failed: the jobs that waited for it enter their lanes now."""
        waiting = self.dependents.pop(job_id, [])
        for job in waiting:
            if self.jobs.get(job.id) is job:
                job.due = now
                self._enter(job)
        return waiting

    def next_timer(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    def _in_lane(self, job: Job) -> bool:
        return any(j.id == job.id for j in self.lanes.get(job.key, ()))

    def _enter(self, job: Job) -> None:
        lane = self.lanes.setdefault(job.key, [])
        index = len(lane)
        while index > 0 and lane[index - 1].id > job.id:
            index -= 1
        lane.insert(index, job)
        if index == 0:
            self._reline(job.key)

    def _remove(self, job: Job) -> None:
        lane = self.lanes.get(job.key)
        if lane is not None and job in lane:
            first = lane[0] is job
            lane.remove(job)
            if not lane:
                del self.lanes[job.key]
            if first:
                self._reline(job.key)
        for waiting in self.dependents.values():
            if job in waiting:
                waiting.remove(job)
        self.jobs.pop(job.id, None)

    def _reline(self, key: LaneKey) -> None:
        """Put the lane in the line of its head's priority (or in none, when it is empty)."""
        for line in self.ready.values():
            line.pop(key, None)
        lane = self.lanes.get(key)
        if lane:
            self.ready[lane[0].priority][key] = None

    # ---- taking the next call ---------------------------------------------------------------
    def take(self, now: float, sendable: Callable[[LaneKey, Job], bool]) -> Pick | None:
        """The next call (or batch of removals) to make now, by priority share and round robin;
        its lane is busy until `done`."""
        order = sorted(Priority, key=lambda p: (self.passes[p], p))
        skipped: list[Priority] = []
        for priority in order:
            pick = self._take_from(priority, now, sendable)
            if pick is None:
                skipped.append(priority)
                continue
            # a priority with nothing to send lends its turn; it gains no credit meanwhile
            for idle in skipped:
                self.passes[idle] = max(self.passes[idle], self.passes[priority])
            self.passes[priority] += 1.0 / WEIGHTS[priority]
            return pick
        return None

    def _take_from(
        self, priority: Priority, now: float, sendable: Callable[[LaneKey, Job], bool]
    ) -> Pick | None:
        line = self.ready[priority]
        for key in list(line):
            if key in self.busy:
                continue
            due = self._due_in(self.lanes[key], key, now, sendable)
            if not due:
                continue
            line.move_to_end(key)
            self.busy.add(key)
            lane = self.lanes[key]
            for job in due:
                lane.remove(job)
                del self.jobs[job.id]
            if not lane:
                del self.lanes[key]
            self._reline(key)
            return Pick(key[0], key[1], due)
        return None

    def _due_in(
        self, lane: list[Job], key: LaneKey, now: float, sendable: Callable[[LaneKey, Job], bool]
    ) -> list[Job]:
        """The calls of a lane to make now: its head (held by a retry, the lane waits), or for
        removals, which keep no order, every one not held (up to a batch), once the oldest has
        waited the batching window."""
        head = lane[0]
        if not sendable(key, head):
            return []
        if key[1] is not Lane.DELETE:
            return [head] if head.blocked_until <= now else []
        due = [j for j in lane if j.blocked_until <= now][:DELETE_BATCH]
        if not due or (
            len(due) < DELETE_BATCH and now - min(j.due for j in due) < self.delete_window
        ):
            return []
        return due

    def done(self, pick: Pick) -> None:
        self.busy.discard((pick.chat_id, pick.lane))

    def retry(self, jobs: Iterable[Job], until: float, now: float) -> None:
        """Calls to make again at `until`, ahead of their lane's later calls."""
        for job in jobs:
            job.blocked_until = until
            job.due = min(job.due, now)
            self.jobs[job.id] = job
            self._enter(job)

    def retarget(self, old_chat: int, new_chat: int) -> None:
        """A group became a supergroup: its queued calls move to the new chat, in order."""
        moved = [job for job in self.jobs.values() if job.chat_id == old_chat]
        for job in moved:
            self._remove(job)
            job.chat_id = new_chat
            self.jobs[job.id] = job
            self._enter(job)

    def delete_wait(self, now: float) -> float | None:
        """How long until a waiting batch of removals may go (None: none waits)."""
        waits = [
            lane[0].due + self.delete_window - now
            for key, lane in self.lanes.items()
            if key[1] is Lane.DELETE and key not in self.busy
        ]
        return max(0.0, min(waits)) if waits else None
