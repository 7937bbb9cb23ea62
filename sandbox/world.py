"""The sandbox's Telegram: users, groups, members with rights, messages, updates and a journal.

`World` holds the state and answers questions about it; it has no I/O. People act on it through
`Membership` and `Talk`, which take the world in their constructor; the bot acts on it through
`bot_api.call`, which answers as the Bot API does and journals every call. `events` keeps a
readable line for everything that happened, for transcripts. `settle` and `wait_for` let tests
and the console wait until the bot is done; `touch` wakes whoever waits for a change.

Dates (in updates, results, until_date checks) come from a movable clock, `now()`: the real time
plus `time_offset`, moved by `shift` and `set_time_offset` to play a story over days. Rate limits
and storms (`limits`) run on a monotonic `clock`, waiting on the real one. `latency` is how long
every Bot API call takes to arrive, as the carriers (the HTTP server, the in-process request)
await it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sandbox.limits import Limits
from sandbox.model import ADMIN_RIGHTS, BOT_ID, PRESENT, Call, Chat, Event, Member, Message, User
from sandbox.updates import UpdateQueue, kind_of

UserRef = User | str | int
ChatRef = Chat | str | int


class World:
    """Everything the sandbox knows. Tests and the console act on it; the server serves it."""

    def __init__(
        self,
        *,
        per_second: int = 30,
        per_chat_per_minute: int = 20,
        enforce_limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        bot_username: str = "groupkeeper_bot",
        latency: float = 0.0,
    ) -> None:
        self.bot = User(BOT_ID, "GroupKeeper", bot_username, is_bot=True, language_code=None)
        self.users: dict[str, User] = {}
        self.by_id: dict[int, User] = {self.bot.id: self.bot}
        self.chats: dict[str, Chat] = {}
        self.chat_by_id: dict[int, Chat] = {}
        self.owner_ids: list[int] = []
        self.updates = UpdateQueue()
        self.journal: list[Call] = []
        self.events: list[Event] = []
        self.refused: list[tuple[str, str]] = []  # (user name, chat key): joins refused by a ban
        self.limits = Limits(
            per_second=per_second,
            per_chat_per_minute=per_chat_per_minute,
            enforce=enforce_limits,
            clock=clock,
        )
        self.too_many_requests = 0  # calls answered 429
        self.time_offset = 0.0  # seconds the sandbox's dates run ahead of (or behind) real time
        self.latency = latency  # seconds each Bot API call takes to arrive
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}  # open callback queries by id
        self.busy = 0  # Bot API calls being answered right now
        self.poll_generation = 0  # the latest getUpdates call; an older one still waiting loses
        self._names: dict[int, str] = {self.bot.id: "bot"}
        self._last_activity = time.monotonic()
        self._waiters: list[asyncio.Event] = []
        self._next_user_id = 100_001
        self._next_group_id = 1

    # ---- the date clock -----------------------------------------------------------------
    def now(self) -> int:
        """The sandbox's date in Unix seconds: every date in an update or a result."""
        return int(time.time() + self.time_offset)

    def shift(self, seconds: float) -> None:
        """Move the date clock by `seconds` (forward; negative goes back)."""
        self.time_offset += seconds

    def set_time_offset(self, seconds: float) -> None:
        """Put the date clock `seconds` from the real now (0: back to the real time)."""
        self.time_offset = float(seconds)

    # ---- people and groups that exist before the story starts ---------------------------
    def add_user(
        self,
        name: str,
        *,
        owner: bool = False,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language: str = "en",
        language_code: str | None = None,
        is_bot: bool = False,
        user_id: int | None = None,
    ) -> User:
        """A person (or another bot) known by `name` in tests and scenarios."""
        if username is None and name.isascii() and name.replace("_", "").isalnum():
            username = name.lower()
        user = User(
            user_id or self._next_user_id,
            first_name or (name.capitalize() if name.islower() else name),
            username,
            is_bot=is_bot,
            language_code=language_code or language,
            last_name=last_name,
        )
        self._next_user_id += 1
        self.users[name] = user
        self.by_id[user.id] = user
        self._names.setdefault(user.id, name)
        if owner:
            self.owner_ids.append(user.id)
        return user

    def add_group(
        self,
        key: str,
        title: str,
        *,
        owner: UserRef,
        admins: tuple[UserRef, ...] = (),
        members: tuple[UserRef, ...] = (),
        supergroup: bool = True,
        username: str | None = None,
    ) -> Chat:
        """A group that exists before the story starts (no updates are queued)."""
        kind = "supergroup" if supergroup else "group"
        chat = Chat(self.new_group_id(supergroup), key, title, kind, username)
        creator = self.user(owner)
        chat.members[creator.id] = Member(creator, "creator")
        for admin in admins:
            person = self.user(admin)
            chat.members[person.id] = Member(person, "administrator", dict(ADMIN_RIGHTS))
        for member in members:
            person = self.user(member)
            chat.members.setdefault(person.id, Member(person))
        self.chats[key] = chat
        self.chat_by_id[chat.id] = chat
        return chat

    def new_group_id(self, supergroup: bool) -> int:
        """A fresh chat id shaped as Telegram shapes it: -100… for supergroups."""
        serial = self._next_group_id
        self._next_group_id += 1
        if supergroup:
            return -(1_000_000_000_000 + 1_300_000_000 + serial)
        return -(4_100_000_000 + serial)

    def private_chat(self, user: UserRef) -> Chat:
        person = self.user(user)
        chat = self.chat_by_id.get(person.id)
        if chat is None:
            chat = Chat(
                person.id, f"@{person.username or person.id}", self.name_of(person), "private"
            )
            self.chat_by_id[person.id] = chat
        return chat

    # ---- lookups -------------------------------------------------------------------------
    def chat(self, ref: ChatRef) -> Chat:
        if isinstance(ref, Chat):
            return ref
        if isinstance(ref, int):
            return self.chat_by_id[ref]
        return self.chats[ref]

    def user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return ref
        if isinstance(ref, int):
            return self.by_id[ref]
        return self.users[ref]

    def name_of(self, user: User | None) -> str:
        """How tests and transcripts name the user: the name it was added by."""
        if user is None:
            return "?"
        return self._names.get(user.id) or user.username or user.first_name

    # ---- the update queue ----------------------------------------------------------------
    def push(self, kind: str, payload: dict[str, Any], *, wake: bool = True) -> int:
        """Queue an update for the bot; `wake=False` leaves waking the waiters to the caller."""
        update_id = self.updates.push(kind, payload)
        if wake:
            self.touch()
        return update_id

    def push_raw(self, payload: dict[str, Any]) -> int:
        """Queue `payload` as it is, malformed or not, as the next update (or with its own
        update_id); returns the update_id. See `UpdateQueue.push_raw`."""
        update_id = self.updates.push_raw(payload)
        self.touch()
        return update_id

    def confirm(self, offset: int) -> None:
        """Updates below `offset` were received: forget them, as Telegram does."""
        if self.updates.confirm(offset):
            self.mark_activity()

    def deliverable(
        self, allowed: frozenset[str] | None = None, *, limit: int | None = None, drop: bool = True
    ) -> list[dict[str, Any]]:
        """Queued updates of the allowed kinds (see `UpdateQueue.deliverable`)."""
        before = len(self.updates)
        kept = self.updates.deliverable(allowed, limit=limit, drop=drop)
        if len(self.updates) != before:
            self.touch()
        return kept

    def note(self, chat: Chat | None, text: str, kind: str = "note") -> None:
        self.events.append(Event(chat, text, kind))

    # ---- what people see ----------------------------------------------------------------
    def messages_in(self, chat: ChatRef) -> list[Message]:
        """Visible messages in the chat, the bot's and people's, oldest first."""
        return [m for m in self.chat(chat).messages.values() if not m.deleted]

    def bot_messages(self, chat: ChatRef, *, include_deleted: bool = True) -> list[Message]:
        return [
            m
            for m in self.chat(chat).messages.values()
            if m.by_bot and (include_deleted or not m.deleted)
        ]

    def deleted_messages(self, chat: ChatRef) -> list[Message]:
        return [m for m in self.chat(chat).messages.values() if m.deleted]

    def private_messages_to(self, user: UserRef) -> list[Message]:
        """What the bot sent this user in their private chat."""
        chat = self.chat_by_id.get(self.user(user).id)
        return [m for m in chat.messages.values() if m.by_bot] if chat else []

    def user_messages(self, user: UserRef, chat: ChatRef) -> list[Message]:
        """What the user wrote in the chat and is still there (no service messages), oldest
        first."""
        person, group = self.user(user), self.chat(chat)
        return [
            m
            for m in group.messages.values()
            if m.sender is not None
            and m.sender.id == person.id
            and not m.deleted
            and not m.is_service
        ]

    def last_message_of(self, user: UserRef, chat: ChatRef) -> Message:
        """The user's latest message in the chat; KeyError when there is none."""
        mine = self.user_messages(user, chat)
        if not mine:
            raise KeyError(
                f"{self.name_of(self.user(user))} has no message in {self.chat(chat).key}"
            )
        return mine[-1]

    def status_of(self, user: UserRef, chat: ChatRef) -> str:
        target, group = self.user(user), self.chat(chat)
        self.expire(group, target.id)
        return group.status_of(target.id)

    def is_banned(self, user: UserRef, chat: ChatRef) -> bool:
        return self.status_of(user, chat) == "kicked"

    def is_present(self, user_id: int, chat: Chat) -> bool:
        self.expire(chat, user_id)
        return chat.status_of(user_id) in PRESENT

    def expire(self, chat: Chat, user_id: int) -> None:
        """A ban or restriction whose until_date passed is over."""
        member = chat.members.get(user_id)
        if member is None or not member.until_date or member.until_date > self.now():
            return
        if member.status == "kicked":
            del chat.members[user_id]
        elif member.status == "restricted":
            member.status, member.permissions, member.until_date = "member", {}, 0

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[Call]:
        return [
            c
            for c in self.journal
            if (method is None or c.method == method) and (ok is None or c.ok == ok)
        ]

    # ---- Telegram's mood ----------------------------------------------------------------
    def storm(self, *, seconds: float, retry_after: int) -> None:
        """For `seconds`, answer every call that sends or changes a chat with 429 and
        `retry_after` (see `Limits.storm`)."""
        self.limits.storm(seconds, retry_after)

    # ---- waiting ------------------------------------------------------------------------
    def mark_activity(self) -> None:
        self._last_activity = time.monotonic()

    def touch(self) -> None:
        """Wake everyone waiting in `changed`."""
        for waiter in self._waiters:
            waiter.set()

    async def changed(self, timeout: float) -> None:
        """Return when anything changes, or after `timeout` seconds."""
        waiter = asyncio.Event()
        self._waiters.append(waiter)
        alarm = asyncio.get_running_loop().call_later(max(0.0, timeout), waiter.set)
        try:
            await waiter.wait()
        finally:
            alarm.cancel()
            self._waiters.remove(waiter)

    @property
    def waiting(self) -> int:
        """How many are waiting for a change (a long poll, the webhook pusher, a test)."""
        return len(self._waiters)

    async def wait_for(
        self, predicate: Callable[[], object], timeout: float = 5.0, *, what: str = ""
    ) -> None:
        """Return once `predicate()` is true; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what or predicate}")
            await self.changed(min(0.05, left))

    async def settle(self, quiet: float = 0.15, timeout: float = 10.0) -> None:
        """Return once every queued update was delivered and confirmed and the bot made no call
        (other than getUpdates) for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            pending = self.deliverable(self.webhook_allowed(), limit=1, drop=False)
            if not pending and not self.busy and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(self._unsettled(timeout))
            await self.changed(min(0.05, deadline - now))

    def webhook_allowed(self) -> frozenset[str] | None:
        if self.webhook is not None and self.webhook.get("allowed_updates"):
            return frozenset(self.webhook["allowed_updates"])
        return None

    def _unsettled(self, timeout: float) -> str:
        pending = self.deliverable(self.webhook_allowed(), drop=False)
        if pending:
            kinds = ", ".join(f"#{u['update_id']} {kind_of(u)}" for u in pending[:5])
            return (
                f"sandbox not settled after {timeout:g} s: {len(pending)} update(s) not "
                f"fetched and confirmed by the bot ({kinds}); is the bot polling?"
            )
        last = self.journal[-1].method if self.journal else "none"
        return (
            f"sandbox not settled after {timeout:g} s: the bot keeps calling the Bot API "
            f"(last call: {last})"
        )


async def settle(world: World, *, quiet: float = 0.3, timeout: float = 15.0) -> None:
    """`World.settle` with the margins of the end-to-end harness (slower, real handlers)."""
    await world.settle(quiet=quiet, timeout=timeout)


async def wait_for(
    predicate: Callable[[], object], *, timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll `predicate` every 20 ms until it holds; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


__all__ = ["ChatRef", "Event", "Message", "UserRef", "World", "settle", "wait_for"]
