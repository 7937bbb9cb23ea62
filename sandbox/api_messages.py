"""Sandbox Bot API methods about updates, the webhook, messages, buttons and commands."""

from __future__ import annotations

from typing import Any

from sandbox.api_common import ApiError, Params, as_dict, group_chat, int_param, resolve_chat
from sandbox.markup import EntityError, parse_html
from sandbox.model import Chat, Message
from sandbox.world import DEFAULT_UPDATES, World

MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def get_me(world: World, params: Params) -> Any:
    return {
        **world.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def take_poll(world: World, params: Params) -> None:
    """What a getUpdates call says besides asking: updates below `offset` were received, and
    which kinds of update the bot wants from now on."""
    offset = int(params.get("offset") or 0)
    if offset > 0:
        world.confirm(offset)
    allowed = params.get("allowed_updates")
    if isinstance(allowed, list):
        world.allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATES


def get_updates(world: World, params: Params) -> Any:
    if world.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    take_poll(world, params)
    limit = min(100, max(1, int(params.get("limit") or 100)))
    return world.deliverable()[:limit]


def set_webhook(world: World, params: Params) -> Any:
    url = str(params.get("url") or "")
    if not url:
        world.webhook = None
        return True
    if not url.startswith(
        ("http://127.0.0.1", "http://localhost", "https://127.0.0.1", "https://localhost")
    ):
        raise ApiError(
            400, "Bad Request: bad webhook: the sandbox delivers webhooks to 127.0.0.1 only"
        )
    if params.get("drop_pending_updates"):
        world.updates.clear()
    allowed = params.get("allowed_updates")
    world.webhook = {
        "url": url,
        "secret_token": params.get("secret_token"),
        "allowed_updates": allowed if isinstance(allowed, list) else None,
    }
    if isinstance(allowed, list):
        world.allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATES
    world.touch()
    return True


def delete_webhook(world: World, params: Params) -> Any:
    world.webhook = None
    if params.get("drop_pending_updates"):
        world.updates.clear()
    return True


def get_webhook_info(world: World, params: Params) -> Any:
    hook = world.webhook or {}
    info: dict[str, Any] = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if hook.get("allowed_updates"):
        info["allowed_updates"] = hook["allowed_updates"]
    if hook.get("last_error_message"):
        info["last_error_date"] = hook["last_error_date"]
        info["last_error_message"] = hook["last_error_message"]
    return info


# ---- sending -------------------------------------------------------------------------------
def _formatted(params: Params, key: str, limit: int) -> tuple[str, list[dict[str, Any]]]:
    text = str(params.get(key) or "")
    if len(text) > limit:
        raise ApiError(
            400,
            "Bad Request: message is too long"
            if key == "text"
            else "Bad Request: message caption is too long",
        )
    if str(params.get("parse_mode") or "").upper() == "HTML":
        try:
            return parse_html(text)
        except EntityError as exc:
            raise ApiError(400, str(exc)) from None
    entities = params.get(f"{'entities' if key == 'text' else 'caption_entities'}")
    return text, list(entities) if isinstance(entities, list) else []


def _send_target(world: World, params: Params) -> Chat:
    chat = group_chat(world, params)
    wait = world.flood_wait(chat.id)
    if wait is not None:
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
    return chat


def _reply_extra(world: World, chat: Chat, params: Params) -> dict[str, Any]:
    reply = as_dict(params.get("reply_parameters"))
    reply_id = reply.get("message_id") or params.get("reply_to_message_id")
    if not reply_id:
        return {}
    target = chat.messages.get(int(reply_id))
    if target is None or target.deleted:
        lenient = reply.get("allow_sending_without_reply") or params.get(
            "allow_sending_without_reply"
        )
        if lenient:
            return {}
        raise ApiError(400, "Bad Request: message to be replied not found")
    return world.reply_extra(target)


def _buttons(params: Params) -> list[list[dict[str, Any]]] | None:
    keyboard = as_dict(params.get("reply_markup")).get("inline_keyboard")
    return keyboard if isinstance(keyboard, list) and keyboard else None


def _finish_send(world: World, chat: Chat, message: Message, what: str = "") -> Any:
    world.count_send(chat.id)
    world.note(chat, describe_bot_message(message, what), "bot")
    return world.message_to_api(message)


def describe_bot_message(message: Message, what: str = "") -> str:
    text = f"bot: {what}{message.shown_text}  #{message.message_id}"
    for row in message.buttons or []:
        text += "\n    " + " ".join(f"[{b.get('text', '')}]" for b in row)
    return text


def send_message(world: World, params: Params) -> Any:
    chat = _send_target(world, params)
    text, entities = _formatted(params, "text", MAX_TEXT)
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    extra = _reply_extra(world, chat, params)
    if params.get("link_preview_options") is not None:
        extra["_link_preview_options"] = params["link_preview_options"]
    if params.get("disable_notification"):
        extra["_silent"] = True
    message = world.new_message(chat, world.bot, text, by_bot=True, entities=entities, **extra)
    message.buttons = _buttons(params)
    return _finish_send(world, chat, message)


def _upload(params: Params, key: str) -> dict[str, Any]:
    value = params.get(key)
    if isinstance(value, dict) and "file_name" in value:
        return value
    if isinstance(value, str) and value:
        return {"file_name": value.rsplit("/", 1)[-1], "size": 0, "file_id": value}
    raise ApiError(400, f"Bad Request: there is no {key} in the request")


def send_photo(world: World, params: Params) -> Any:
    return _send_media(world, params, "photo")


def send_document(world: World, params: Params) -> Any:
    return _send_media(world, params, "document")


def _send_media(world: World, params: Params, kind: str) -> Any:
    chat = _send_target(world, params)
    upload = _upload(params, kind)
    caption, entities = _formatted(params, "caption", MAX_CAPTION)
    extra = _reply_extra(world, chat, params)
    file_id = upload.get("file_id") or f"BQAC{kind[:2]}{chat.next_message_id}"
    size = int(upload.get("size") or 0)
    if kind == "photo":
        extra["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id[-8:]}",
                "width": 1280,
                "height": 720,
                "file_size": size,
            }
        ]
    else:
        extra["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id[-8:]}",
            "file_name": upload["file_name"],
            "file_size": size,
        }
    extra["_file"] = {"file_name": upload["file_name"], "size": size}
    if caption:
        extra["caption"] = caption
        if entities:
            extra["caption_entities"] = entities
    message = world.new_message(chat, world.bot, by_bot=True, **extra)
    message.buttons = _buttons(params)
    return _finish_send(world, chat, message, f"[{kind} {upload['file_name']}] ")


# ---- editing and deleting ------------------------------------------------------------------
def _own_message(world: World, params: Params) -> tuple[Chat, Message]:
    if params.get("inline_message_id"):
        raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
    chat = group_chat(world, params)
    message_id = int_param(params, "message_id", "Bad Request: message to edit not found")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise ApiError(400, "Bad Request: message to edit not found")
    if not message.by_bot:
        raise ApiError(400, "Bad Request: message can't be edited")
    return chat, message


def edit_message_text(world: World, params: Params) -> Any:
    chat, message = _own_message(world, params)
    wait = world.flood_wait(chat.id)
    if wait is not None:
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
    text, entities = _formatted(params, "text", MAX_TEXT)
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    buttons = _buttons(params)
    if message.text == text and message.buttons == buttons:
        raise ApiError(400, NOT_MODIFIED)
    message.text, message.entities, message.buttons = text, entities, buttons
    message.edited, message.edit_date = True, world.now()
    world.count_send(chat.id)
    world.note(chat, "bot edited " + describe_bot_message(message).removeprefix("bot: "), "bot")
    return world.message_to_api(message)


def edit_message_reply_markup(world: World, params: Params) -> Any:
    chat, message = _own_message(world, params)
    buttons = _buttons(params)
    if message.buttons == buttons:
        raise ApiError(400, NOT_MODIFIED)
    message.buttons, message.edited, message.edit_date = buttons, True, world.now()
    shown = " ".join(f"[{b.get('text', '')}]" for row in buttons or [] for b in row) or "none"
    world.note(chat, f"bot changed the buttons of #{message.message_id}: {shown}", "bot")
    return world.message_to_api(message)


def delete_message(world: World, params: Params) -> Any:
    chat = resolve_chat(world, params)
    message_id = int_param(params, "message_id", "Bad Request: message to delete not found")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        if chat.type != "private":
            group_chat(world, params)
        raise ApiError(400, "Bad Request: message to delete not found")
    if not message.by_bot and chat.type != "private":
        group_chat(world, params, "can_delete_messages")
    elif chat.type != "private":
        group_chat(world, params)
    message.deleted = True
    owner = "its own" if message.by_bot else f"{world.name_of(message.sender)}'s"
    world.note(chat, f"bot deleted {owner} message #{message.message_id}", "delete")
    return True


def delete_messages(world: World, params: Params) -> Any:
    ids = params.get("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise ApiError(400, "Bad Request: message_ids must be a non-empty list of at most 100")
    chat = group_chat(world, params)
    if chat.type != "private" and any(
        not chat.messages[i].by_bot for i in ids if i in chat.messages
    ):
        group_chat(world, params, "can_delete_messages")
    deleted = 0
    for message_id in ids:
        try:
            delete_message(world, {"chat_id": params.get("chat_id"), "message_id": message_id})
            deleted += 1
        except ApiError:
            continue
    if not deleted:
        raise ApiError(400, "Bad Request: message to delete not found")
    return True


# ---- buttons, commands, actions ----------------------------------------------------------
def answer_callback_query(world: World, params: Params) -> Any:
    query = world.callbacks.pop(str(params.get("callback_query_id") or ""), None)
    if query is None:
        raise ApiError(
            400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
    if params.get("text"):
        chat = world.chat_by_id.get(query["message"]["chat"]["id"])
        alert = "alert" if params.get("show_alert") else "toast"
        presser = world.by_id.get(query["from"]["id"])
        world.note(chat, f"bot -> {world.name_of(presser)} ({alert}): {params['text']}", "bot")
    return True


def _scope_key(params: Params) -> tuple[str, str]:
    scope = as_dict(params.get("scope")) or {"type": "default"}
    parts = [str(scope.get("type"))] + [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
    return ":".join(parts), str(params.get("language_code") or "")


def set_my_commands(world: World, params: Params) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse BotCommand array")
    world.commands[_scope_key(params)] = [
        {"command": str(c["command"]), "description": str(c["description"])} for c in commands
    ]
    return True


def delete_my_commands(world: World, params: Params) -> Any:
    world.commands.pop(_scope_key(params), None)
    return True


def get_my_commands(world: World, params: Params) -> Any:
    return world.commands.get(_scope_key(params), [])


def send_chat_action(world: World, params: Params) -> Any:
    group_chat(world, params)
    return True
