"""Owner reports of new blacklist entries, batched: a spam wave is one message, not fifty.

The job runs a few seconds after a blacklisting (and every minute as a safety net), takes the
entries not yet reported, and queues one private message per owner with the evidence and an undo
button per entry. "Reported" is stored with the entry, so a restart neither loses nor repeats a
report.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ContextTypes

from bot.context import Services
from bot.i18n import tr
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Alliance, BlacklistEntry, utcnow
from storage.moderation import BlacklistRepository
from storage.outbox import OutboxRepository

MAX_BUTTONS = 20
MAX_TEXT = 3800


async def send_blacklist_reports(services: Services) -> int:
    """Queue the owners' reports of unreported entries; returns how many entries were reported."""
    reported = 0
    async with services.sessions() as session:
        for alliance in await AllianceRepository(session).list_all():
            entries = await BlacklistRepository(session).take_unreported(alliance.id, at=utcnow())
            if not entries:
                continue
            titles = {c.id: c.title for c in await ChatRepository(session).list_active(alliance.id)}
            text, markup = render_report(alliance, entries, titles)
            for owner_id in alliance.owner_ids:
                await OutboxRepository(session).add(
                    "send_message", owner_id, {"text": text, "reply_markup": markup}
                )
            reported += len(entries)
        await session.commit()
    if reported:
        services.executor.wake()
    return reported


def render_report(
    alliance: Alliance, entries: list[BlacklistEntry], titles: dict[int, str]
) -> tuple[str, dict[str, object]]:
    lang = alliance.language
    lines = [tr(lang, "🚫 {count} accounts blacklisted in all your groups:", count=len(entries))]
    for entry in entries:
        where = titles.get(entry.source_chat_id or 0, str(entry.source_chat_id))
        who = tr(lang, "by an admin") if entry.added_by else tr(lang, "automatically")
        line = f"• {entry.user_id} — {where} — {who}: {entry.reason[:160]}"
        quote = str(entry.evidence.get("text") or "").replace("\n", " ")[:120]
        if quote:
            line += f"\n  “{quote}”"
        lines.append(line)
    text = "\n".join(lines)
    if len(text) > MAX_TEXT:
        text = (
            text[:MAX_TEXT] + "\n…\n" + tr(lang, "Use /blacklisted in a group for the full list.")
        )
    buttons = [
        [
            InlineKeyboardButton(
                tr(lang, "Undo {user}", user=entry.user_id),
                callback_data=f"bl:undo:{alliance.id}:{entry.user_id}",
            )
        ]
        for entry in entries[:MAX_BUTTONS]
    ]
    return text, InlineKeyboardMarkup(buttons).to_dict()


async def report_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_blacklist_reports(context.bot_data)
