"""bench/raid's Telegram: the sandbox world of the plan, the player of its timeline, and what
the world's own records say afterwards.

`make_world` builds the groups (the bot an admin in each, the owner and an admin in all, the
members of each), `Player` acts out a phase's steps on time (people's messages through `Talk`,
joins through `Membership`) and notes when each message appeared; `Watch` reads the sandbox's
journal: when each message was deleted (the deleteMessage(s) call that removed it), when the bot
posted what where, and which calls were answered 429.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench._raid_plan import Plan, Step, member_count, member_name, raider_display
from sandbox.membership import Membership
from sandbox.model import ADMIN_RIGHTS, Chat, Member, Message
from sandbox.talk import Talk
from sandbox.world import World

TICK = 0.01  # seconds between looks at the timeline
GROUP_LINK = "club-invite"


def make_world(plan: Plan) -> World:
    world = World(per_second=30, per_chat_per_minute=20, enforce_limits=True)
    olga = world.add_user("olga", owner=True, language="zh-CN")
    adam = world.add_user("adam", language="zh-CN")
    olga.started = True
    rng = random.Random(plan.seed + 1)
    for key in plan.groups:
        title = {"raided": "读书会 Book Club", "quiet": "管理组 Staff"}.get(key, f"Club {key}")
        members = []
        for n in range(member_count(plan, key)):
            name = member_name(key, n)
            members.append(world.add_user(name, first_name=f"Member {n}", language="zh-CN"))
        if key == "raided":
            members += [world.add_user(f"inviter{n}") for n in range(plan.inviters)]
        chat = world.add_group(
            key, title, owner=olga, admins=(adam,), members=tuple(members), username=None
        )
        chat.members[world.bot.id] = Member(world.bot, "administrator", dict(ADMIN_RIGHTS))
    for n in range(plan.raiders):
        first, last = raider_display(rng)
        world.add_user(
            f"raider{n}",
            first_name=first,
            last_name=last,
            username=f"{rng.choice(['jz', 'vip', 'kf', 'u'])}_{rng.randrange(10**6):06d}",
            language="zh-CN",
        )
    return world


def existing_members(world: World, plan: Plan) -> list[dict[str, Any]]:
    """Who the bot has known for a while: every member of every group at the start (not the
    raiders), as the child seeds them."""
    rows = []
    for key in plan.groups:
        chat = world.chat(key)
        for member in chat.members.values():
            if member.user.is_bot:
                continue
            user = member.user
            rows.append(
                {
                    "chat_id": chat.id,
                    "user_id": user.id,
                    "first_name": user.first_name,
                    "username": user.username,
                }
            )
    return rows


@dataclass
class Seen:
    """What the player noted: when each message appeared (wall clock, as the journal's)."""

    appeared: dict[tuple[int, int], float] = field(default_factory=dict)
    ads: dict[tuple[int, int], str] = field(default_factory=dict)  # message -> raider
    authors: dict[tuple[int, int], str] = field(default_factory=dict)  # message -> who
    commands: dict[tuple[int, int], float] = field(default_factory=dict)
    not_posted: dict[str, int] = field(default_factory=dict)  # kind -> refused (banned) steps
    ads_planned: int = 0
    joins: int = 0
    refused_joins: int = 0
    said: int = 0
    raided_said: int = 0
    late: list[float] = field(default_factory=list)  # how late each tick ran, seconds


class Player:
    """Plays a phase's steps at their times."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.talk = Talk(world)
        self.members = Membership(world)

    async def play(self, steps: list[Step], seen: Seen) -> float:
        """Run the steps on time from now; returns the wall-clock start."""
        started, wall = time.monotonic(), time.time()
        index = 0
        while index < len(steps):
            now = time.monotonic() - started
            due: list[Step] = []
            while index < len(steps) and steps[index].at <= now:
                due.append(steps[index])
                index += 1
            if due:
                seen.late.append(now - due[0].at)
                self._act(due, seen)
            if index < len(steps):
                wait = steps[index].at - (time.monotonic() - started)
                await asyncio.sleep(max(0.0, min(TICK, wait)))
        return wall

    def _act(self, due: list[Step], seen: Seen) -> None:
        says = [s for s in due if s.kind == "say"]
        for step in due:
            if step.kind == "join":
                self._join(step, seen)
            elif step.kind == "command":
                message = self.talk.send(step.user, step.chat, step.text)
                if message is not None:
                    seen.commands[(message.chat_id, message.message_id)] = time.time()
        if not says:
            return
        sent = self.talk.send_many((s.user, s.chat, s.text) for s in says)
        at = time.time()
        for step, message in zip(says, sent, strict=True):
            seen.ads_planned += step.ad
            if message is None:
                kind = "ad" if step.ad else "line"
                seen.not_posted[kind] = seen.not_posted.get(kind, 0) + 1
                continue
            _note(seen, step, message, at)

    def _join(self, step: Step, seen: Seen) -> None:
        message = self.members.join(
            step.user,
            step.chat,
            inviter=step.inviter,
            invite_link=None if step.inviter else GROUP_LINK,
        )
        seen.joins += message is not None
        seen.refused_joins += message is None


def _note(seen: Seen, step: Step, message: Message, at: float) -> None:
    key = (message.chat_id, message.message_id)
    seen.appeared[key] = at
    seen.authors[key] = step.user
    seen.said += 1
    if step.chat == "raided":
        seen.raided_said += 1
    if step.ad:
        seen.ads[key] = step.user


class Watch:
    """The sandbox's journal, read once a phase is over."""

    def __init__(self, world: World, since: int = 0) -> None:
        self.world = world
        self.since = since  # journal index where the phase began
        self.deleted_at: dict[tuple[int, int], float] = {}
        self.sent: dict[int, list[tuple[float, Message]]] = {}  # chat -> bot messages
        self.flood: dict[int, int] = {}  # chat -> calls answered 429
        self.calls: dict[str, int] = {}
        # (chat, user) -> when the bot banned them with revoke_messages (the sandbox leaves their
        # messages visible, as the Bot API describes the flag: the history is taken from them)
        self.revoked: dict[tuple[int, int], float] = {}
        for entry in world.journal[since:]:
            chat_id = _chat_id(entry.params)
            if entry.method != "getUpdates":
                self.calls[entry.method] = self.calls.get(entry.method, 0) + 1
            if entry.error_code == 429 and chat_id is not None:
                self.flood[chat_id] = self.flood.get(chat_id, 0) + 1
            if not entry.ok or chat_id is None:
                continue
            if entry.method in ("deleteMessage", "deleteMessages"):
                ids = entry.params.get("message_ids") or [entry.params.get("message_id")]
                for message_id in ids:
                    self.deleted_at.setdefault((chat_id, int(message_id)), entry.at)
            elif entry.method == "banChatMember" and entry.params.get("revoke_messages"):
                user = int(entry.params.get("user_id") or 0)
                self.revoked.setdefault((chat_id, user), entry.at)
            elif entry.method in ("sendMessage", "sendPhoto") and isinstance(entry.result, dict):
                chat = world.chat_by_id.get(chat_id)
                message = chat.messages.get(entry.result["message_id"]) if chat else None
                if message is not None:
                    self.sent.setdefault(chat_id, []).append((entry.at, message))

    def removed_at(self, chat: Chat, message_id: int) -> float | None:
        """When the message was deleted, None if it is still there."""
        message = chat.messages.get(message_id)
        if message is None or not message.deleted:
            return None
        return self.deleted_at.get((chat.id, message_id))

    def replies(self, chat: Chat) -> dict[int, float]:
        """The bot's answers in the chat: the message answered -> when the answer appeared."""
        found: dict[int, float] = {}
        for at, message in self.sent.get(chat.id, []):
            answered = message.extra.get("_reply_to")
            if isinstance(answered, int):
                found.setdefault(answered, at)
        return found


def _chat_id(params: dict[str, Any]) -> int | None:
    value = params.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
