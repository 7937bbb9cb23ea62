"""Each `rules.actions` action as the Bot API call that carries it out.

The only place that maps actions to python-telegram-bot's methods; the executor is the only
caller. A message the bot posts is cut to Telegram's limits here as a last guard, so no queued
text can make a call fail for its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, InputFile

from rules.actions import (
    Action,
    AnswerCallback,
    ApproveJoinRequest,
    BanMember,
    BanSenderChat,
    DeclineJoinRequest,
    DeleteMessage,
    EditMessageText,
    Failure,
    Keyboard,
    LeaveChat,
    RestrictMember,
    SendDocument,
    SendMessage,
    SendPhoto,
    UnbanMember,
)
from rules.limits import CAPTION_LIMIT, TEXT_LIMIT, fit

_Post = SendMessage | SendPhoto | SendDocument | EditMessageText
_MembershipChange = (
    BanMember
    | BanSenderChat
    | UnbanMember
    | RestrictMember
    | LeaveChat
    | ApproveJoinRequest
    | DeclineJoinRequest
)


def _markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.callback_data, url=b.url) for b in row]
            for row in buttons
        ]
    )


async def call(bot: Bot, action: Action) -> Any:
    """Make the call; returns what Telegram returned (a Message for sends)."""
    match action:
        case SendMessage() | SendPhoto() | SendDocument() | EditMessageText():
            return await _post(bot, action)
        case (
            BanMember()
            | BanSenderChat()
            | UnbanMember()
            | RestrictMember()
            | LeaveChat()
            | ApproveJoinRequest()
            | DeclineJoinRequest()
        ):
            return await _membership(bot, action)
        case DeleteMessage():
            return await bot.delete_message(action.chat_id, action.message_id)
        case AnswerCallback():
            return await bot.answer_callback_query(
                action.callback_query_id, text=action.text or None, show_alert=action.show_alert
            )
    raise TypeError(f"no Bot API call for {type(action).__name__}")


async def _post(bot: Bot, action: _Post) -> Any:
    """A message the bot sends or edits, cut to Telegram's limits."""
    chat = action.chat_id
    match action:
        case SendMessage():
            return await bot.send_message(
                chat,
                fit(action.text, TEXT_LIMIT),
                parse_mode=action.parse_mode,
                reply_markup=_markup(action.buttons),
                reply_to_message_id=action.reply_to,
                allow_sending_without_reply=True if action.reply_to else None,
            )
        case SendPhoto():
            return await bot.send_photo(
                chat,
                photo=InputFile(action.photo, filename=action.filename),
                caption=fit(action.caption, CAPTION_LIMIT) or None,
                parse_mode=action.parse_mode,
            )
        case SendDocument():
            return await bot.send_document(
                chat,
                document=InputFile(action.document, filename=action.filename),
                caption=fit(action.caption, CAPTION_LIMIT) or None,
            )
        case EditMessageText():
            return await bot.edit_message_text(
                fit(action.text, TEXT_LIMIT),
                chat_id=chat,
                message_id=action.message_id,
                parse_mode=action.parse_mode,
                reply_markup=_markup(action.buttons),
            )
        case _:
            assert_never(action)


async def _membership(bot: Bot, action: _MembershipChange) -> Any:
    """Who is in the chat and what they may do, the bot included."""
    chat = action.chat_id
    match action:
        case BanMember():
            return await bot.ban_chat_member(
                chat,
                action.user_id,
                until_date=action.until,
                revoke_messages=action.revoke_messages,
            )
        case BanSenderChat():
            return await bot.ban_chat_sender_chat(chat, action.sender_chat_id)
        case UnbanMember():
            return await bot.unban_chat_member(
                chat, action.user_id, only_if_banned=action.only_if_banned
            )
        case RestrictMember():
            return await bot.restrict_chat_member(
                chat,
                action.user_id,
                # api_kwargs named, so that the rights fill only the permission flags
                permissions=ChatPermissions(**dict(action.permissions), api_kwargs=None),
                until_date=action.until,
                use_independent_chat_permissions=True,
            )
        case LeaveChat():
            return await bot.leave_chat(chat)
        case ApproveJoinRequest():
            return await bot.approve_chat_join_request(chat, action.user_id)
        case DeclineJoinRequest():
            return await bot.decline_chat_join_request(chat, action.user_id)
        case _:
            assert_never(action)


_FAILURES = (
    (
        Failure.RIGHTS,
        (
            "not enough rights",
            "chat_admin_required",
            "have no rights",
            "need administrator rights",
            "rights to",
        ),
    ),
    (
        Failure.ADMIN,
        (
            "is an administrator",
            "chat owner",
            "user_admin_invalid",
            "can't remove chat",
            "can't restrict chat",
        ),
    ),
    (
        Failure.NOT_FOUND,
        (
            "user not found",
            "participant_id_invalid",
            "user_id_invalid",
            "user_not_participant",
            "member not found",
            "chat not found",
        ),
    ),
    (Failure.SUPERGROUP, ("supergroup",)),
)


def failure_reason(error: str) -> Failure:
    """Why Telegram refused a call, from its error text."""
    text = error.lower()
    for reason, markers in _FAILURES:
        if any(marker in text for marker in markers):
            return reason
    return Failure.OTHER


async def delete_many(bot: Bot, chat_id: int, message_ids: Sequence[int]) -> Any:
    """Up to 100 removals in one call; ids Telegram cannot find are skipped."""
    ids = sorted(set(message_ids))
    if len(ids) == 1:
        return await bot.delete_message(chat_id, ids[0])
    return await bot.delete_messages(chat_id, ids)
