"""Sandbox Bot API methods about messages: sending, editing and deleting them, answering button
presses, chat actions."""

from __future__ import annotations

from typing import Any

from sandbox.api_common import (
    ApiError,
    Params,
    as_dict,
    group_chat,
    int_param,
    resolve_chat,
    too_many_requests,
)
from sandbox.markup import EntityError, parse_html
from sandbox.model import Chat, Message
from sandbox.posting import message_to_api, new_message, reply_extra
from sandbox.world import World

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DELETE = 100  # message ids in one deleteMessages call
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


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
    _check_flood(world, chat)
    return chat


def _check_flood(world: World, chat: Chat) -> None:
    wait = world.limits.flood_wait(chat.id)
    if wait is not None:
        raise too_many_requests(wait)


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
    return reply_extra(world, target)


def _buttons(params: Params) -> list[list[dict[str, Any]]] | None:
    keyboard = as_dict(params.get("reply_markup")).get("inline_keyboard")
    return keyboard if isinstance(keyboard, list) and keyboard else None


def _finish_send(world: World, chat: Chat, message: Message, what: str = "") -> Any:
    world.limits.count_send(chat.id)
    world.note(chat, describe_bot_message(message, what), "bot")
    return message_to_api(world, message)


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
    message = new_message(world, chat, world.bot, text, by_bot=True, entities=entities, **extra)
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
    message = new_message(world, chat, world.bot, by_bot=True, **extra)
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
    _check_flood(world, chat)
    text, entities = _formatted(params, "text", MAX_TEXT)
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    buttons = _buttons(params)
    if message.text == text and message.buttons == buttons:
        raise ApiError(400, NOT_MODIFIED)
    message.text, message.entities, message.buttons = text, entities, buttons
    message.edited, message.edit_date = True, world.now()
    world.limits.count_send(chat.id)
    world.note(chat, "bot edited " + describe_bot_message(message).removeprefix("bot: "), "bot")
    return message_to_api(world, message)


def edit_message_reply_markup(world: World, params: Params) -> Any:
    chat, message = _own_message(world, params)
    buttons = _buttons(params)
    if message.buttons == buttons:
        raise ApiError(400, NOT_MODIFIED)
    message.buttons, message.edited, message.edit_date = buttons, True, world.now()
    shown = " ".join(f"[{b.get('text', '')}]" for row in buttons or [] for b in row) or "none"
    world.note(chat, f"bot changed the buttons of #{message.message_id}: {shown}", "bot")
    return message_to_api(world, message)


def delete_message(world: World, params: Params) -> Any:
    chat = resolve_chat(world, params)
    message_id = int_param(params, "message_id", "Bad Request: message to delete not found")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        if chat.type != "private":
            group_chat(world, params)
        raise ApiError(400, "Bad Request: message to delete not found")
    _deletable(world, params, chat, [message])
    _delete(world, chat, message)
    return True


def delete_messages(world: World, params: Params) -> Any:
    """Up to 100 messages at once; those it cannot find are skipped, as on Telegram, so the
    answer is True even when none was there."""
    ids = _message_ids(params.get("message_ids"))
    chat = group_chat(world, params)
    found = [chat.messages[i] for i in ids if i in chat.messages and not chat.messages[i].deleted]
    _deletable(world, params, chat, found)
    for message in found:
        _delete(world, chat, message)
    return True


def _message_ids(value: Any) -> list[int]:
    """message_ids as Telegram reads them, refused with its texts."""
    if value is None or value in ("", []):
        raise ApiError(400, "Bad Request: message identifiers are not specified")
    if isinstance(value, str):  # a form field that is not JSON
        raise ApiError(400, "Bad Request: can't parse message_ids JSON object")
    if not isinstance(value, list):
        raise ApiError(400, "Bad Request: expected an Array of message identifiers")
    if len(value) > MAX_DELETE:
        raise ApiError(400, "Bad Request: too many message identifiers specified")
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ApiError(400, "Bad Request: message identifier must be a Number")
        try:
            number = int(item) if not isinstance(item, float) else int(str(item))
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse message identifier as a Number") from None
        if number <= 0:
            raise ApiError(400, "Bad Request: invalid message identifier specified")
        ids.append(number)
    return ids


def _deletable(world: World, params: Params, chat: Chat, messages: list[Message]) -> None:
    """In a group the bot deletes its own messages as a member, others' with the right."""
    if chat.type == "private":
        return
    if any(not m.by_bot for m in messages):
        group_chat(world, params, "can_delete_messages")
    else:
        group_chat(world, params)


def _delete(world: World, chat: Chat, message: Message) -> None:
    message.deleted = True
    owner = "its own" if message.by_bot else f"{world.name_of(message.sender)}'s"
    world.note(chat, f"bot deleted {owner} message #{message.message_id}", "delete")


# ---- buttons and actions ----------------------------------------------------------
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


def send_chat_action(world: World, params: Params) -> Any:
    group_chat(world, params)
    return True
