"""The digest's attachments: the chart in the digest's language (English where no installed
font can draw it, and the chart says so), and the table of every group as CSV, its headers and
tiers in the digest's language."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import replace
from functools import cache

from rules.health import DEFAULT_RULES, Change, TierRules, needs_attention
from services.alerts import percent, tier_name
from services.charts import ChartLabels, GroupPoint, TrendPoint, activity_chart, has_font_for
from services.i18n import N_, tr
from storage.health import ChatRow

log = logging.getLogger(__name__)
NO_CJK_NOTE = "no CJK font (install fonts-noto-cjk): labels in English"
CSV_HEADERS = (
    N_("chat_id"),
    N_("title"),
    N_("tier"),
    N_("previous_tier"),
    N_("members"),
    N_("active_members"),
    N_("active_ratio"),
    N_("exit_rate"),
    N_("joins"),
    N_("leaves"),
    N_("messages_per_day"),
    N_("retention"),
    N_("top10_share"),
    N_("needs_attention"),
)


def render_chart(
    lang: str,
    title: str,
    trend: list[TrendPoint],
    groups: list[GroupPoint],
    rules: TierRules = DEFAULT_RULES,
) -> bytes:
    """The chart in the digest's language, or in English where no installed font can draw it
    (run in a worker thread: the first call loads matplotlib and scans the fonts)."""
    return activity_chart(
        trend, groups, chart_labels(lang, title, rules), (rules.critical, rules.general, rules.high)
    )


def chart_labels(lang: str, title: str, rules: TierRules = DEFAULT_RULES) -> ChartLabels:
    labels = _labels(lang, title, rules)
    texts = [
        labels.trend,
        labels.messages,
        labels.active,
        labels.tiers,
        labels.groups,
        labels.ratio,
        *labels.tier_names.values(),
    ]
    if lang != "en" and not all(has_font_for(t) for t in texts):
        _log_no_cjk_font()
        return replace(_labels("en", title, rules), note=NO_CJK_NOTE)
    return labels


@cache
def _log_no_cjk_font() -> None:
    """Said once per process: the fonts do not change while it runs."""
    log.warning(NO_CJK_NOTE)


def _labels(lang: str, title: str, rules: TierRules) -> ChartLabels:
    high, general = percent(rules.high), percent(rules.general)
    return ChartLabels(
        title=title.removeprefix("📊 "),
        trend=tr(lang, "Activity across all groups"),
        messages=tr(lang, "messages"),
        active=tr(lang, "active members"),
        tiers=tr(lang, "Groups by active ratio"),
        groups=tr(lang, "groups"),
        ratio=tr(lang, "active ratio"),
        tier_names={
            "high": tr(lang, "high (>{high})", high=high),
            "general": tr(lang, "general ({general}–{high})", general=general, high=high),
            "inactive": tr(lang, "inactive (<{general})", general=general),
        },
    )


def groups_csv(
    changes: list[Change],
    chats: dict[int, ChatRow],
    rules: TierRules = DEFAULT_RULES,
    lang: str = "en",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([tr(lang, header) for header in CSV_HEADERS])
    for c in changes:
        m = c.now
        chat = chats.get(m.chat_id)
        writer.writerow(
            [
                m.chat_id,
                chat.title if chat else "",
                tier_name(lang, m.tier.value),
                tier_name(lang, c.before.tier.value) if c.before else "",
                m.members,
                m.active_members,
                f"{m.active_ratio:.4f}",
                f"{m.exit_rate:.4f}",
                m.joins,
                m.leaves,
                f"{m.messages_per_day:.1f}",
                "" if m.retention is None else f"{m.retention:.4f}",
                "" if m.top_share is None else f"{m.top_share:.4f}",
                int(needs_attention(c, rules)),
            ]
        )
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet apps read Chinese titles
