"""What each scenario step does to the sandbox world: actions act as people, expectations check
what people would see and explain a failure in one short phrase."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from sandbox.membership import Membership
from sandbox.model import Chat, Message, User
from sandbox.script_syntax import Step
from sandbox.talk import Talk
from sandbox.world import World

COMPARE: dict[str, Callable[[int, int], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
STATUS = {
    "banned": "kicked",
    "kicked": "kicked",
    "restricted": "restricted",
    "member": "member",
    "admin": "administrator",
    "administrator": "administrator",
    "left": "left",
    "owner": "creator",
    "creator": "creator",
}


@dataclass
class ScenarioState:
    world: World
    out: TextIO
    expect_timeout: float = 3.0
    failures: int = 0
    expectations: int = 0
    pending_bots: list[tuple[str, str]] = field(default_factory=list)
    membership: Membership = field(init=False)
    talk: Talk = field(init=False)

    def __post_init__(self) -> None:
        self.membership = Membership(self.world)
        self.talk = Talk(self.world)

    def user(self, name: str) -> User:
        """The user called `name`, created on first mention."""
        if name.lower() == "bot":
            return self.world.bot
        if name not in self.world.users:
            return self.world.add_user(name)
        return self.world.users[name]

    def chat(self, key: str) -> Chat:
        if key not in self.world.chats:
            known = ", ".join(self.world.chats) or "none"
            raise KeyError(f"no group {key!r} (groups: {known})")
        return self.world.chats[key]

    def message(self, chat: Chat, number: str) -> Message:
        """Message `#number` of the chat, as a line names it."""
        message = chat.messages.get(int(number))
        if message is None:
            raise KeyError(f"no message #{number} in {chat.key}")
        return message

    def say(self, text: str) -> None:
        print(text, file=self.out)


async def run_step(state: ScenarioState, step: Step) -> tuple[bool, str]:
    """Do one action, or check one expectation: (passed, why not)."""
    if step.is_expectation:
        check = EXPECTS[step.kind]
        detail: list[str] = [""]

        def holds() -> bool:
            passed, detail[0] = check(state, step.args)
            return passed != step.negated

        try:
            await state.world.wait_for(holds, timeout=state.expect_timeout)
        except TimeoutError:
            return False, detail[0]
        return True, ""
    ACTIONS[step.kind](state, step.args)
    return True, ""


# ---- actions -----------------------------------------------------------------------------
Args = dict[str, str]


def _add_bot(s: ScenarioState, a: Args) -> None:
    s.membership.add_bot(s.chat(a["chat"]), by=s.user(a["user"]), as_admin="member" not in a)


def _join(s: ScenarioState, a: Args) -> None:
    inviter = s.user(a["inviter"]) if "inviter" in a else None
    s.membership.join(
        s.user(a["user"]), s.chat(a["chat"]), inviter=inviter, invite_link=a.get("link")
    )


def _say(s: ScenarioState, a: Args) -> None:
    world, chat, user = s.world, s.chat(a["chat"]), s.user(a["user"])
    if "edit" in a:
        s.talk.edit(user, s.message(chat, a["edit"]), a["body"])
        return
    reply: Message | None = None
    if "reply" in a:
        reply = s.message(chat, a["reply"])
    elif "reply_user" in a:
        reply = world.last_message_of(s.user(a["reply_user"]), chat)
    sender_chat: str | bool | None = None
    if "anonymous" in a:
        sender_chat = True
    elif "channel" in a:
        sender_chat = a["channel_name"]
    buttons = [[{"text": a["button_name"], "url": a["url"]}]] if "button" in a else None
    message = s.talk.send(
        user,
        chat,
        a["body"],
        reply_to=reply,
        forward_from_chat=a.get("forward_name"),
        buttons=buttons,
        photo="photo" in a,
        caption=a["body"] if "photo" in a else None,
        sender_chat=sender_chat,
    )
    if message is None:
        world.note(chat, f"{a['user']} cannot write here ({world.status_of(user, chat)})")


def _react(s: ScenarioState, a: Args) -> None:
    world, chat, user = s.world, s.chat(a["chat"]), s.user(a["user"])
    if "message" in a:
        target = s.message(chat, a["message"])
    else:
        target = world.last_message_of(s.user(a["author"]), chat)
    if s.talk.react(user, chat, target, a["emoji"]) is None:
        world.note(chat, f"{a['user']} reacts {a['emoji']} to #{target.message_id}: no change")


def _time_passes(s: ScenarioState, a: Args) -> None:
    s.world.shift(float(a["seconds"]))
    s.world.note(None, f"(time passes: {_duration(float(a['seconds']))}; {_clock(s.world)})")


def _set_clock(s: ScenarioState, a: Args) -> None:
    s.world.set_time_offset(float(a["seconds"]))
    s.world.note(None, f"({_clock(s.world)})")


def _clock(world: World) -> str:
    shown = time.strftime("%Y-%m-%d %H:%M", time.gmtime(world.now()))
    offset = f", {'+' if world.time_offset >= 0 else '-'}{_duration(abs(world.time_offset))}"
    return f"sandbox clock {shown} UTC" + (offset if world.time_offset else "")


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"


def _press(s: ScenarioState, a: Args) -> None:
    world, user, label = s.world, s.user(a["user"]), a["label"]
    if "chat" in a:
        candidates = world.bot_messages(s.chat(a["chat"]), include_deleted=False)
    else:
        candidates = world.private_messages_to(user) + [
            m for c in world.chats.values() for m in world.bot_messages(c, include_deleted=False)
        ]
    for message in sorted(candidates, key=lambda m: (m.date, m.message_id), reverse=True):
        data = message.button_data(label)
        if data is not None:
            s.talk.press(user, message, data)
            return
    raise KeyError(f"no button {label!r} on the bot's messages")


ACTIONS: dict[str, Callable[[ScenarioState, Args], object]] = {
    "add_bot": _add_bot,
    "remove_bot": lambda s, a: s.membership.remove_bot(s.chat(a["chat"]), by=s.user(a["user"])),
    "join": _join,
    "join_request": lambda s, a: s.membership.join_request(
        s.user(a["user"]), s.chat(a["chat"]), a["link"]
    ),
    "leave": lambda s, a: s.membership.leave(s.user(a["user"]), s.chat(a["chat"])),
    "promote": lambda s, a: s.membership.promote(
        s.user(a["user"]), s.chat(a["chat"]), by=s.user(a["by"])
    ),
    "demote": lambda s, a: s.membership.demote(
        s.user(a["user"]), s.chat(a["chat"]), by=s.user(a["by"])
    ),
    "migrate": lambda s, a: s.membership.migrate_to_supergroup(
        s.chat(a["chat"]), supergroup_first="supergroup_first" in a
    ),
    "private": lambda s, a: s.talk.private(s.user(a["user"]), a["body"]),
    "say": _say,
    "press": _press,
    "react": _react,
    "time_passes": _time_passes,
    "clock": _set_clock,
}


# ---- expectations ------------------------------------------------------------------------
Check = Callable[[ScenarioState, Args], tuple[bool, str]]


def _find(texts: list[str], fragment: str, verb: str, counted: str) -> tuple[bool, str]:
    """Whether a text holds the fragment, and what to say either way; `counted` names the
    texts, with `{n}` for how many there are."""
    found = [t for t in texts if fragment.lower() in t.lower()]
    if found:
        return True, f"it {verb} {_short(found[-1])!r}"
    return False, counted.replace("{n}", str(len(texts))) + (
        f", the last: {_short(texts[-1])!r}" if texts else ""
    )


def _said(s: ScenarioState, a: Args) -> tuple[bool, str]:
    texts = [m.shown_text for m in s.world.bot_messages(s.chat(a["chat"]))]
    return _find(texts, a["fragment"], "said", "the bot said {n} message(s) there")


def _said_nothing(s: ScenarioState, a: Args) -> tuple[bool, str]:
    texts = [m.shown_text for m in s.world.bot_messages(s.chat(a["chat"]))]
    return not texts, f"it said {_short(texts[-1])!r}" if texts else ""


def _status(s: ScenarioState, a: Args) -> tuple[bool, str]:
    actual = s.world.status_of(s.user(a["user"]), s.chat(a["chat"]))
    wanted = a["status"].lower()
    holds = (
        actual in ("creator", "administrator", "member", "restricted")
        if wanted == "present"
        else actual == STATUS[wanted]
    )
    return holds, f"{a['user']} is {actual}"


def _deleted(s: ScenarioState, a: Args) -> tuple[bool, str]:
    chat = s.chat(a["chat"])
    if "message" in a:
        message = chat.messages.get(int(a["message"]))
        if message is None:
            return False, f"there is no message #{a['message']}"
    else:
        user = s.user(a["user"])
        mine = [
            m for m in chat.messages.values() if m.sender is not None and m.sender.id == user.id
        ]
        if not mine:
            return False, f"{a['user']} wrote nothing there"
        message = mine[-1]
    return message.deleted, f"#{message.message_id} is {'' if message.deleted else 'not '}deleted"


def _private(s: ScenarioState, a: Args) -> tuple[bool, str]:
    texts = [m.shown_text for m in s.world.private_messages_to(s.user(a["user"]))]
    return _find(texts, a["fragment"], "got", a["user"] + " got {n} private message(s)")


def _private_media(s: ScenarioState, a: Args) -> tuple[bool, str]:
    kind = "document" if a["media"].lower() in ("document", "file") else "photo"
    sent = [m for m in s.world.private_messages_to(s.user(a["user"])) if kind in m.extra]
    wanted = a["fragment"].lower()
    found = [m for m in sent if wanted in _media_words(m).lower()]
    if found:
        return True, f"it got {_media_label(found[-1])}"
    return False, f"{a['user']} got {len(sent)} {kind}(s)" + (
        f", the last: {_media_label(sent[-1])}" if sent else ""
    )


def _media_words(message: Message) -> str:
    """What a media expectation's text may match: the file's name and the caption."""
    document = message.extra.get("document") or {}
    upload = message.extra.get("_file") or {}
    name = document.get("file_name") or upload.get("file_name") or ""
    return f"{name}\n{message.caption or ''}"


def _media_label(message: Message) -> str:
    kind = "document" if "document" in message.extra else "photo"
    return f"{kind} {_short(_media_words(message).strip())!r}"


def _private_nothing(s: ScenarioState, a: Args) -> tuple[bool, str]:
    texts = [m.shown_text for m in s.world.private_messages_to(s.user(a["user"]))]
    return not texts, f"got {_short(texts[-1])!r}" if texts else ""


def _refused(s: ScenarioState, a: Args) -> tuple[bool, str]:
    user = s.world.name_of(s.user(a["user"]))
    refused = (user, s.chat(a["chat"]).key) in s.world.refused
    return refused, f"{a['user']} was {'' if refused else 'never '}refused there"


def _count(s: ScenarioState, a: Args) -> tuple[bool, str]:
    world, what = s.world, " ".join(a["what"].lower().split())
    if what == "429s":
        actual = world.too_many_requests
    elif what.startswith("calls"):
        actual = len(world.calls(a["method"]))
    elif what == "failed calls":
        actual = len([c for c in world.calls(ok=False) if c.method != "getUpdates"])
    elif what == "private messages":
        actual = len(world.private_messages_to(s.user(a["chat"])))
    else:
        chat = s.chat(a["chat"])
        actual = {
            "bot messages": lambda: len(world.bot_messages(chat)),
            "messages": lambda: len(world.messages_in(chat)),
            "deleted messages": lambda: len(world.deleted_messages(chat)),
            "members": lambda: sum(
                1
                for m in chat.members.values()
                if m.status in ("creator", "administrator", "member", "restricted")
            ),
            "bans": lambda: sum(1 for m in chat.members.values() if m.status == "kicked"),
        }[what]()
    return COMPARE[a["op"]](actual, int(a["number"])), f"it is {actual}"


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


EXPECTS: dict[str, Check] = {
    "expect_said": _said,
    "expect_said_nothing": _said_nothing,
    "expect_status": _status,
    "expect_deleted": _deleted,
    "expect_private": _private,
    "expect_private_media": _private_media,
    "expect_private_nothing": _private_nothing,
    "expect_refused": _refused,
    "expect_count": _count,
}
