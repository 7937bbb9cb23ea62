"""Sandbox Bot API methods about members, chats, invite links and join requests."""

from __future__ import annotations

import time
from typing import Any

from sandbox.api_common import (
    ApiError,
    Params,
    as_dict,
    group_chat,
    int_param,
    resolve_chat,
    target,
    user_id,
)
from sandbox.membership import Membership
from sandbox.model import ADMIN_RIGHTS, PERMISSIONS, PRESENT, InviteLink, Member, User
from sandbox.posting import member_update
from sandbox.world import World


def _known_user(world: World, uid: int) -> User:
    user = world.by_id.get(uid)
    if user is None:
        raise ApiError(400, "Bad Request: user not found")
    return user


def _until(world: World, params: Params) -> int:
    """until_date as Telegram keeps it: under 30 s or over 366 days from now means forever."""
    until = int(params.get("until_date") or 0)
    now = world.now()
    return until if now + 30 <= until <= now + 366 * 86400 else 0


def _until_text(until: int | None) -> str:
    return f" until {time.strftime('%Y-%m-%d %H:%M', time.gmtime(until))} UTC" if until else ""


def ban_chat_member(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_restrict_members")
    uid = user_id(params)
    if uid == world.bot.id:
        raise ApiError(400, "Bad Request: can't remove self")
    member = target(chat, uid)
    user = _known_user(world, uid)
    old = member.to_api() if member else {"user": user.to_api(), "status": "left"}
    until = _until(world, params)
    if chat.type == "group":
        chat.members.pop(uid, None)
        new = Member(user, "left")
    else:
        new = Member(user, "kicked", until_date=until)
        chat.members[uid] = new
    # revoke_messages takes the group's history away from the removed user (a basic group's
    # choice; always so in supergroups). Nothing the others see is deleted: the user's
    # messages stay until deleteMessage(s) removes them.
    if old["status"] in PRESENT:
        member_update(world, chat, world.bot, old, new.to_api())
    when = _until_text(until)
    world.note(chat, f"bot banned {world.name_of(user)}{when}", "ban")
    return True


def ban_chat_sender_chat(world: World, params: Params) -> Any:
    """A channel may no longer post in the group (members posting as it included)."""
    chat = group_chat(world, params, "can_restrict_members")
    sender = int_param(params, "sender_chat_id", "Bad Request: sender_chat_id is required")
    chat.banned_senders.add(sender)
    world.note(chat, f"bot banned the channel {sender}", "ban")
    return True


def unban_chat_member(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_restrict_members")
    uid = user_id(params)
    member = chat.members.get(uid)
    user = _known_user(world, uid)
    if member is not None and member.status == "kicked":
        del chat.members[uid]
        world.note(chat, f"bot unbanned {world.name_of(user)}", "unban")
    elif member is not None and member.status in PRESENT and not params.get("only_if_banned"):
        target(chat, uid)
        del chat.members[uid]  # without only_if_banned, Telegram removes a present member
        member_update(
            world, chat, world.bot, member.to_api(), {"user": user.to_api(), "status": "left"}
        )
        world.note(chat, f"bot removed {world.name_of(user)} (unban of a member)", "unban")
    return True


def restrict_chat_member(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_restrict_members")
    if chat.type != "supergroup":
        raise ApiError(400, "Bad Request: method is available only for supergroups")
    uid = user_id(params)
    if uid == world.bot.id:
        raise ApiError(400, "Bad Request: can't restrict self")
    member = target(chat, uid, owner_text="Bad Request: can't restrict chat owner")
    user = _known_user(world, uid)
    permissions = as_dict(params.get("permissions"))
    if not permissions:
        raise ApiError(400, "Bad Request: can't parse chat permissions")
    old = member.to_api() if member else {"user": user.to_api(), "status": "left"}
    if member is None or member.status not in PRESENT:
        raise ApiError(400, "Bad Request: user is not a member of the chat")
    # as Telegram does: a permission left out is denied
    full = {k: bool(permissions.get(k, False)) for k in PERMISSIONS}
    if all(full.values()):
        member.status, member.permissions, member.until_date = "member", {}, 0
        world.note(chat, f"bot lifted the restrictions of {world.name_of(user)}", "restrict")
    else:
        member.status, member.permissions = "restricted", full
        member.until_date = _until(world, params)
        denied = ", ".join(k.removeprefix("can_") for k, v in full.items() if not v)
        when = _until_text(member.until_date)
        world.note(chat, f"bot restricted {world.name_of(user)} (no {denied}){when}", "restrict")
    member_update(world, chat, world.bot, old, member.to_api())
    return True


def promote_chat_member(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_promote_members")
    uid = user_id(params)
    member = chat.members.get(uid)
    user = _known_user(world, uid)
    if member is None or member.status not in PRESENT:
        raise ApiError(400, "Bad Request: user is not a member of the chat")
    if member.status == "creator":
        raise ApiError(400, "Bad Request: can't promote chat owner")
    rights = {k: bool(params[k]) for k in ADMIN_RIGHTS if k in params}
    old = member.to_api()
    if any(rights.values()):
        granted = {k: False for k in ADMIN_RIGHTS} | rights
        chat.members[uid] = Member(user, "administrator", granted)
        world.note(chat, f"bot made {world.name_of(user)} an admin", "promote")
    else:
        chat.members[uid] = Member(user)
        world.note(chat, f"bot removed {world.name_of(user)} as admin", "promote")
    member_update(world, chat, world.bot, old, chat.members[uid].to_api())
    return True


def set_chat_permissions(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_restrict_members", groups_only=True)
    permissions = as_dict(params.get("permissions"))
    chat.permissions = {k: bool(permissions.get(k, False)) for k in PERMISSIONS}
    denied = ", ".join(k.removeprefix("can_") for k, v in chat.permissions.items() if not v)
    world.note(chat, f"bot set the group's permissions (no {denied or 'limits'})", "restrict")
    return True


def get_chat_member(world: World, params: Params) -> Any:
    chat = group_chat(world, params)
    uid = user_id(params)
    world.expire(chat, uid)
    member = chat.members.get(uid)
    if member is None:
        return {"user": _known_user(world, uid).to_api(), "status": "left"}
    return member.to_api()


def get_chat_administrators(world: World, params: Params) -> Any:
    chat = group_chat(world, params, groups_only=True)
    return [m.to_api() for m in chat.members.values() if m.status in ("creator", "administrator")]


def get_chat_member_count(world: World, params: Params) -> Any:
    chat = group_chat(world, params)
    if chat.type == "private":
        return 2
    return sum(1 for m in chat.members.values() if m.status in PRESENT)


def get_chat(world: World, params: Params) -> Any:
    chat = resolve_chat(world, params)
    if chat.type != "private":
        group_chat(world, params)
    data: dict[str, Any] = {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    if chat.type != "private":
        data["permissions"] = {k: True for k in PERMISSIONS} | chat.permissions
    return data


def leave_chat(world: World, params: Params) -> Any:
    chat = group_chat(world, params, groups_only=True)
    old = chat.members.pop(world.bot.id)
    member_update(
        world,
        chat,
        world.bot,
        old.to_api(),
        {"user": world.bot.to_api(), "status": "left"},
        mine=True,
    )
    world.note(chat, "bot left the group", "leave")
    return True


def create_chat_invite_link(world: World, params: Params) -> Any:
    chat = group_chat(world, params, "can_invite_users", groups_only=True)
    name = str(params["name"]) if params.get("name") else None
    if name is not None and len(name) > 32:
        raise ApiError(400, "Bad Request: invite link name is too long")
    requests = bool(params.get("creates_join_request"))
    if requests and params.get("member_limit"):
        raise ApiError(
            400,
            "Bad Request: member limit can't be specified for links requiring "
            "administrator approval",
        )
    serial = f"{abs(chat.id) % 10_000:04d}{len(chat.links) + 1:04d}Sbx"
    link = InviteLink(
        f"https://t.me/+{serial}",
        name,
        world.bot,
        requests,
        expire_date=int(params.get("expire_date") or 0) or None,
        member_limit=int(params.get("member_limit") or 0) or None,
    )
    chat.links[link.url] = link
    world.note(chat, f"bot created invite link {name or link.url}", "link")
    return link.to_api()


def _join_request(world: World, params: Params) -> tuple[Any, User, InviteLink | None]:
    chat = group_chat(world, params, "can_invite_users", groups_only=True)
    uid = user_id(params)
    if uid not in chat.join_requests:
        raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
    return chat, _known_user(world, uid), chat.join_requests.pop(uid)


def approve_chat_join_request(world: World, params: Params) -> Any:
    chat, user, link = _join_request(world, params)
    if chat.status_of(user.id) in PRESENT:
        raise ApiError(400, "Bad Request: USER_ALREADY_PARTICIPANT")
    world.note(chat, f"bot approved {world.name_of(user)}'s request to join", "approve")
    Membership(world).join(user, chat, invite_link=link, approved_by=world.bot)
    return True


def decline_chat_join_request(world: World, params: Params) -> Any:
    chat, user, _ = _join_request(world, params)
    world.note(chat, f"bot declined {world.name_of(user)}'s request to join", "decline")
    return True
