"""Newcomers: blacklisted arrivals are banned at once, the others welcomed with the group's rules.

A wave of joins gets one welcome: the first join queues a welcome a few seconds ahead, and later
joins of the wave are added to that same waiting message (`services.notices.gather`). During a
raid the welcome waits until the joins stop (`rules.notices.welcome_pacing`). Each new welcome
replaces the previous one (the executor removes the old message), and a welcome removes itself
after the group's configured time. In shadow mode nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from rules.actions import Batch, BatchEntry, Button, SendMessage
from rules.decision import Decision, Person, Reason
from rules.moderation import remove_blacklisted
from rules.notices import welcome_pacing
from rules.welcome import TemplateError, render_welcome
from services.apply import apply
from services.i18n import N_, tr
from services.notices import gather
from services.runtime import Runtime
from services.state import ChatEntry
from services.texts import chat_language, rules_text
from services.uow import UnitOfWork
from storage.models import Chat
from storage.moderation import BlacklistRepository
from storage.outbox import CodecError, OutboxRepository, decode
from storage.policy import GroupPolicy

WELCOME_KEY = "welcome"
DEFAULT_TEMPLATE = N_("Welcome to “{title}”, {name}! Please read the group rules:\n{rules}")
DEFAULT_TEMPLATE_NO_RULES = N_("Welcome to “{title}”, {name}! Please read the group rules first.")


async def on_joined(
    uow: UnitOfWork, rt: Runtime, entry: ChatEntry, people: Sequence[Person], *, bot_username: str
) -> None:
    """Ban blacklisted arrivals at once; welcome the others."""
    chat, policy = entry.chat, entry.policy
    assert chat.alliance_id is not None
    blacklist = BlacklistRepository(uow.session)
    welcome: list[Person] = []
    for person in people:
        listed = await blacklist.get_active(chat.alliance_id, person.user_id)
        if listed is None:
            welcome.append(person)
            continue
        if await _staff(uow, rt, chat.alliance_id, person.user_id):
            # staff of the alliance are never removed, whatever a list says: logged, not acted on
            note = Decision(
                "exempt",
                chat.id,
                target=person.user_id,
                reasons=(Reason("exempt", "admin"), Reason("blacklisted")),
            )
            await apply(uow, rt, note)
            continue
        why = f"joined ({listed.reason})"
        await apply(uow, rt, remove_blacklisted(chat.id, person.user_id, None, why))
    if not welcome or not policy.welcome_enabled:
        return
    if policy.shadow_mode:
        names = ", ".join(p.render() for p in welcome)
        shadowed = Decision("welcome", chat.id, reasons=(Reason("joined", names),))
        await apply(uow, rt, shadowed)
        return
    language = chat_language(rt, chat, entry.alliance)

    def render(batch: Batch) -> SendMessage:
        names = [e.name for e in batch.entries]
        return welcome_message(
            language, chat, policy, names, bot_username, batch=batch, count=batch.people
        )

    pacing = welcome_pacing(policy.welcome_batch_seconds)
    for person in welcome:
        user = BatchEntry(person.user_id, person.name or str(person.user_id))
        await gather(
            uow, chat_id=chat.id, key=WELCOME_KEY, entry=user, pacing=pacing, render=render
        )


async def _staff(uow: UnitOfWork, rt: Runtime, alliance_id: int, user_id: int) -> bool:
    """An owner of the alliance, or an admin of one of its groups (by the stored lists)."""
    if rt.alliances.is_owner(user_id, alliance_id) or user_id == rt.options.bot_id:
        return True
    return bool(await rt.authority.admin_elsewhere(uow, alliance_id, user_id))


def welcome_text(
    language: str, chat: Chat, policy: GroupPolicy, names: list[str], count: int | None = None
) -> tuple[str, bool]:
    """The welcome's words for `names`, and whether the rules need a button (not inline)."""
    rules = rules_text(chat, language)
    if chat.welcome_template:
        template = chat.welcome_template
    elif policy.rules_in_welcome:
        template = tr(language, DEFAULT_TEMPLATE)
    else:
        template = tr(language, DEFAULT_TEMPLATE_NO_RULES)
    try:
        text = render_welcome(template, names=names, title=chat.title, rules=rules, count=count)
    except TemplateError:
        default = tr(language, DEFAULT_TEMPLATE)
        text = render_welcome(default, names=names, title=chat.title, rules=rules, count=count)
    return text, not policy.rules_in_welcome or "{rules}" not in template


def welcome_message(
    language: str,
    chat: Chat,
    policy: GroupPolicy,
    names: list[str],
    bot_username: str,
    *,
    batch: Batch | None = None,
    count: int | None = None,
) -> SendMessage:
    """The welcome for `names` (of `count` newcomers), with the rules inline or behind a
    button."""
    text, button = welcome_text(language, chat, policy, names, count)
    buttons = rules_button(language, chat, bot_username) if button else ()
    return SendMessage(
        chat_id=chat.id,
        text=text,
        buttons=buttons,
        replace=WELCOME_KEY,
        delete_after=policy.welcome_delete_after,
        batch=batch,
    )


def rules_button(language: str, chat: Chat, bot_username: str) -> tuple[tuple[Button, ...], ...]:
    url = f"https://t.me/{bot_username}?start=rules_{chat.id}"
    return ((Button(tr(language, "Read the group rules"), url=url),),)


async def withdraw(uow: UnitOfWork, rt: Runtime, user_id: int, chat_ids: Iterable[int]) -> None:
    """Take someone out of the welcomes still waiting in these groups (they were just
    blacklisted): a welcome left with nobody is not sent at all."""
    outbox = OutboxRepository(uow.session)
    for chat_id in chat_ids:
        row = await outbox.latest_coalescing(chat_id, WELCOME_KEY)
        if row is None or row.status != "pending" or row.attempts:
            continue
        try:
            waiting = decode(row.kind, row.chat_id, row.priority, row.payload)
        except CodecError:
            continue
        batch = waiting.batch if isinstance(waiting, SendMessage) else None
        entry = await rt.state.entry(uow, chat_id)
        if batch is None or entry is None or all(e.user_id != user_id for e in batch.entries):
            continue
        rest = batch.without(user_id)
        if not rest.entries and not rest.more:
            await outbox.cancel(row.id, "everyone it welcomed was blacklisted")
            continue
        language = chat_language(rt, entry.chat, entry.alliance)
        names = [e.name for e in rest.entries]
        text, _ = welcome_text(language, entry.chat, entry.policy, names, rest.people)
        assert isinstance(waiting, SendMessage)
        await outbox.replace_waiting(
            row.id, replace(waiting, text=text, batch=rest), row.not_before
        )
