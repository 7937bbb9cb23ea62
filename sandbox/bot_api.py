"""The Bot API methods the bot uses, answered from the sandbox world as Telegram answers them:
the same result shapes, the same error codes and texts, 429 with retry_after past the limits or
during a storm, 404 for unknown methods. Every call is journaled in `world.journal`.

`call` is the one way in: the HTTP server and the in-process request both answer through it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox import api_bot as bot
from sandbox import api_members as members
from sandbox import api_messages as messages
from sandbox.api_common import ApiError, Params, as_int, too_many_requests
from sandbox.limits import CHAT_CHANGING
from sandbox.model import Call, Chat
from sandbox.world import World

Method = Callable[[World, Params], Any]
METHODS: dict[str, Method] = {
    "getMe": bot.get_me,
    "getUpdates": bot.get_updates,
    "setWebhook": bot.set_webhook,
    "deleteWebhook": bot.delete_webhook,
    "getWebhookInfo": bot.get_webhook_info,
    "sendMessage": messages.send_message,
    "sendPhoto": messages.send_photo,
    "sendDocument": messages.send_document,
    "editMessageText": messages.edit_message_text,
    "editMessageReplyMarkup": messages.edit_message_reply_markup,
    "deleteMessage": messages.delete_message,
    "deleteMessages": messages.delete_messages,
    "answerCallbackQuery": messages.answer_callback_query,
    "setMyCommands": bot.set_my_commands,
    "deleteMyCommands": bot.delete_my_commands,
    "getMyCommands": bot.get_my_commands,
    "sendChatAction": messages.send_chat_action,
    "banChatMember": members.ban_chat_member,
    "banChatSenderChat": members.ban_chat_sender_chat,
    "unbanChatMember": members.unban_chat_member,
    "restrictChatMember": members.restrict_chat_member,
    "promoteChatMember": members.promote_chat_member,
    "setChatPermissions": members.set_chat_permissions,
    "getChatMember": members.get_chat_member,
    "getChatAdministrators": members.get_chat_administrators,
    "getChatMemberCount": members.get_chat_member_count,
    "getChat": members.get_chat,
    "leaveChat": members.leave_chat,
    "createChatInviteLink": members.create_chat_invite_link,
    "approveChatJoinRequest": members.approve_chat_join_request,
    "declineChatJoinRequest": members.decline_chat_join_request,
}
_BY_LOWER = {name.lower(): name for name in METHODS}


def call(world: World, method: str, params: Params) -> tuple[int, dict[str, Any]]:
    """Answer one Bot API call and journal it; returns (HTTP status, JSON body).

    Method names are case-insensitive, as on Telegram. During a storm every chat-changing
    method is answered 429 before anything else is looked at."""
    name = _BY_LOWER.get(method.lower(), method)
    handler = METHODS.get(name)
    try:
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        storm = world.limits.storm_wait() if name in CHAT_CHANGING else None
        if storm is not None:
            raise too_many_requests(storm)
        result = handler(world, params)
    except ApiError as exc:
        return fail(world, name, params, exc)
    world.journal.append(Call(name, params, True, result, "", time.time()))
    _activity(world, name)
    return 200, {"ok": True, "result": result}


def fail(world: World, method: str, params: Params, exc: ApiError) -> tuple[int, dict[str, Any]]:
    """Answer a call with an error: noted, journaled, and the body Telegram sends."""
    if exc.code == 429:
        world.too_many_requests += 1
        world.note(
            None,
            f"bot was told to wait {exc.parameters.get('retry_after')} s "
            f"({method}: 429 Too Many Requests)",
            "flood",
        )
    elif method != "getUpdates":
        world.note(_chat_of(world, params), f"bot's {method} failed: {exc.description}", "error")
    world.journal.append(Call(method, params, False, None, exc.description, time.time(), exc.code))
    _activity(world, method)
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return exc.code, body


def _chat_of(world: World, params: Params) -> Chat | None:
    key = as_int(params.get("chat_id"))
    return None if key is None else world.chat_by_id.get(key)


def _activity(world: World, method: str) -> None:
    if method != "getUpdates":
        world.mark_activity()
    world.touch()


__all__ = ["METHODS", "ApiError", "call", "fail"]
