"""What every sandbox Bot API method shares: the error type and the checks Telegram makes
first (does the chat exist, is the bot in it, does it hold the right), with Telegram's texts."""

from __future__ import annotations

from typing import Any

from sandbox.model import PRESENT, Chat, Member
from sandbox.world import World

Params = dict[str, Any]
NO_RIGHTS = {
    "can_restrict_members": "Bad Request: not enough rights to restrict/unrestrict chat member",
    "can_delete_messages": "Bad Request: message can't be deleted",
    "can_invite_users": "Bad Request: not enough rights to manage chat invite link",
    "can_promote_members": "Bad Request: not enough rights",
    "can_change_info": "Bad Request: not enough rights to change chat permissions",
}


class ApiError(Exception):
    """A failed call: answered with `error_code` and Telegram's description."""

    def __init__(self, code: int, description: str, **parameters: int) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def too_many_requests(retry_after: int) -> ApiError:
    """Telegram's flood answer: wait `retry_after` seconds."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def as_int(value: object) -> int | None:
    """An integer parameter as the Bot API reads it (a number or a numeric string), else None."""
    if not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def resolve_chat(world: World, params: Params) -> Chat:
    """The chat named by chat_id (a number or an @username), as Telegram finds it."""
    ref = params.get("chat_id")
    if isinstance(ref, str) and ref.startswith("@"):
        for named in world.chats.values():
            if named.username and named.username.lower() == ref[1:].lower():
                return named
        raise ApiError(400, "Bad Request: chat not found")
    key = as_int(ref)
    if key is None:
        raise ApiError(400, "Bad Request: chat not found")
    chat = world.chat_by_id.get(key)
    if chat is not None:
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        if chat.type == "private" and not world.by_id[chat.id].started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat
    user = world.by_id.get(key)
    if user is not None and not user.is_bot:
        if not user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return world.private_chat(user)
    if user is not None:
        raise ApiError(403, "Forbidden: bot can't send messages to bots")
    raise ApiError(400, "Bad Request: chat not found")


def group_chat(
    world: World, params: Params, right: str | None = None, *, groups_only: bool = False
) -> Chat:
    """The chat, checked as Telegram checks it: the bot is in it and holds `right`."""
    chat = resolve_chat(world, params)
    if chat.type == "private":
        if groups_only or right is not None:
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        return chat
    kind = "supergroup" if chat.type == "supergroup" else "group"
    status = chat.status_of(world.bot.id)
    if status == "kicked":
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
    if status not in PRESENT:
        raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
    if right is not None and not chat.members[world.bot.id].can(right):
        raise ApiError(400, NO_RIGHTS[right])
    return chat


def int_param(params: Params, key: str, error: str) -> int:
    try:
        return int(params[key])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, error) from None


def user_id(params: Params) -> int:
    return int_param(params, "user_id", "Bad Request: invalid user_id specified")


def target(
    chat: Chat, uid: int, *, owner_text: str = "Bad Request: can't remove chat owner"
) -> Member | None:
    """The member an action is aimed at; owners and admins cannot be touched by the bot."""
    member = chat.members.get(uid)
    if member is not None and member.status == "creator":
        raise ApiError(400, owner_text)
    if member is not None and member.status == "administrator":
        raise ApiError(400, "Bad Request: user is an administrator of the chat")
    return member


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
