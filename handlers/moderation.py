"""Every group message: keep blacklisted accounts out, and find ads.

Flow: facts from the message -> the member's history -> the detector's verdict (pure, in rules/)
-> only for a message that looks bad, the sender's admin status from Telegram (admins and approved
members are exempt) -> the decision recorded and its actions queued. A message the detector lets
through costs no Bot API call.
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

from telegram import Message, MessageEntity, MessageOriginChannel, Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.i18n import tr
from bot.state import MemberView
from handlers import actions
from handlers.authority import is_anonymous_admin, member_status
from handlers.guards import SERVICE_NOTIFICATIONS
from rules.facts import DetectPolicy, MessageFacts, SenderFacts, Verdict
from storage.models import Chat, utcnow
from storage.policy import GroupPolicy

MEDIA_FIELDS = (
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
)
_media = attrgetter(*MEDIA_FIELDS)


async def on_group_message(update: Update, context: BotContext) -> None:
    message = update.effective_message
    uow = context.uow
    chat = uow.chat
    user = message.from_user if message is not None else None
    if message is None or chat is None or user is None or chat.alliance_id is None:
        return
    if is_anonymous_admin(message) or user.id == SERVICE_NOTIFICATIONS:
        return
    state = context.services.state
    if await state.is_blacklisted(uow, chat.alliance_id, user.id):
        await _remove_blacklisted(context, chat, message)
        raise ApplicationHandlerStop
    policy = await state.policy(uow, chat.id)
    member = await state.member(uow, chat.id, user.id)
    now = utcnow()
    facts = message_facts(message)
    verdict = await _judge(context, chat, policy, facts, user.id, member, now)
    if verdict.action != "allow":
        exempt = user.id in policy.approved_users or await _is_admin(context, chat.id, user.id)
        if exempt:
            verdict = Verdict("allow", verdict.score, verdict.probability, verdict.reasons)
    # Activity is people's messages that stay: not an edit (not another message), not an ad
    # being removed, not a bot or a post made as a channel.
    if (
        update.message is not None
        and verdict.action in ("allow", "flag")
        and not user.is_bot
        and message.sender_chat is None
    ):
        context.services.activity.note_message(
            chat.id,
            user.id,
            min(message.date, now),
            message_id=message.message_id,
            reply_to=(
                _replied_author(message, context.bot.id)
                if message.reply_to_message is not None
                else None
            ),
        )
        state.count_message(chat.id, user.id, now)
    if verdict.action == "allow":
        return
    if verdict.action == "flag":
        actions.log(
            uow,
            "flag",
            chat_id=chat.id,
            actor=None,
            target=user.id,
            reasons=verdict.explain(),
            message_id=message.message_id,
            score=round(verdict.score, 3),
        )
        return
    language = actions.chat_language(context, chat)
    offence = actions.Offence(
        user_id=user.id,
        user_name=user.full_name,
        reason=tr(language, "advertising is not allowed here"),
        detail=verdict.explain(),
        message_id=message.message_id,
        text=facts.text or facts.caption,
        extra={"score": round(verdict.score, 3)},
    )
    actions.log(
        uow,
        "would_delete" if policy.shadow_mode else "delete",
        chat_id=chat.id,
        actor=None,
        target=user.id,
        reasons=verdict.explain(),
        message_id=message.message_id,
        score=round(verdict.score, 3),
    )
    await actions.warn(context, chat, offence, actor=None)
    raise ApplicationHandlerStop


def _replied_author(message: Message, bot_id: int) -> int | None:
    """The member this message answers; not a topic's opening message, a bot or a channel."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    author = replied.from_user
    if author is None or author.is_bot or author.id == bot_id or replied.sender_chat is not None:
        return None
    return author.id


async def _judge(
    context: BotContext,
    chat: Chat,
    policy: GroupPolicy,
    facts: MessageFacts,
    user_id: int,
    member: MemberView | None,
    now: datetime,
) -> Verdict:
    detector = context.services.detector
    assert chat.alliance_id is not None
    warnings = 0
    if member is not None and member.messages_seen >= detector.veteran_messages:
        state = context.services.state
        warned = await state.has_warnings(context.uow, chat.alliance_id, user_id, now)
        warnings = int(warned)
    sender = sender_facts(member, warnings, now)
    return detector.assess(
        facts, sender, detect_policy(policy), alliance_id=chat.alliance_id, chat_id=chat.id
    )


async def _is_admin(context: BotContext, chat_id: int, user_id: int) -> bool:
    if context.services.is_owner(user_id):
        return True
    status = await member_status(context, chat_id, user_id)
    return status.status in ("creator", "administrator")


async def _remove_blacklisted(context: BotContext, chat: Chat, message: Message) -> None:
    """A blacklisted account that got in anyway: delete and ban at once."""
    uow = context.uow
    user_id = message.from_user.id if message.from_user else 0
    if GroupPolicy.load(chat.policy).shadow_mode:
        actions.log(
            uow, "would_ban", chat_id=chat.id, actor=None, target=user_id, reasons="blacklisted"
        )
        return
    await uow.queue("delete_message", chat.id, {"message_id": message.message_id})
    await uow.queue("ban_chat_member", chat.id, {"user_id": user_id, "revoke_messages": True})
    actions.log(
        uow,
        "ban",
        chat_id=chat.id,
        actor=None,
        target=user_id,
        reasons="blacklisted: posted after getting in",
    )


def message_facts(message: Message) -> MessageFacts:
    """The plain facts of a message that the detector reads."""
    text = message.text or ""
    caption = message.caption or ""
    urls: list[str] = []
    mentions: list[str] = []
    for entities, source in ((message.entities, text), (message.caption_entities, caption)):
        for entity in entities or ():
            if entity.type == MessageEntity.TEXT_LINK and entity.url:
                urls.append(entity.url)
            elif entity.type == MessageEntity.URL:
                urls.append(_slice(source, entity))
            elif entity.type == MessageEntity.MENTION:
                mentions.append(_slice(source, entity))
    origin = message.forward_origin
    sender_name = message.from_user.full_name if message.from_user else ""
    if message.sender_chat is not None:
        sender_name = f"{sender_name} {message.sender_chat.title or ''}".strip()
    return MessageFacts(
        text=text,
        caption=caption,
        entity_urls=tuple(urls),
        mentions=tuple(mentions),
        has_buttons=message.reply_markup is not None,
        forwarded_from_channel=isinstance(origin, MessageOriginChannel),
        has_media=any(_media(message)),
        sender_name=sender_name,
        chat_id=message.chat.id,
    )


def _slice(text: str, entity: MessageEntity) -> str:
    # Telegram offsets count UTF-16 code units.
    encoded = text.encode("utf-16-le")
    return encoded[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le")


def sender_facts(member: MemberView | None, warnings: int, now: datetime) -> SenderFacts:
    """What the group knows of the sender."""
    if member is None:
        return SenderFacts(messages_seen=0, joined_seconds_ago=None, days_clean=0.0)
    since = member.joined_at or member.first_seen
    age = (now - since).total_seconds() if member.joined_at else None
    return SenderFacts(
        messages_seen=member.messages_seen,
        joined_seconds_ago=age,
        days_clean=(now - since).total_seconds() / 86400 if warnings == 0 else 0.0,
        warnings=warnings,
    )


def detect_policy(policy: GroupPolicy) -> DetectPolicy:
    """The detector's view of a group's policy, built once per loaded policy (the state cache
    keeps one `GroupPolicy` per chat entry, so this runs once per entry, not per message)."""
    known = _DETECT_POLICIES.get(id(policy))
    if known is not None and known[0] is policy:
        return known[1]
    built = DetectPolicy(
        delete_threshold=policy.delete_threshold,
        flag_threshold=min(policy.flag_threshold, policy.delete_threshold),
        allowed_domains=frozenset(d.lower() for d in policy.allowed_domains),
        allowed_mentions=frozenset(m.lower().lstrip("@") for m in policy.allowed_mentions),
    )
    if len(_DETECT_POLICIES) >= 10_000:
        _DETECT_POLICIES.clear()
    # The policy itself is kept with it, so that its id cannot be reused while it is here.
    _DETECT_POLICIES[id(policy)] = (policy, built)
    return built


_DETECT_POLICIES: dict[int, tuple[GroupPolicy, DetectPolicy]] = {}
