"""Every command and every button, fuzzed: the bot answers each within Telegram's limits, never
fails, and a refused command changes nothing.

Hypothesis drives the real Application through the in-process sandbox (no sockets): commands in
an English and a Chinese group (from the owner, an admin, an anonymous admin, a plain member; as
a reply or not) and in private (the owner, an admin, a member), with arguments made of ids in and
out of Telegram's range, @usernames, format syntax, durations, very long and blank words;
newcomers with odd names; and button presses with data of every registered shape carrying bad
fields, and garbage, by anyone. Per example:

- the bot answered (a reply, a private message, a button answer; a plain text needs none, and a
  member refused lately is not told again), every text within 4,096 characters (200 for a button),
  every call that sends accepted by Telegram;
- no log record with a traceback and no error; no update failed or set aside;
- an answer that refuses (usage, not allowed, unknown user, ...) comes with no row changed in the
  moderation tables and no call queued that changes a chat.

The examples share one running bot (state carries over, as in a real group); the run is
derandomised, so CI sees the same examples every time. Fewer examples run on PostgreSQL;
FUZZ_EXAMPLES sets the number.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.app import running
from bot.settings import Settings
from handlers import BOTH_COMMANDS, GROUP_COMMANDS, OWNER_COMMANDS
from rules.limits import (
    ANONYMOUS_ADMIN,
    CHANNEL_BOT,
    MAX_ID,
    PSEUDO_SENDERS,
    SERVICE_NOTIFICATIONS,
    TEXT_LIMIT,
    utf16_length,
)
from rules.text import command_words
from sandbox.membership import Membership
from sandbox.model import Chat, Message, User
from sandbox.posting import message_to_api
from sandbox.talk import Talk
from sandbox.world import World, wait_for
from services.i18n import catalog
from storage.models import (
    Alliance,
    BlacklistEntry,
    Inbox,
    LabeledMessage,
    Member,
    ModerationLog,
    Outbox,
    Schedule,
    Warning,
)
from storage.models import Chat as ChatRow
from tests.conftest import PG_URL
from tests.e2e.conftest import IN_PROCESS, start_bot

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 60 if PG_URL else 150))
BOT_NAME = "groupkeeper_bot"
ANSWER_LIMIT = 200  # characters Telegram shows of a button's answer
MEMBER_CALLS = ("banChatMember", "unbanChatMember", "restrictChatMember")
SENDS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
CHANGING = (  # outbox kinds that change who is in a chat and what they may do
    "ban_chat_member",
    "ban_chat_sender_chat",
    "unban_chat_member",
    "restrict_chat_member",
    "leave_chat",
    "approve_chat_join_request",
    "decline_chat_join_request",
)


def split(text: str, separator: str | None = None) -> list[str]:
    return text.split(separator)


# Words of the answers that refuse or only report: the command they answer changed nothing.
REFUSING = split(
    "Usage:|Only |cannot be warned|act against myself|is not a user id|I have not seen|works in "
    "a group|in our private chat|own no alliance|do not know that command|no longer valid|already "
    "answered|is not blacklisted|is not a duration|cannot be used|too long|has no active warnings|"
    "do not know who invited|have no record|Unknown time zone|could not read|needs its day|No "
    "entries on that page|blacklist is empty|Nothing changed",
    "|",
)


def _refusals() -> re.Pattern[str]:
    """The refusing answers in every language: each catalog text holding one of the words, its
    placeholders matching anything."""
    english = [m for m in catalog("en") if any(word in m for word in REFUSING)]
    texts = {*REFUSING, *(catalog("zh-CN").get(m, m) for m in english)}
    parts = [
        ".*?".join(re.escape(p.replace("{{", "{").replace("}}", "}")) for p in piece)
        for piece in (re.split(r"(?<!\{)\{[a-z_]+\}(?!\})", t) for t in texts)
    ]
    return re.compile("|".join(p for p in parts if len(p) > 3), re.DOTALL)


REFUSALS = _refusals()


# ---- what people type ----------------------------------------------------------------------
EDGE_INTS = [0, 1, 2**31, 2**32, 2**52 - 1, 2**52, 2**53, 2**63 - 1, 2**63, 2**64, 10**30]
ints = st.one_of(
    st.sampled_from(EDGE_INTS),
    st.sampled_from(EDGE_INTS).map(lambda n: -n),
    st.integers(),
    st.integers(min_value=2**60, max_value=2**90),
).map(str)
# `$name` is replaced by that person's (or group's) id when the example runs
known = st.sampled_from(
    split(
        "$target $admin $owner $bot $spike $g1 $g2 $pending $alliance $anon $service $channel "
        "rules_$g1 rules_$g2 rules_$pending"
    )
)
usernames = st.one_of(
    st.sampled_from(["@adam", "@olga", "@spike", "@nobody1", "@", "@@", "@" + BOT_NAME]),
    st.text(max_size=40).map(lambda s: "@" + s),
)
FORMATS = split(
    "{name} {title} {rules} {count} {name:{rules}} {name!x} {name!r} {count:,} {name:0>20000000} "
    "{0} {} {{ }} { } {name.__class__} {title[0]} %s %(name)s <b> </i> &amp; <a </a>"
)
WORDS = split(
    "on off OFF report daily weekly day 周报 mon 09:00 25:00 mon-fri 每周一 timezone tz 时区 "
    "Asia/Shanghai Asia Mars/Olympus ../../etc UTC 10m 2h 3d 0m 999999d 99999999999999999999d -5m "
    "١٢d #1 #2 #0 #-1 #99999999999999999999 clear 取消 rules_1 rules_-1 rules_99999999999999999999 "
    "t.me/abcdefg https://t.me/+abcdefg kk20931 warn_limit welcome_delete strictness language en "
    "zh-CN 警告上限 -3 3 0 1e9 nan"
)
long_words = st.one_of(
    st.integers(100, 10_000).map(lambda n: "x" * n),
    st.integers(100, 5_000).map(lambda n: "😀" * n),
    st.integers(50, 1_500).map(lambda n: "{name}" * n),
    st.text(min_size=300, max_size=3_000),
)
blank = st.sampled_from(["", " ", "\n", "\t", "\u3000", "\u200b", "\u2028", "\x00"])
token = st.one_of(
    ints,
    known,
    usernames,
    st.sampled_from(FORMATS),
    st.sampled_from(WORDS),
    st.text(max_size=30),
    blank,
)
arguments = st.one_of(
    st.lists(token, max_size=4),
    st.tuples(token, long_words).map(list),
    st.lists(st.sampled_from(FORMATS), min_size=1, max_size=8).map(lambda f: ["".join(f)]),
)
NAMES = sorted({*GROUP_COMMANDS, *BOTH_COMMANDS, *OWNER_COMMANDS, "start", "help"})
ADMIN_ONLY = (set(GROUP_COMMANDS) - {"rules"}) | set(BOTH_COMMANDS)
command_names = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(NAMES).map(str.upper),
    st.sampled_from(["foo", "warnx", "a" * 32]),
)
suffixes = st.sampled_from([""] * 5 + ["@" + BOT_NAME, "@GroupKeeper_Bot", "@otherbot"])
person_names = st.one_of(
    st.text(min_size=1, max_size=64).filter(str.strip),
    st.sampled_from(["<b>Bold", "{name}", "{rules}", "&lt;", "a" * 64, "😀" * 32, "\u202eevil"]),
)


@dataclass(frozen=True)
class Say:
    """A message: `who` (owner, admin, anon, member) writes `text` in group g1 or g2 or in
    private, as a reply to `reply` (target, bot, admin, owner, channel) or not."""

    who: str
    where: str
    text: str
    reply: str | None = None


@dataclass(frozen=True)
class Join:
    """A newcomer called `name` joins the group and says `text`: the next target."""

    where: str
    name: str
    text: str


@dataclass(frozen=True)
class Press:
    """`who` presses a button carrying `data` on a bot message in private or in the group."""

    who: str
    where: str
    data: str | None  # None: a press without data (a game's button, an odd client)


@st.composite
def says(draw: st.DrawFn) -> Say:
    where = draw(st.sampled_from(["g1", "g1", "g2", "private"]))
    group = where != "private"
    who = draw(
        st.sampled_from(
            ["owner", "admin", "anon", "member"] if group else ["owner", "admin", "member"]
        )
    )
    words = draw(arguments)
    separator = draw(st.sampled_from([" ", " ", "  ", "\n", "\t"]))
    if draw(st.sampled_from(range(10))) == 7:  # one in ten
        text = separator.join(words)  # not a command
    else:
        text = separator.join([f"/{draw(command_names)}{draw(suffixes)}", *words])
    replies = [None, None, "target", "bot", "admin", "owner", "channel"]
    return Say(who, where, text, draw(st.sampled_from(replies)) if group else None)


examples = st.one_of(
    says(),
    says(),
    says(),
    says(),
    st.builds(Join, st.sampled_from(["g1", "g2"]), person_names, st.text(max_size=50)),
)
fields = st.one_of(ints, known, st.text(max_size=12), blank, st.sampled_from(["ok", "no", "undo"]))


@st.composite
def presses(draw: st.DrawFn) -> Press:
    shape = draw(st.integers(0, 4))
    if shape == 0:  # a registered shape (`$p<n>`: the n-th prefix) with good or bad fields
        data = f"$p{draw(st.integers(0, 20))}" + ":".join(draw(st.lists(fields, max_size=3)))
    elif shape == 1:
        data = f"grp:{draw(st.sampled_from(['ok', 'no', 'yes', '']))}:{draw(fields)}"
    elif shape == 2:
        data = f"bl:undo:{draw(fields)}:{draw(fields)}"
    elif shape == 3:
        data = draw(st.text(max_size=64).filter(lambda s: len(s.encode()) <= 64))
    else:
        data = draw(st.sampled_from([None, "", " ", "$p0", "$p1"]))
    who = draw(st.sampled_from(["owner", "admin", "member"]))
    return Press(who, draw(st.sampled_from(["private", "group"])), data)


# ---- the running bot and what it did --------------------------------------------------------
@dataclass(repr=False)
class Fuzzer:
    world: World
    app: Any
    groups: dict[str, Chat]
    people: dict[str, User]
    caplog: pytest.LogCaptureFixture
    prefixes: list[str]
    serial: int = 0

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("<the running bot>")  # examples are printed without the world

    @property
    def talk(self) -> Talk:
        return Talk(self.world)

    async def settle(self) -> None:
        """Until the bot fetched every update, handled it, and made every call due by now."""
        world, app = self.world, self.app
        await wait_for(
            lambda: not world.deliverable(limit=1, drop=False), timeout=20, what="updates fetched"
        )
        await app.intake.idle(timeout=30)
        executor = app.executor

        def quiet() -> bool:
            timer = executor.lanes.next_timer()
            soon = timer is not None and timer <= executor.clock() + 0.05
            return not executor._tasks and not executor.lanes.lanes and not soon

        await wait_for(quiet, timeout=20, what="the calls due now to be made")

    def person(self, role: str) -> User:
        return self.people[{"owner": "olga", "admin": "adam", "anon": "adam"}.get(role, role)]

    def last_post(self, user: User, group: Chat) -> Message | None:
        posts = [m for m in self.world.user_messages(user, group) if not m.deleted]
        return posts[-1] if posts else None

    async def newcomer(self, role: str, name: str | None = None, text: str = "") -> User:
        """Someone new in both groups, saying `text` (or hello) in each, now playing `role`."""
        self.serial += 1
        user = self.world.add_user(f"{role}{self.serial}", first_name=name)
        self.people[role] = user
        for group in self.groups.values():
            if group.key != "g9":
                Membership(self.world).join(user, group)
                self.talk.send(user, group, text or f"hello from {role} {self.serial}")
        await self.settle()
        return user

    async def able(self, role: str, group: Chat) -> User:
        """The member or target, replaced by a newcomer when the last one was removed."""
        user = self.people[role]
        if self.talk._may_write(user, group) and (role != "target" or self.last_post(user, group)):
            return user
        return await self.newcomer(role)

    async def replied(self, reply: str | None, group: Chat) -> Message | None:
        if reply is None:
            return None
        if reply == "target":
            return self.last_post(await self.able("target", group), group)
        if reply == "bot":
            return next(
                (m for m in reversed(self.world.bot_messages(group)) if not m.deleted), None
            )
        if reply == "channel":
            return self.talk.send(self.people["adam"], group, "news of the day", sender_chat="News")
        return self.last_post(self.person(reply), group)

    def press_bare(self, user: User, message: Message) -> str:
        """A button press that carries no data; returns the query's id."""
        query_id = f"{user.id}{self.world.updates.next_id:06d}"
        query = {
            "id": query_id,
            "from": user.to_api(),
            "chat_instance": str(abs(message.chat_id)),
            "message": message_to_api(self.world, message),
        }
        self.world.callbacks[query_id] = query
        self.world.push("callback_query", query)
        return query_id

    def substitute(self, text: str) -> str:
        ids = {
            "target": self.people["target"].id,
            "admin": self.people["adam"].id,
            "owner": self.people["olga"].id,
            "bot": self.world.bot.id,
            "spike": self.people["spike"].id,
            "g1": self.groups["g1"].id,
            "g2": self.groups["g2"].id,
            "pending": self.groups["g9"].id,
            "alliance": 1,
            "anon": ANONYMOUS_ADMIN,
            "service": SERVICE_NOTIFICATIONS,
            "channel": CHANNEL_BOT,
        }

        def value(match: re.Match[str]) -> str:
            word = match.group(1)
            if word.startswith("p") and word[1:].isdigit():
                return self.prefixes[int(word[1:]) % len(self.prefixes)]
            return str(ids[word]) if word in ids else match.group(0)

        return re.sub(r"\$([a-z0-9]+)", value, text)

    async def snapshot(self) -> dict[str, set[tuple[Any, ...]]]:
        """The rows a refused command must leave alone, and the chat-changing calls queued."""
        queries = {
            "warning": select(Warning.id, Warning.user_id, Warning.revoked_by),
            "blacklist": select(BlacklistEntry.user_id, BlacklistEntry.revoked_at),
            "moderation_log": select(ModerationLog.id, ModerationLog.action),
            "chat": select(
                ChatRow.id,
                ChatRow.status,
                ChatRow.alliance_id,
                ChatRow.policy,
                ChatRow.rules_text,
                ChatRow.welcome_template,
                ChatRow.language,
            ),
            "roles": select(Member.chat_id, Member.user_id, Member.roles),
            "alliance": select(Alliance.id, Alliance.timezone, Alliance.policy, Alliance.language),
            "schedule": select(Schedule.id, Schedule.recurrence, Schedule.paused),
            "labeled": select(LabeledMessage.id),
            "actions": select(Outbox.id, Outbox.kind).where(Outbox.kind.in_(CHANGING)),
        }
        async with self.app.runtime.sessions() as session:
            found = {
                name: {tuple(map(_hashable, row)) for row in await session.execute(query)}
                for name, query in queries.items()
            }
        found["roles"] = {row for row in found["roles"] if row[2] != "{}"}
        return found

    async def messages(self, since: int) -> dict[int, tuple[int, str, int | None]]:
        """Outbox id -> (chat, text, reply_to) of every message queued after `since` or still
        waiting (a waiting one may change: a warning joins the one waiting)."""
        query = select(Outbox.id, Outbox.chat_id, Outbox.payload, Outbox.kind).where(
            (Outbox.id > since) | (Outbox.status == "pending")
        )
        async with self.app.runtime.sessions() as session:
            rows = list(await session.execute(query))
        return {
            row_id: (
                chat_id,
                str(payload.get("text") or payload.get("caption")),
                payload.get("reply_to"),
            )
            for row_id, chat_id, payload, kind in rows
            if kind in ("send_message", "edit_message_text", "send_photo", "send_document")
        }

    async def judged(self, chat_id: int, message_id: int) -> bool:
        """Whether the message itself was judged an ad (or a blacklisted account's): then no
        command ran."""
        query = select(ModerationLog.details).where(
            ModerationLog.chat_id == chat_id, ModerationLog.action.not_in(("exempt", "flag"))
        )
        async with self.app.runtime.sessions() as session:
            found = await session.scalars(query)
            return any((d or {}).get("message_id") == message_id for d in found)

    async def outbox_high(self) -> int:
        async with self.app.runtime.sessions() as session:
            return int(await session.scalar(select(Outbox.id).order_by(Outbox.id.desc())) or 0)

    async def refused_lately(self, chat_id: int, user_id: int) -> bool:
        query = select(Outbox.id).where(
            Outbox.chat_id == chat_id, Outbox.coalesce_key == f"refuse:{user_id}"
        )
        async with self.app.runtime.sessions() as session:
            return await session.scalar(query) is not None

    async def healthy(self, since: int, stats: tuple[int, int]) -> None:
        """What every example must leave: no traceback or error in the log, no update failed or
        set aside, every text sent within its limit and accepted."""
        bad = []
        for record in self.caplog.records:
            text = record.getMessage()
            failed = record.name.startswith("bot.intake") and "fail" in text
            if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in text or failed:
                bad.append(f"{record.levelname} {record.name}: {text[:3000]}")
        assert not bad, "\n".join(bad)
        intake = self.app.intake
        assert (intake.stats.retried, intake.stats.set_aside) == stats
        async with self.app.runtime.sessions() as session:
            quarantined = select(Inbox.update_id).where(Inbox.status == "quarantined")
            assert list(await session.scalars(quarantined)) == []
        calls = self.world.journal[since:]
        for call in calls:
            if call.method in SENDS or call.method == "answerCallbackQuery":
                text = str(call.params.get("text") or call.params.get("caption") or "")
                limit = ANSWER_LIMIT if call.method == "answerCallbackQuery" else TEXT_LIMIT
                assert utf16_length(text) <= limit, (call.method, utf16_length(text))
                assert call.ok, (call.method, call.error, text[:300])
            elif call.method in MEMBER_CALLS:  # no order that cannot be carried out is given
                user_id = int(call.params["user_id"])
                assert 0 < user_id <= MAX_ID, (call.method, user_id)
                assert user_id not in PSEUDO_SENDERS, (call.method, user_id)
                assert user_id != self.world.bot.id, (call.method, user_id)
                unknown = "user not found" in call.error or "not a member" in call.error
                assert call.ok or unknown, (call.method, call.error)


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def changed_rows(before: dict[str, set[Any]], after: dict[str, set[Any]]) -> dict[str, Any]:
    """What differs, leaving out the audit rows of screening the message itself (an admin's
    ad-like words are logged as exempt, whatever the command)."""
    diff = {name: before[name] ^ after[name] for name in before}
    diff["moderation_log"] = {r for r in diff["moderation_log"] if r[1] not in ("exempt", "flag")}
    return {name: rows for name, rows in diff.items() if rows}


ECHO_MAX = 200  # characters of one word an answer may quote
SHOWS_BACK = {"setrules", "setwelcome"}  # their answers show what was saved, in full
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(@[A-Za-z0-9_]+)?(?:\s|$)")


def addressed(text: str) -> tuple[str | None, bool]:
    """The command's name, and whether it is addressed to this bot."""
    match = COMMAND.match(text)
    if match is None:
        return None, False
    suffix = match.group(2)
    return match.group(1).lower(), suffix is None or suffix[1:].lower() == BOT_NAME


# ---- one example -----------------------------------------------------------------------------
async def run_say(fz: Fuzzer, ex: Say) -> None:
    group = fz.groups.get(ex.where)
    text = fz.substitute(ex.text)
    where = group or fz.groups["g1"]
    sender = await fz.able("member", where) if ex.who == "member" else fz.person(ex.who)
    await fz.able("target", where)
    replied = await fz.replied(ex.reply, group) if group is not None else None
    await fz.settle()
    before, high, mark = await fz.snapshot(), await fz.outbox_high(), len(fz.world.journal)
    waiting = await fz.messages(high)
    stats = (fz.app.intake.stats.retried, fz.app.intake.stats.set_aside)
    fz.caplog.clear()
    if group is not None:
        anon = True if ex.who == "anon" else None
        message = fz.talk.send(sender, group, text, reply_to=replied, sender_chat=anon)
        assert message is not None, f"{sender.first_name} cannot write in {group.key}"
        chat_id = group.id
    else:
        message, chat_id = fz.talk.private(sender, text), sender.id
    await fz.settle()
    await fz.healthy(mark, stats)

    calls = fz.world.journal[mark:]
    answers = [
        t
        for row_id, (c, t, to) in (await fz.messages(high)).items()
        if row_id > high or waiting.get(row_id) != (c, t, to)
        if c == chat_id and (group is None or to in (None, message.message_id))
    ]
    assert all(utf16_length(t) <= TEXT_LIMIT for t in answers), [len(t) for t in answers]
    deleted = any(
        c.method.startswith("delete") and int(c.params["chat_id"]) == chat_id for c in calls
    )
    screened = group is not None and await fz.judged(group.id, message.message_id)
    lately = ex.who == "member" and await fz.refused_lately(chat_id, sender.id)
    name, ours = addressed(text)
    must = name is not None and (group is None or (ours and name in NAMES))
    outcome = "answered" if answers else "deleted" if deleted else "told lately" if lately else ""
    event(outcome or ("silent, not for us" if not must else "silent"))
    if must:
        assert answers or deleted or lately or screened, f"no answer to {text[:300]!r}"
    if ours and name in NAMES and group is not None:
        addressee = text.split()[0].partition("@")[2]
        words = command_words(text, frozenset(NAMES), addressee)
        if words is not None and len(words.split()) == 1:  # only ids, @names, numbers
            assert not screened, f"{text[:300]!r} from a {ex.who} was judged an ad"
    if name not in SHOWS_BACK:  # a user's long words are cut where an answer quotes them
        quoted = [
            w[:80] for w in text.split()[1:] if len(w) > ECHO_MAX and any(w in t for t in answers)
        ]
        assert not quoted, f"{text[:100]!r}: the answer repeats {quoted}"
    refused = any(REFUSALS.search(t) for t in answers) or (
        ex.who == "member" and ours and name in ADMIN_ONLY
    )
    if refused and not screened:
        diff = changed_rows(before, await fz.snapshot())
        assert not diff, f"{text[:300]!r} was refused ({answers[:1]}) but changed {diff}"


async def run_join(fz: Fuzzer, ex: Join) -> None:
    mark, stats = (
        len(fz.world.journal),
        (fz.app.intake.stats.retried, fz.app.intake.stats.set_aside),
    )
    fz.caplog.clear()
    await fz.newcomer("target", ex.name, ex.text)
    event("a newcomer")
    await fz.healthy(mark, stats)


async def run_press(fz: Fuzzer, ex: Press) -> None:
    world, g1 = fz.world, fz.groups["g1"]
    presser = await fz.able("member", g1) if ex.who == "member" else fz.person(ex.who)
    mine = [m for m in world.private_messages_to(presser) if not m.deleted]
    in_group = [m for m in world.bot_messages(g1) if not m.deleted]
    on = (mine if ex.where == "private" and mine else in_group)[-1]
    before, mark = await fz.snapshot(), len(world.journal)
    stats = (fz.app.intake.stats.retried, fz.app.intake.stats.set_aside)
    fz.caplog.clear()
    data = fz.substitute(ex.data) if ex.data is not None else None
    query_id = fz.talk.press(presser, on, data) if data is not None else fz.press_bare(presser, on)
    await fz.settle()
    await fz.healthy(mark, stats)

    answers = [
        c
        for c in world.journal[mark:]
        if c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
    ]
    assert answers, f"no answer to the button {data!r}"
    text = str(answers[0].params.get("text") or "")
    event("refused" if REFUSALS.search(text) else "done")
    if REFUSALS.search(text):
        diff = changed_rows(before, await fz.snapshot())
        assert not diff, f"the button {data!r} was refused ({text}) but changed {diff}"


# ---- the world, the bot, the tests -----------------------------------------------------------
FAST = {"welcome_batch_seconds": 0.5}


def _prefixes(app: Any) -> list[str]:
    """The literal start of every registered button pattern ("grp:", "bl:undo:", ...)."""
    found = []
    for handlers in app.handlers.values():
        for handler in handlers:
            pattern = getattr(handler, "pattern", None)
            source = getattr(pattern, "pattern", pattern)
            if isinstance(source, str):
                found.append(re.split(r"[\\(\[.*+?{|$]", source.lstrip("^"), maxsplit=1)[0])
    return sorted(set(found)) or [""]


@pytest.fixture
async def fuzzer(app_db_url: str, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    world = World(enforce_limits=False)
    olga, adam, sam = (world.add_user(n, owner=n == "olga") for n in ("olga", "adam", "sam"))
    olga.started = True
    g1 = world.add_group("g1", "Club 1", owner=olga, admins=(adam,))
    g2 = world.add_group("g2", 'Club <2> & "friends" {name}', owner=olga, admins=(adam,))
    g9 = world.add_group("g9", "Sam's own group", owner=sam)
    options = Settings(
        _env_file=None,
        database_url=app_db_url,
        owner_ids=world.owner_ids,
        telegram_api_base_url=IN_PROCESS,
        default_language="en",
        send_rate_per_second=10_000,
        send_rate_per_chat_per_minute=100_000,
        unauthorised_groups="approve",
    )
    app = await start_bot(world, options)
    async with running(app):
        members, talk = Membership(world), Talk(world)
        groups = {"g1": g1, "g2": g2, "g9": g9}
        fz = Fuzzer(world, app, groups, {"olga": olga, "adam": adam}, caplog, _prefixes(app.app))
        for group in (g1, g2):
            members.add_bot(group, by=olga)
        members.add_bot(g9, by=sam)  # waits for the owner's approval
        await fz.settle()
        async with app.runtime.sessions() as session:
            await session.execute(update(ChatRow).values(policy=FAST))
            await session.execute(
                update(ChatRow).where(ChatRow.id == g2.id).values(language="zh-CN")
            )
            await session.commit()
        app.runtime.state.chats.clear()
        for role in ("member", "target", "spike"):
            await fz.newcomer(role)
        for group in (g1, g2):
            talk.send(adam, group, "good morning everyone")
            talk.send(olga, group, "welcome to the club")
        for user in (olga, adam, fz.people["member"]):
            talk.private(user, "/start")
        await fz.settle()
        spike_post = fz.last_post(fz.people["spike"], g1)
        talk.send(adam, g1, "/blacklist spamming", reply_to=spike_post)
        await wait_for(
            lambda: any(m.buttons for m in world.private_messages_to(olga)),
            timeout=20,
            what="the owner's blacklist report with its undo button",
        )
        await fz.settle()
        await fz.healthy(0, (0, 0))
        yield fz


FUZZ = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "phases": (Phase.explicit, Phase.generate),  # no shrinking: the examples share one bot
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,  # one bot for all examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    "report_multiple_bugs": False,
}


# Every command from each kind of sender, with arguments that went wrong before: tried first,
# as the random examples alone leave some commands out.
NASTY = [
    "",
    "0",
    str(2**63),
    "-1",
    "@nobody1",
    "$target",
    "$bot",
    "$anon",
    "{name:{rules}}",
    "x" * 5000,
    "😀" * 3000,
    "on",
    "#" + str(2**63),
    "$g1 $target",
]
SENDERS = [("admin", "g1"), ("owner", "private"), ("member", "g2"), ("anon", "g2")]


def sweep(test: Any) -> Any:
    for i, name in enumerate(NAMES):
        for j, (who, where) in enumerate(SENDERS[: 2 if PG_URL else 4]):
            words = NASTY[(i + 5 * j) % len(NASTY)]
            reply = "target" if (i + j) % 3 == 0 and where != "private" else None
            test = example(Say(who, where, f"/{name} {words}".strip(), reply))(test)
    return test


# the findings that motivated the test are always tried first
@settings(max_examples=EXAMPLES, **FUZZ)
@example(Say("admin", "g1", "/ban 0"))
@example(Say("admin", "g1", f"/ban {2**63}"))
@example(Say("admin", "g1", f"/warns {2**64}"))
@example(Say("admin", "g1", f"/blacklisted {2**63}"))
@example(Say("admin", "g1", "/setwelcome {name:{rules}}"))
@example(Say("admin", "g1", "/setwelcome {name!x}"))
@example(Say("admin", "g1", "/setwelcome {count:,}"))
@example(Say("admin", "g2", "/setwelcome {name:0>20000000}"))
@example(Say("admin", "g1", "/mute $target " + "9" * 5000 + "d"))
@example(Say("admin", "g1", "/ban " + "x" * 10_000))
@example(Say("owner", "private", "/digest #" + str(2**63)))
@example(Say("owner", "private", "/schedule timezone " + "A/" * 3000))
@example(Say("member", "private", f"/start rules_{2**63}"))
@example(Say("admin", "g1", "/ban $anon"))
@example(Say("admin", "g1", "/blacklist $service spam"))
@example(Say("admin", "g1", "/mute $channel 10m"))
@example(Say("admin", "g1", "/unmute $bot"))
@example(Say("admin", "g1", "/unban $owner"))
@example(Say("admin", "g1", "/unmute $owner"))
@example(Say("owner", "g2", "/unmute $admin"))
@example(Say("admin", "g1", "/allow " + "y" * 300))
@example(Say("admin", "g1", "/disallow nothing-listed-here"))
@example(Say("member", "g1", "/start"))
@sweep
@given(ex=examples)
async def test_fuzz_commands_are_answered_within_limits(fuzzer: Fuzzer, ex: Say | Join) -> None:
    await (run_say(fuzzer, ex) if isinstance(ex, Say) else run_join(fuzzer, ex))


@settings(max_examples=max(EXAMPLES // 3, 20), **FUZZ)
@example(Press("owner", "private", f"bl:undo:{2**63}:{2**63}"))
@example(Press("owner", "private", f"grp:ok:{2**63}"))
@example(Press("admin", "private", "bl:undo:$alliance:$spike"))
@example(Press("owner", "private", "bl:undo:$alliance:$spike"))
@example(Press("owner", "private", "grp:ok:$pending"))
@example(Press("owner", "private", ""))
@example(Press("owner", "private", "sh:fine:9223372036854775808"))
@example(Press("owner", "group", "sh:on:-9223372036854775808"))
@example(Press("owner", "private", "sh:on:$g1"))
@example(Press("admin", "group", "set:" + "x" * 60))
@example(Press("member", "group", "set:welcome"))
@example(Press("member", "group", None))
@given(ex=presses())
async def test_fuzz_buttons_are_answered_within_limits(fuzzer: Fuzzer, ex: Press) -> None:
    await run_press(fuzzer, ex)
