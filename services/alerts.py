"""Alerts to the owners in private: at most one per group, kind and local day.

Whoever notices something (a member leaving, the bot losing its rights, a wave of ads, the daily
upkeep comparing weeks) builds a rules.health.Alert; this module claims the (group, kind, day)
slot in the same transaction and queues the message to every owner of the alliance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rules.actions import SendMessage
from rules.health import Alert, AlertKind
from rules.paging import split_message
from rules.roles import Role
from services.i18n import tr
from services.uow import UnitOfWork
from storage.models import Alliance, utcnow
from storage.schedule import AlertRepository


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _percent_of(detail: Mapping[str, object], key: str) -> str:
    value = detail.get(key, 0)
    return percent(value if isinstance(value, float | int) else 0.0)


def render_alert(lang: str, title: str, alert: Alert) -> str:
    d = alert.detail
    match alert.kind:
        case AlertKind.MEMBER_LEFT:
            role = tr(lang, "core member") if d.get("role") == Role.CORE else tr(lang, "influencer")
            return tr(
                lang,
                "⚠️ {group}: {role} {name} left the group. A personal message may bring them back.",
                group=title,
                role=role,
                name=d.get("name", ""),
            )
        case AlertKind.EXIT_JUMP:
            return tr(
                lang,
                "⚠️ {group}: the exit rate jumped to {rate} (was {before}): {leaves} members left in 7 days.",
                group=title,
                rate=_percent_of(d, "after"),
                before=_percent_of(d, "before"),
                leaves=d.get("leaves", 0),
            )
        case AlertKind.TIER_CHANGE:
            return tr(
                lang,
                "📉 {group}: active members {ratio} over 7 days, tier {before} → {after}.",
                group=title,
                ratio=_percent_of(d, "ratio"),
                before=tier_name(lang, str(d.get("before"))),
                after=tier_name(lang, str(d.get("after"))),
            )
        case AlertKind.SPAM_WAVE:
            return tr(
                lang,
                "🚨 {group}: ad wave, {count} accounts blacklisted within {minutes} minutes.",
                group=title,
                count=d.get("count", 0),
                minutes=d.get("minutes", 60),
            )
        case AlertKind.BOT_DEMOTED:
            return tr(
                lang,
                "⚠️ {group}: I lost my admin rights there, so I cannot remove ads or welcome newcomers. Make me an admin again.",
                group=title,
            )
        case AlertKind.BOT_REMOVED:
            return tr(lang, "⚠️ {group}: I was removed from the group.", group=title)
    return f"{title}: {alert.kind}"


def tier_name(lang: str, tier: str) -> str:
    names = {
        "high": tr(lang, "high"),
        "general": tr(lang, "general"),
        "inactive": tr(lang, "inactive"),
    }
    return names.get(tier, tier)


async def send_alert(
    uow: UnitOfWork, alliance: Alliance, title: str, alert: Alert, *, now: datetime | None = None
) -> int:
    """Queue the alert to every owner unless one of its kind went out for the group today;
    returns the number of messages queued."""
    return await send_alerts(uow, alliance, {alert.chat_id: title}, [alert], now=now or utcnow())


async def send_alerts(
    uow: UnitOfWork,
    alliance: Alliance,
    titles: Mapping[int, str],
    alerts: Sequence[Alert],
    *,
    now: datetime,
) -> int:
    """Queue the alerts not yet sent today (per group and kind) as one message per owner, split
    under Telegram's limit; returns the number of messages queued."""
    day = now.astimezone(ZoneInfo(alliance.timezone)).date()
    claims = AlertRepository(uow.session)
    lines = [
        render_alert(alliance.language, titles.get(a.chat_id, str(a.chat_id)), a)
        for a in alerts
        if await claims.claim(a.chat_id, a.kind, day, at=now)
    ]
    if not lines:
        return 0
    parts = split_message("\n\n".join(lines))
    for owner_id in alliance.owner_ids:
        for part in parts:
            await uow.send(SendMessage(chat_id=owner_id, text=part))
    return len(alliance.owner_ids) * len(parts)
