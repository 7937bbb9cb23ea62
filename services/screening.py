"""Every group message, screened: blacklisted accounts removed, ads found, activity counted.

Flow: the sender's history (from the caches) -> the detector's verdict (pure, in rules/) -> only
for a message that looks bad, the sender's standing: an owner, an approved member, or an admin of
this group or any group of the alliance is exempt, and the audit log says so -> the decision
applied. A message the detector lets through costs no Bot API call and no database round trip
(the one exception: a text seen in several groups from a sender with no history in this one reads
the sender's history in the alliance's other groups, once).

Activity is conversation: people's messages that stay, not commands to a bot, not edits, not
bots' or channels' posts. Someone just warned is taken out of the welcome still waiting for them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rules.decision import Person
from rules.facts import DetectPolicy, MessageFacts, SenderFacts, Verdict
from rules.moderation import Offence, remove_blacklisted, remove_channel_post, screened
from rules.text import is_command
from services import texts
from services.apply import apply
from services.i18n import tr
from services.moderation import punish
from services.runtime import Runtime
from services.state import ChatEntry, MemberView
from services.uow import UnitOfWork
from services.welcome import withdraw
from storage.activity import ActivityRepository
from storage.models import utcnow


@dataclass(frozen=True)
class Incoming:
    """A group message as screening needs it (built by the handler from Telegram's update)."""

    chat_id: int
    message_id: int
    sender: Person
    facts: MessageFacts
    at: datetime  # when it was sent
    is_bot: bool = False
    as_channel: bool = False  # posted as a channel (sender_chat)
    edited: bool = False  # an edit: judged again, not counted again
    reply_to_author: int | None = None  # the member it answers, if any
    sender_chat_id: int | None = None  # posted as this channel (the sender is Telegram's stand-in)
    bot_username: str = ""  # the bot's own @username is never an ad


async def screen(uow: UnitOfWork, rt: Runtime, entry: ChatEntry, message: Incoming) -> bool:
    """Judge the message and act on it; True when it was removed (later handlers skip it)."""
    chat = entry.chat
    alliance_id = chat.alliance_id
    if alliance_id is None:
        return False
    if message.sender_chat_id is not None:
        return await _screen_channel_post(uow, rt, entry, message)
    user_id = message.sender.user_id
    state = rt.state
    if await state.is_blacklisted(uow, alliance_id, user_id):
        if await _exempt(uow, rt, entry, user_id):
            return False  # staff of the alliance are never removed, whatever a list says
        decision = remove_blacklisted(
            chat.id, user_id, message.message_id, "posted after getting in"
        )
        await apply(uow, rt, decision)
        return True
    now = utcnow()
    member = await state.member(uow, chat.id, user_id)
    verdict = await _judge(uow, rt, entry, message, member, now, exempt=None)
    would: Verdict | None = None
    if verdict.action != "allow":
        exempt = await _exempt(uow, rt, entry, user_id)
        if exempt is not None:
            again = await _judge(uow, rt, entry, message, member, now, exempt, noted=True)
            would, verdict = verdict, again
    if verdict.action in ("allow", "flag"):
        _count(rt, entry, message, now)
    noted = screened(
        verdict, chat_id=chat.id, user_id=user_id, message_id=message.message_id, would=would
    )
    if noted is not None:
        await apply(uow, rt, noted)
    if verdict.action != "delete":
        return False
    language = texts.chat_language(rt, chat, entry.alliance)
    offence = Offence(
        message.sender,
        chat.id,
        reason=tr(language, "advertising is not allowed here"),
        detail=verdict.explain(),
        message_id=message.message_id,
        text=message.facts.text or message.facts.caption,
        extra={"score": round(verdict.score, 3)},
    )
    outcome = await punish(uow, rt, alliance_id, offence, actor=None)
    if outcome.decision.verdict == "warn":
        # welcomed and warned in one breath reads as mockery: the warning is what they get
        await withdraw(uow, rt, user_id, [chat.id])
    return True


async def _screen_channel_post(
    uow: UnitOfWork, rt: Runtime, entry: ChatEntry, message: Incoming
) -> bool:
    """A post made as a channel: judged as a stranger's message (nothing is known of who is
    behind it); an ad is removed and the channel barred from the group, no person is punished."""
    chat = entry.chat
    assert chat.alliance_id is not None
    assert message.sender_chat_id is not None
    verdict = rt.detector.assess(
        message.facts, SenderFacts(), entry.detect, alliance_id=chat.alliance_id, chat_id=chat.id
    )
    if verdict.action == "delete":
        decision = remove_channel_post(chat.id, message.sender_chat_id, message.message_id, verdict)
        await apply(uow, rt, decision)
        return True
    noted = screened(
        verdict, chat_id=chat.id, user_id=message.sender_chat_id, message_id=message.message_id
    )
    if noted is not None:
        await apply(uow, rt, noted)
    return False


async def _judge(
    uow: UnitOfWork,
    rt: Runtime,
    entry: ChatEntry,
    message: Incoming,
    member: MemberView | None,
    now: datetime,
    exempt: str | None,
    *,
    noted: bool = False,
) -> Verdict:
    chat = entry.chat
    alliance_id = chat.alliance_id
    assert alliance_id is not None
    user_id = message.sender.user_id
    # one read per alliance and a few minutes (cached): a warned sender is judged strictly
    warnings = int(await rt.state.has_warnings(uow, alliance_id, user_id, now))
    sender = sender_facts(member, warnings, now, exempt)
    policy = _policy(entry, message)

    def judge(sender: SenderFacts, noted: bool) -> Verdict:
        return rt.detector.assess(
            message.facts,
            sender,
            policy,
            alliance_id=alliance_id,
            chat_id=chat.id,
            sender_id=user_id,
            noted=noted,
        )

    verdict = judge(sender, noted)
    if sender.messages_seen == 0 and any(r.name == "spam-wave" for r in verdict.reasons):
        # "no history" means none in any of the alliance's groups, not only in this one
        repo = ActivityRepository(uow.session)
        elsewhere = await repo.messages_elsewhere(alliance_id, user_id, but=chat.id)
        if elsewhere:
            verdict = judge(replace(sender, messages_elsewhere=elsewhere), True)
    return verdict


def _policy(entry: ChatEntry, message: Incoming) -> DetectPolicy:
    """The group's detection policy; the bot's own username counts as the club's own, when
    the message names it (checked per message, not merged into the cached policy)."""
    term = message.bot_username.lower()
    detect = entry.detect
    if not term or term in detect.allowed_terms:
        return detect
    if term not in (message.facts.text + message.facts.caption).lower():
        return detect
    return replace(detect, allowed_terms=detect.allowed_terms | {term})


async def _exempt(uow: UnitOfWork, rt: Runtime, entry: ChatEntry, user_id: int) -> str | None:
    """Why the sender is spared ("admin", "approved member"), or None. The group's admin list is
    read first, before anything is written for this update (it may need Telegram)."""
    chat = entry.chat
    assert chat.alliance_id is not None
    if await rt.authority.status(uow, chat.id, user_id) is not None:
        return "admin"
    if rt.alliances.is_owner(user_id, chat.alliance_id):
        return "admin"
    if await rt.authority.admin_elsewhere(uow, chat.alliance_id, user_id, but=chat.id):
        return "admin"
    if user_id in entry.policy.approved_users:
        return "approved member"
    return None


def _count(rt: Runtime, entry: ChatEntry, message: Incoming, now: datetime) -> None:
    """Activity is people's messages that stay: not an edit, not an ad being removed, not a bot
    or a post made as a channel, not a command to a bot."""
    if message.edited or message.is_bot or message.as_channel or is_command(message.facts.text):
        return
    chat_id, user_id = entry.chat.id, message.sender.user_id
    rt.activity.note_message(
        chat_id,
        user_id,
        min(message.at, now),
        tz=entry.tz,
        message_id=message.message_id,
        reply_to=message.reply_to_author,
    )
    rt.state.count_message(chat_id, user_id, now)


def sender_facts(
    member: MemberView | None, warnings: int, now: datetime, exempt: str | None = None
) -> SenderFacts:
    """What the group knows of the sender."""
    is_admin, is_approved = exempt == "admin", exempt == "approved member"
    if member is None:
        return SenderFacts(
            is_admin=is_admin,
            is_approved=is_approved,
            messages_seen=0,
            joined_seconds_ago=None,
            days_clean=0.0,
        )
    since = member.joined_at or member.first_seen
    age = (now - since).total_seconds() if member.joined_at else None
    return SenderFacts(
        is_admin=is_admin,
        is_approved=is_approved,
        messages_seen=member.messages_seen,
        joined_seconds_ago=age,
        days_clean=(now - since).total_seconds() / 86400 if warnings == 0 else 0.0,
        warnings=warnings,
    )
