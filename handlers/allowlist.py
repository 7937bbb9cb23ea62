"""/allow and /disallow: the club's own contacts and links, never treated as ads.

In a group its admins keep the group's list; in the private chat the owners keep their alliance's
list, which counts in every group. `/allow` alone shows the lists.
"""

from __future__ import annotations

from telegram import Update

from handlers.authority import may_moderate
from handlers.commands import actor_of, language, refuse, reply, usage
from handlers.context import BotContext
from rules.limits import echo
from services.allowlist import MAX_TERM_LENGTH, Change, change_alliance, change_group
from services.apply import audit
from services.i18n import tr
from storage.models import Alliance
from storage.policy import AlliancePolicy, GroupPolicy


async def cmd_allow(update: Update, context: BotContext) -> None:
    await _allow(update, context, remove=False)


async def cmd_disallow(update: Update, context: BotContext) -> None:
    await _allow(update, context, remove=True)


async def _allow(update: Update, context: BotContext, *, remove: bool) -> None:
    uow, rt = context.uow, context.runtime
    words = [w for w in (context.args or []) if w.strip()]
    lang = language(context)
    command = "disallow" if remove else "allow"
    if not await _may_change(update, context, lang, command):
        return
    if not words:
        if remove:
            await usage(update, context, "disallow")
        else:
            await reply(update, context, await _listing(update, context, lang))
        return
    add, drop = ([], words) if remove else (words, [])
    if uow.chat is not None:
        change = await change_group(uow, uow.chat, add=add, remove=drop)
    else:
        change = None
        for alliance_id in sorted(rt.alliances.owned_by(actor_of(update))):
            alliance = await uow.session.get(Alliance, alliance_id)
            if alliance is not None:
                change = await change_alliance(uow, alliance, add=add, remove=drop)
    assert change is not None
    if not change.added and not change.removed:  # nothing was done: nothing to audit
        await reply(update, context, _answer(lang, change, everywhere=uow.chat is None))
        return
    audit(
        uow,
        command,
        chat_id=uow.chat.id if uow.chat is not None else None,
        actor=actor_of(update),
        target=None,
        reasons=", ".join(change.added or change.removed),
        scope="group" if uow.chat is not None else "alliance",
    )
    await reply(update, context, _answer(lang, change, everywhere=uow.chat is None))


async def _may_change(update: Update, context: BotContext, lang: str, command: str) -> bool:
    """A group's admins for the group; the owners, in private, for their alliances."""
    if context.uow.chat is not None:
        if await may_moderate(update, context):
            return True
        text = tr(
            lang,
            "Only the group's owner and admins who can restrict members may use /{command}.",
            command=command,
        )
        await refuse(update, context, text)
        return False
    if context.runtime.alliances.owned_by(actor_of(update)):
        return True
    text = tr(lang, "Only the owners of our groups can use this command.")
    await reply(update, context, text)
    return False


def _answer(lang: str, change: Change, *, everywhere: bool) -> str:
    lines = []
    if change.added:
        lines.append(
            tr(
                lang,
                "Never treated as ads in all our groups: {terms}",
                terms=", ".join(change.added),
            )
            if everywhere
            else tr(
                lang, "Never treated as ads in this group: {terms}", terms=", ".join(change.added)
            )
        )
    if change.removed:
        lines.append(tr(lang, "No longer allowed: {terms}", terms=", ".join(change.removed)))
    if change.too_short:
        shown = ", ".join(echo(w, 20) for w in change.too_short)
        lines.append(
            tr(lang, "Too short to allow safely (at least 4 characters): {words}", words=shown)
        )
    if change.too_long:
        shown = ", ".join(echo(w, 20) for w in change.too_long)
        lines.append(
            tr(
                lang,
                "Too long to be a contact or link (at most {limit} characters): {words}",
                limit=MAX_TERM_LENGTH,
                words=shown,
            )
        )
    if change.full:
        lines.append(tr(lang, "The list is full ({limit} entries): remove some first.", limit=200))
    if not lines:
        lines.append(tr(lang, "Nothing changed."))
    return "\n".join(lines)


async def _listing(update: Update, context: BotContext, lang: str) -> str:
    uow, rt = context.uow, context.runtime
    lines = [
        tr(
            lang,
            "Contacts and links never treated as ads (besides our owners', admins' and groups' own @usernames):",
        )
    ]
    if uow.chat is not None:
        group = GroupPolicy.load(uow.chat.policy).allowed
        lines.append(tr(lang, "This group: {terms}", terms=", ".join(group) or "—"))
        ids = [uow.chat.alliance_id] if uow.chat.alliance_id is not None else []
    else:
        ids = sorted(rt.alliances.owned_by(actor_of(update)))
    for alliance_id in ids:
        alliance = await uow.session.get(Alliance, alliance_id)
        if alliance is not None:
            listed = AlliancePolicy.load(alliance.policy).allowed
            lines.append(tr(lang, "All our groups: {terms}", terms=", ".join(listed) or "—"))
    lines.append(tr(lang, "Add: /allow <handle, link or id> · remove: /disallow <the same>"))
    return "\n".join(lines)
