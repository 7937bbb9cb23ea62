"""The sandbox's data: users, members with rights, messages, chats, invite links, journaled calls
and transcript events.

Plain dataclasses; each knows how to render itself as the Bot API's JSON object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOT_ID = 7_000_000_001
ANONYMOUS_ADMIN_ID = 1087968824
PRESENT = ("creator", "administrator", "member", "restricted")
ADMIN_RIGHTS: dict[str, bool] = {
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_restrict_members": True,
    "can_invite_users": True,
    "can_pin_messages": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_manage_video_chats": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "is_anonymous": False,
}
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
# Keys of a service message (a join, a leave, a migration): not something a person wrote.
SERVICE_KEYS = frozenset(
    {"new_chat_members", "left_chat_member", "migrate_to_chat_id", "migrate_from_chat_id"}
)


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = "en"
    last_name: str | None = None
    started: bool = False  # has opened a private chat with the bot

    @property
    def name(self) -> str:
        """How the transcript names this user: the username, else the first name."""
        return self.username or self.first_name

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if not self.is_bot and self.language_code:
            data["language_code"] = self.language_code
        return data


# The pseudo-users Telegram shows as the sender of an anonymous admin's and a channel's posts.
ANONYMOUS_ADMIN = User(
    ANONYMOUS_ADMIN_ID, "Group", "GroupAnonymousBot", is_bot=True, language_code=None
)
CHANNEL_BOT = User(136817688, "Channel", "Channel_Bot", is_bot=True, language_code=None)


@dataclass
class Member:
    user: User
    status: str = "member"
    rights: dict[str, bool] = field(default_factory=dict)
    until_date: int = 0
    permissions: dict[str, bool] = field(default_factory=dict)

    def can(self, right: str) -> bool:
        if self.status == "creator":
            return True
        return self.status == "administrator" and bool(self.rights.get(right))

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"user": self.user.to_api(), "status": self.status}
        if self.status == "creator":
            data["is_anonymous"] = bool(self.rights.get("is_anonymous"))
        elif self.status == "administrator":
            data.update(ADMIN_RIGHTS)
            data.update(self.rights)
            data["can_be_edited"] = False
        elif self.status == "restricted":
            data.update({k: True for k in PERMISSIONS})
            data.update(self.permissions)
            data.update(is_member=True, until_date=self.until_date)
        elif self.status == "kicked":
            data["until_date"] = self.until_date
        return data


@dataclass
class Message:
    chat_id: int
    message_id: int
    sender: User | None
    text: str = ""
    date: int = 0
    deleted: bool = False
    by_bot: bool = False
    buttons: list[list[dict[str, Any]]] | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    edited: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    edit_date: int = 0
    reactions: dict[int, list[str]] = field(default_factory=dict)  # user id -> emoji, in order

    @property
    def is_service(self) -> bool:
        return any(key in self.extra for key in SERVICE_KEYS)

    def reaction_counts(self) -> list[dict[str, Any]]:
        """The totals as Telegram's ReactionCount objects, the most chosen first (on a tie, the
        one standing longest)."""
        totals: dict[str, int] = {}
        for emojis in self.reactions.values():
            for emoji in emojis:
                totals[emoji] = totals.get(emoji, 0) + 1
        ranked = sorted(totals.items(), key=lambda item: -item[1])
        return [{"type": emoji_reaction(e), "total_count": n} for e, n in ranked]

    @property
    def caption(self) -> str | None:
        value = self.extra.get("caption")
        return str(value) if value is not None else None

    @property
    def shown_text(self) -> str:
        """The text or the caption: what a reader sees."""
        return self.text or self.caption or ""

    def button_data(self, label: str) -> str | None:
        """The callback_data of the button whose text is `label` (or contains it)."""
        flat = [b for row in self.buttons or [] for b in row]
        for exact in (True, False):
            for button in flat:
                text = str(button.get("text", ""))
                if (text == label) if exact else (label.lower() in text.lower()):
                    data = button.get("callback_data")
                    return str(data) if data is not None else None
        return None


def emoji_reaction(emoji: str) -> dict[str, Any]:
    """A ReactionTypeEmoji."""
    return {"type": "emoji", "emoji": emoji}


@dataclass
class InviteLink:
    url: str
    name: str | None
    creator: User
    creates_join_request: bool = False
    is_primary: bool = False
    is_revoked: bool = False
    expire_date: int | None = None
    member_limit: int | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "invite_link": self.url,
            "creator": self.creator.to_api(),
            "creates_join_request": self.creates_join_request,
            "is_primary": self.is_primary,
            "is_revoked": self.is_revoked,
        }
        if self.name:
            data["name"] = self.name
        if self.expire_date:
            data["expire_date"] = self.expire_date
        if self.member_limit:
            data["member_limit"] = self.member_limit
        return data


@dataclass
class Chat:
    id: int
    key: str
    title: str
    type: str = "supergroup"
    username: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    links: dict[str, InviteLink] = field(default_factory=dict)
    join_requests: dict[int, InviteLink | None] = field(default_factory=dict)
    permissions: dict[str, bool] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    banned_senders: set[int] = field(default_factory=set)  # channels that may not post here

    @property
    def label(self) -> str:
        """How the transcript names this chat: `g1 Guangzhou`, or `private olga`."""
        if self.type == "private":
            return f"private {self.title}"
        return f"{self.key} {self.title}"

    def to_api(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": self.title}
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        if self.type == "group":
            data["all_members_are_administrators"] = False
        return data

    def status_of(self, user_id: int) -> str:
        member = self.members.get(user_id)
        return member.status if member is not None else "left"

    def member(self, user_id: int) -> Member | None:
        return self.members.get(user_id)


@dataclass
class Event:
    """One thing that happened, as a transcript shows it: `[chat] text`."""

    chat: Chat | None
    text: str
    kind: str = "note"

    def line(self) -> str:
        return f"[{self.chat.label}] {self.text}" if self.chat is not None else self.text


@dataclass
class Call:
    """One Bot API call as the sandbox answered it."""

    method: str
    params: dict[str, Any]
    ok: bool
    result: Any
    error: str = ""
    at: float = 0.0
    error_code: int = 0

    @property
    def description(self) -> str:
        return self.error
