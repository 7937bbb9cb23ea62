"""Owner reports of new blacklist entries, batched: a spam wave is one message, not fifty.

The job runs a few seconds after a blacklisting (and every minute as a safety net), takes the
entries not yet reported, and queues one private message per owner with the evidence and an undo
button per entry. "Reported" is stored with the entry, so a restart neither loses nor repeats a
report.
"""

from __future__ import annotations

from dataclasses import replace

from rules.actions import Button, SendMessage
from rules.decision import Person
from rules.limits import TEXT_LIMIT, fit
from services.i18n import N_, tr, tr_n
from services.uow import UnitOfWork
from storage.groups import AllianceRepository, ChatRepository, UserRepository
from storage.models import Alliance, BlacklistEntry, utcnow
from storage.moderation import BlacklistRepository

MAX_BUTTONS = 20
MAX_TEXT = 3800


async def send_blacklist_reports(uow: UnitOfWork) -> int:
    """Queue the owners' reports of unreported entries; returns how many entries were reported."""
    session = uow.session
    reported = 0
    for alliance in await AllianceRepository(session).list_all():
        entries = await BlacklistRepository(session).take_unreported(alliance.id, at=utcnow())
        if not entries:
            continue
        titles = {c.id: c.title for c in await ChatRepository(session).list_active(alliance.id)}
        people = await UserRepository(session).people([e.user_id for e in entries])
        report = render_report(alliance, entries, titles, people)
        for owner_id in alliance.owner_ids:
            await uow.send(replace(report, chat_id=owner_id))
        reported += len(entries)
    return reported


def render_report(
    alliance: Alliance,
    entries: list[BlacklistEntry],
    titles: dict[int, str],
    people: dict[int, Person],
) -> SendMessage:
    """The report, addressed to no one yet (the caller sends it to each owner)."""
    lang = alliance.language
    heading = tr_n(
        lang,
        len(entries),
        N_("🚫 {count} account blacklisted in all your groups:"),
        N_("🚫 {count} accounts blacklisted in all your groups:"),
        count=len(entries),
    )
    lines = [heading]
    for entry in entries:
        where = titles.get(entry.source_chat_id or 0, str(entry.source_chat_id or "—"))
        who = tr(lang, "by an admin") if entry.added_by else tr(lang, "automatically")
        name = _name(people, entry)
        line = f"• {name} — {where} — {who}: {entry.reason[:160]}"
        quote = " ".join(str(entry.evidence.get("text") or "").split())[:120]
        if quote:
            line += f"\n  “{quote}”"
        lines.append(line)
    text = "\n".join(lines)
    if len(text) > MAX_TEXT:
        more = tr(lang, "Use /blacklisted in a group for the full list.")
        text = text[:MAX_TEXT] + "\n…\n" + more
    buttons = tuple(
        (
            Button(
                fit(tr(lang, "Undo {user}", user=_name(people, e)), 60),
                callback_data=f"bl:undo:{alliance.id}:{e.user_id}",
            ),
        )
        for e in entries[:MAX_BUTTONS]
    )
    return SendMessage(chat_id=0, text=fit(text, TEXT_LIMIT), buttons=buttons)


def _name(people: dict[int, Person], entry: BlacklistEntry) -> str:
    """Name (@username, id): as the bot knows them now, else as they were when blacklisted."""
    known = people.get(entry.user_id)
    if known is not None and known.name:
        return known.render()
    who = entry.evidence.get("who")
    return str(who) if who else str(entry.user_id)
