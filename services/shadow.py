"""Shadow mode: turning it on and off, and what it would have done.

`services.apply` records every decision made in a group in shadow mode as an audit row
"would_<verdict>" (with the offending text and score). The report reads them back since the
mode was last turned on: deletions, warnings and blacklists, each with its text, reasons and
score. Warnings are not recorded in shadow mode, so the report counts them itself: a member's
would-be warning that reaches the group's limit is shown as the blacklisting it would have been.
Admins tap "this was fine" on a would-be action: that labels its text as a normal message for the
detector and counts toward the estimate of false positives (marked / all). One tap on "turn
enforcement on" ends shadow mode.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.actions import Button, Keyboard
from rules.decision import Person
from rules.limits import echo
from services.apply import audit
from services.i18n import tr
from services.uow import UnitOfWork, Wake
from storage.groups import UserRepository
from storage.models import Chat, ModerationLog, utcnow
from storage.moderation import LabeledMessageRepository
from storage.outbox import OutboxRepository
from storage.policy import GroupPolicy

Kind = Literal["delete", "warn", "blacklist"]
# would-be verdicts that are no action on anyone: a spared admin, a message to review, a welcome
NOT_ACTIONS = ("exempt", "flag", "welcome", "inviter_strike", "unblacklist")
FINE = "shadow_fine"
LOOKBACK = timedelta(days=30)  # the longest shadow period a report reads
SHOWN = 10  # would-be actions listed (the newest), each with its button
TEXT_SHOWN = 80
DIGEST_SHOWN = 5  # would-be actions per group in the digest


@dataclass(frozen=True)
class WouldItem:
    log_id: int
    chat_id: int
    at: datetime
    kind: Kind
    who: Person | None
    text: str
    score: float | None
    reasons: str
    fine: bool


@dataclass
class ShadowReport:
    chat_id: int
    title: str
    since: datetime | None  # when shadow mode was last turned on (None: before the lookback)
    active: bool  # the group is in shadow mode now
    items: list[WouldItem] = field(default_factory=list)  # oldest first

    def count(self, kind: Kind) -> int:
        return sum(1 for i in self.items if i.kind == kind)

    @property
    def fine(self) -> int:
        return sum(1 for i in self.items if i.fine)


async def set_shadow(uow: UnitOfWork, row: Chat, on: bool, actor: int | None) -> int:
    """Turn shadow mode on or off for the group `row` (in the caller's session), with its audit
    row; turning it on withdraws what was queued there and not yet done. Returns how many calls
    were withdrawn."""
    policy = GroupPolicy.load(row.policy).changed(shadow_mode=on)
    row.policy = policy.stored()
    withdrawn = 0
    if on:  # what was queued here and not yet done is not done either
        withdrawn = await OutboxRepository(uow.session).cancel_chat(row.id, "shadow mode")
    audit(
        uow,
        "shadow_on" if on else "shadow_off",
        chat_id=row.id,
        actor=actor,
        target=None,
        withdrawn=withdrawn or None,
    )
    return withdrawn


async def _since(session: AsyncSession, chat_id: int, now: datetime) -> datetime | None:
    """When shadow mode was last turned on in the group, within the lookback."""
    at: datetime | None = await session.scalar(
        select(ModerationLog.at)
        .where(
            ModerationLog.chat_id == chat_id,
            ModerationLog.action == "shadow_on",
            ModerationLog.at >= now - LOOKBACK,
        )
        .order_by(ModerationLog.at.desc())
        .limit(1)
    )
    return at


async def build_report(session: AsyncSession, chat: Chat, *, now: datetime) -> ShadowReport:
    """What the group's last shadow period (to now, or to when it was turned off) would have
    done, oldest first."""
    policy = GroupPolicy.load(chat.policy)
    since = await _since(session, chat.id, now)
    report = ShadowReport(chat.id, chat.title, since, policy.shadow_mode)
    start = since or now - LOOKBACK
    rows = list(
        await session.scalars(
            select(ModerationLog)
            .where(
                ModerationLog.chat_id == chat.id,
                ModerationLog.at >= start,
                ModerationLog.action.like("would\\_%", escape="\\"),
            )
            .order_by(ModerationLog.at, ModerationLog.id)
        )
    )
    rows = [r for r in rows if r.action.removeprefix("would_") not in NOT_ACTIONS]
    if not rows:
        return report
    marked = await _marked(session, chat.id, start)
    people = await UserRepository(session).people([r.target_id for r in rows if r.target_id])
    warned: dict[int, int] = {}
    for row in rows:
        kind = _kind(row.action.removeprefix("would_"))
        if kind == "warn" and row.target_id is not None:
            warned[row.target_id] = warned.get(row.target_id, 0) + 1
            if warned[row.target_id] >= policy.warn_limit:
                kind = "blacklist"
        score = row.details.get("score")
        report.items.append(
            WouldItem(
                row.id,
                chat.id,
                row.at,
                kind,
                people.get(row.target_id) if row.target_id else None,
                str(row.details.get("text") or ""),
                float(score) if isinstance(score, int | float) else None,
                row.reasons,
                row.id in marked,
            )
        )
    return report


async def _marked(session: AsyncSession, chat_id: int, start: datetime) -> set[int]:
    details = await session.scalars(
        select(ModerationLog.details).where(
            ModerationLog.chat_id == chat_id,
            ModerationLog.action == FINE,
            ModerationLog.at >= start,
        )
    )
    return {int(d["log_id"]) for d in details if isinstance(d.get("log_id"), int)}


def _kind(verdict: str) -> Kind:
    if verdict == "warn":
        return "warn"
    if verdict == "blacklist":
        return "blacklist"
    return "delete"  # a removal: an ad, a blacklisted account's post, a channel's post


async def shadowed_groups(session: AsyncSession, alliance_id: int) -> list[Chat]:
    rows = await session.scalars(
        select(Chat)
        .where(Chat.alliance_id == alliance_id, Chat.status == "active")
        .order_by(Chat.id)
    )
    return [c for c in rows if GroupPolicy.load(c.policy).shadow_mode]


# --- the words ------------------------------------------------------------------------------


def _when(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def summary(lang: str, report: ShadowReport) -> str:
    """Counts and the estimate of false positives, one line each."""
    counts = tr(
        lang,
        "Deletions: {deletions} · warnings: {warnings} · blacklists: {blacklists}",
        deletions=report.count("delete"),
        warnings=report.count("warn"),
        blacklists=report.count("blacklist"),
    )
    total = len(report.items)
    if not report.fine:
        estimate = tr(
            lang, "No one has marked any as fine yet: tap “✅ n was fine” under a mistake."
        )
    else:
        estimate = tr(
            lang,
            "Admins marked {fine} of {total} as fine: about {percent} % would have been mistakes.",
            fine=report.fine,
            total=total,
            percent=round(100 * report.fine / total),
        )
    return f"{counts}\n{estimate}"


def item_line(lang: str, number: int, item: WouldItem) -> str:
    who = item.who.render() if item.who is not None else "?"
    what = {
        "delete": tr(lang, "would delete a message of {who}", who=who),
        "warn": tr(lang, "would warn {who}", who=who),
        "blacklist": tr(lang, "would blacklist {who}", who=who),
    }[item.kind]
    parts = [f"{number}. {what}"]
    if item.text:
        parts.append(f"“{echo(item.text.replace(chr(10), ' '), TEXT_SHOWN)}”")
    if item.score is not None:
        parts.append(tr(lang, "score {score}", score=f"{item.score:.2f}"))
    # the ladder's own count ("warn: 1 of 2") is the report's to tell: warnings are not kept
    # in shadow mode, so the log's count never climbs
    reasons = "; ".join(r for r in item.reasons.split("; ") if not r.startswith("warn:"))
    if reasons:
        parts.append(reasons)
    line = " — ".join(parts)
    return line + (" ✅" if item.fine else "")


def render_report(lang: str, report: ShadowReport, tz: ZoneInfo) -> str:
    if report.since is not None:
        head = tr(
            lang,
            "🕶 What I would have done in “{title}” since {when} (shadow mode):",
            title=report.title,
            when=_when(report.since, tz),
        )
    else:
        head = tr(lang, "🕶 What I would have done in “{title}” (shadow mode):", title=report.title)
    lines = [head]
    if not report.items:
        lines.append(tr(lang, "Nothing: no message would have been deleted, no one warned."))
    else:
        lines.append(summary(lang, report))
        lines.append("")
        shown = report.items[-SHOWN:]
        offset = len(report.items) - len(shown)
        lines += [item_line(lang, offset + n, item) for n, item in enumerate(shown, 1)]
        if offset:
            lines.append(
                tr(
                    lang,
                    "(the latest {shown} of {total})",
                    shown=len(shown),
                    total=len(report.items),
                )
            )
    if not report.active:
        lines.append(tr(lang, "Shadow mode is off: I act on what I find."))
    return "\n".join(lines)


def fine_buttons(lang: str, report: ShadowReport, limit: int = SHOWN) -> list[Button]:
    shown = report.items[-limit:]
    offset = len(report.items) - len(shown)
    return [
        Button(
            tr(lang, "✅ {number} was fine", number=offset + n), callback_data=f"sh:fine:{i.log_id}"
        )
        for n, i in enumerate(shown, 1)
        if not i.fine
    ]


def enforce_button(lang: str, report: ShadowReport, *, named: bool = False) -> Button:
    text = (
        tr(lang, "Turn enforcement on in “{title}”", title=report.title)
        if named
        else tr(lang, "Turn enforcement on")
    )
    return Button(text, callback_data=f"sh:on:{report.chat_id}")


def keyboard(lang: str, report: ShadowReport) -> Keyboard:
    buttons = fine_buttons(lang, report)
    rows = [tuple(buttons[i : i + 5]) for i in range(0, len(buttons), 5)]
    if report.active:
        rows.append((enforce_button(lang, report),))
    return tuple(rows)


# --- the buttons ----------------------------------------------------------------------------


async def would_row(session: AsyncSession, log_id: int) -> ModerationLog | None:
    """The audit row of a would-be action (None: no such row, or not a would-be action)."""
    row = await session.get(ModerationLog, log_id)
    if row is None or not row.action.startswith("would_") or row.chat_id is None:
        return None
    return None if row.action.removeprefix("would_") in NOT_ACTIONS else row


async def mark_fine(uow: UnitOfWork, row: ModerationLog, actor: int) -> bool:
    """Record that a would-be action was a mistake and label its text as a normal message;
    False when it was marked before."""
    session = uow.session
    assert row.chat_id is not None
    if row.id in await _marked(session, row.chat_id, row.at):
        return False
    audit(uow, FINE, chat_id=row.chat_id, actor=actor, target=row.target_id, log_id=row.id)
    text = str(row.details.get("text") or "")
    if text:
        await LabeledMessageRepository(session).add(
            text, "ham", source="shadow", chat_id=row.chat_id, at=utcnow()
        )
        uow.after_commit(Wake.RETRAIN)
    await session.flush()
    return True


# --- the owners' daily digest ---------------------------------------------------------------


@dataclass(frozen=True)
class DigestPart:
    """The digest's shadow section: a line per group (HTML), and a message per group listing
    its latest would-be actions with their buttons."""

    lines: list[str]
    messages: list[tuple[str, Keyboard]]


async def digest_part(
    session: AsyncSession, alliance_id: int, lang: str, tz: ZoneInfo, *, now: datetime
) -> DigestPart | None:
    """None while no group of the alliance is in shadow mode."""
    groups = await shadowed_groups(session, alliance_id)
    if not groups:
        return None
    lines = [
        "<b>" + html.escape(tr(lang, "🕶 Groups in shadow mode (I act on nothing there)")) + "</b>"
    ]
    messages: list[tuple[str, Keyboard]] = []
    for chat in groups:
        report = await build_report(session, chat, now=now)
        counts = (
            summary(lang, report).replace("\n", "; ")
            if report.items
            else tr(lang, "Nothing would have been done.")
        )
        lines.append(f"• {html.escape(chat.title)}: {html.escape(counts)}")
        shown = report.items[-DIGEST_SHOWN:]
        offset = len(report.items) - len(shown)
        text = [render_report(lang, report, tz).split("\n", 1)[0]]
        text += [item_line(lang, offset + n, item) for n, item in enumerate(shown, 1)]
        buttons = fine_buttons(lang, report, DIGEST_SHOWN)
        rows = [tuple(buttons[i : i + 5]) for i in range(0, len(buttons), 5)]
        rows.append((enforce_button(lang, report, named=True),))
        messages.append(("\n".join(text), tuple(rows)))
    return DigestPart(lines, messages)
