"""The Bot API calls a decision can ask for, as plain typed values.

Each action is one call that changes a chat (a message sent or removed, a member banned, ...).
Decisions carry them as data; `services.apply` records them and writes them to the outbox
(through the one codec in `storage.outbox`), and the executor carries them out. Nothing here knows
Telegram's library or the database.

Every action has a priority: what removes harm now goes before what people wait to read, which
goes before housekeeping. Each belongs to one lane of its chat: calls in one lane keep their
order (a ban before its lift), lanes of one chat and all chats are served fairly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar

# Bytes travel through JSON as base64 (photos, documents).
_CONFIG = {"ser_json_bytes": "base64", "val_json_bytes": "base64"}


class Priority(IntEnum):
    URGENT = 0  # harm visible now: an ad, a blacklisted account in the group, an admin's order
    NORMAL = 1  # what people wait for: answers, warnings, welcomes, reports to owners
    BACKGROUND = 2  # housekeeping: preventive bans elsewhere, lifted bans, tidying old notices


class Failure(StrEnum):
    """Why Telegram refused a call, as an answer explains it to people."""

    RIGHTS = "rights"  # the bot lacks the admin right it needs
    NOT_FOUND = "not_found"  # Telegram does not know the account (in this chat)
    ADMIN = "admin"  # the target is an admin or the owner of the chat
    SUPERGROUP = "supergroup"  # allowed only in supergroups
    OTHER = "other"


class Lane(StrEnum):
    DELETE = "delete"  # message removals: order-free, batched into deleteMessages
    MEMBER = "member"  # bans, lifts, restrictions: in order per chat
    MESSAGE = "message"  # what the bot says: in order per chat, 20 a minute in a group


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class BatchEntry:
    user_id: int
    name: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Batch:
    """A message that gathers events while it waits (a welcome for a wave of joins, a summary of
    removed ads): a later event of the same key in the chat merges into it instead of queueing
    a message of its own."""

    key: str
    entries: tuple[BatchEntry, ...]
    more: int = 0  # events past the first MAX_ENTRIES people, counted only

    MAX_ENTRIES: ClassVar[int] = 100

    def merged(self, entry: BatchEntry) -> Batch:
        for index, known in enumerate(self.entries):
            if known.user_id == entry.user_id:
                updated = BatchEntry(known.user_id, entry.name, known.count + entry.count)
                rest = (*self.entries[:index], updated, *self.entries[index + 1 :])
                return Batch(self.key, rest, self.more)
        if len(self.entries) >= self.MAX_ENTRIES:
            return Batch(self.key, self.entries, self.more + entry.count)
        return Batch(self.key, (*self.entries, entry), self.more)

    def without(self, user_id: int) -> Batch:
        return Batch(self.key, tuple(e for e in self.entries if e.user_id != user_id), self.more)

    @property
    def total(self) -> int:
        return sum(e.count for e in self.entries) + self.more

    @property
    def people(self) -> int:
        return len(self.entries) + self.more


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    kind: ClassVar[str]
    lane: ClassVar[Lane]
    __pydantic_config__: ClassVar[dict[str, str]] = _CONFIG

    chat_id: int

    @property
    def verb(self) -> str:
        """How the audit log names it: "delete_message" (done) or "would_delete_message"."""
        return self.kind


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMessage(Action):
    kind: ClassVar[str] = "delete_message"
    lane: ClassVar[Lane] = Lane.DELETE
    message_id: int
    priority: Priority = Priority.URGENT


@dataclass(frozen=True, slots=True, kw_only=True)
class BanMember(Action):
    kind: ClassVar[str] = "ban_chat_member"
    lane: ClassVar[Lane] = Lane.MEMBER
    user_id: int
    revoke_messages: bool = True
    until: int | None = None  # Unix time; None: for good
    priority: Priority = Priority.URGENT


@dataclass(frozen=True, slots=True, kw_only=True)
class BanSenderChat(Action):
    """A channel may no longer post in the group (whoever posts as it)."""

    kind: ClassVar[str] = "ban_chat_sender_chat"
    lane: ClassVar[Lane] = Lane.MEMBER
    sender_chat_id: int
    priority: Priority = Priority.URGENT


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbanMember(Action):
    kind: ClassVar[str] = "unban_chat_member"
    lane: ClassVar[Lane] = Lane.MEMBER
    user_id: int
    only_if_banned: bool = True
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class RestrictMember(Action):
    kind: ClassVar[str] = "restrict_chat_member"
    lane: ClassVar[Lane] = Lane.MEMBER
    user_id: int
    permissions: tuple[tuple[str, bool], ...]
    until: int | None = None
    priority: Priority = Priority.URGENT


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage(Action):
    kind: ClassVar[str] = "send_message"
    lane: ClassVar[Lane] = Lane.MESSAGE
    text: str
    reply_to: int | None = None
    buttons: Keyboard = ()
    parse_mode: str | None = None
    delete_after: int = 0  # seconds; the bot removes its own message then
    replace: str | None = None  # the chat's previous message of this key is removed when sent
    batch: Batch | None = None
    # said instead of `text` when the call this message reports on failed (see `after` in
    # `services.uow.UnitOfWork.send`), by why it failed (`Failure`; "other" for the rest): an
    # answer never claims what did not happen
    failures: tuple[tuple[str, str], ...] = ()
    priority: Priority = Priority.NORMAL

    def failure_text(self, reason: str) -> str | None:
        texts = dict(self.failures)
        return texts.get(reason) or texts.get(Failure.OTHER)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendPhoto(Action):
    kind: ClassVar[str] = "send_photo"
    lane: ClassVar[Lane] = Lane.MESSAGE
    photo: bytes
    filename: str = "chart.png"
    caption: str = ""
    parse_mode: str | None = None
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDocument(Action):
    kind: ClassVar[str] = "send_document"
    lane: ClassVar[Lane] = Lane.MESSAGE
    document: bytes
    filename: str
    caption: str = ""
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class EditMessageText(Action):
    kind: ClassVar[str] = "edit_message_text"
    lane: ClassVar[Lane] = Lane.MESSAGE
    message_id: int
    text: str
    buttons: Keyboard = ()
    parse_mode: str | None = None
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveChat(Action):
    kind: ClassVar[str] = "leave_chat"
    lane: ClassVar[Lane] = Lane.MEMBER
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveJoinRequest(Action):
    kind: ClassVar[str] = "approve_chat_join_request"
    lane: ClassVar[Lane] = Lane.MEMBER
    user_id: int
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineJoinRequest(Action):
    kind: ClassVar[str] = "decline_chat_join_request"
    lane: ClassVar[Lane] = Lane.MEMBER
    user_id: int
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerCallback(Action):
    """The answer to a button press (the little notice, or an alert); `chat_id` is the presser's
    own id, so answers to one person keep their order."""

    kind: ClassVar[str] = "answer_callback_query"
    lane: ClassVar[Lane] = Lane.MESSAGE
    callback_query_id: str
    text: str = ""
    show_alert: bool = False
    priority: Priority = Priority.NORMAL


ACTION_TYPES: tuple[type[Action], ...] = (
    DeleteMessage,
    BanMember,
    BanSenderChat,
    UnbanMember,
    RestrictMember,
    SendMessage,
    SendPhoto,
    SendDocument,
    EditMessageText,
    LeaveChat,
    ApproveJoinRequest,
    DeclineJoinRequest,
    AnswerCallback,
)
BY_KIND: dict[str, type[Action]] = {cls.kind: cls for cls in ACTION_TYPES}
LANE_OF_KIND: dict[str, Lane] = {cls.kind: cls.lane for cls in ACTION_TYPES}

# Every permission Telegram knows: restrictChatMember treats one left out as denied, so each
# restriction names them all.
PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)
SENDING = frozenset(p for p in PERMISSIONS if p.startswith(("can_send_", "can_add_")))


def permissions(*, denied: frozenset[str] = frozenset()) -> tuple[tuple[str, bool], ...]:
    """Every permission, all granted but `denied` (granted means: as the group allows)."""
    return tuple((name, name not in denied) for name in PERMISSIONS)


MUTED = permissions(denied=SENDING | {"can_react_to_messages"})
UNMUTED = permissions()
NO_INVITES = permissions(denied=frozenset({"can_invite_users"}))
