"""The digest's chart: one PNG rendered off-screen, readable on a phone.

- ``activity_chart`` returns a 1000×1100 px white PNG with two panels: daily activity across all
  groups (messages as bars, left axis; active members as a line, right axis; "MM-DD" dates) and
  the groups' active ratios as a 5 % histogram stacked by tier (inactive red, general amber, high
  green), dashed threshold lines (critical in red) and a legend counting each tier's groups. Any
  input renders: 0..31+ days (one point per day, any order), 0..10,000+ groups; an empty panel
  shows a centered "–". Labels are plain text ("$" is no mathtext); same input, same bytes.
- Safe in a worker thread (``asyncio.to_thread``): matplotlib is imported on first use (the bot
  starts fast; the first call takes ~0.5 s more), only ``Figure`` + ``FigureCanvasAgg`` are used
  (no pyplot, no global figure registry, nothing kept after the call), renders are serialized by
  a lock because matplotlib is not thread-safe.
- No tofu boxes. Texts use DejaVu Sans plus the first CJK font found (``CJK_FONTS``, else any font
  drawing "中文"; looked up once per process). ``has_font_for`` lets the caller pick English
  labels. ``activity_chart`` checks every label too: one it cannot draw becomes its drawable rest
  if that has Latin letters, else the ``ENGLISH_LABELS`` entry (plus the rest if it has digits:
  "周报 2026-11-16 – 2026-11-22" gives "Activity digest 2026-11-16 – 2026-11-22"). matplotlib's
  "Glyph ... missing" warnings are silenced while rendering (``warnings.catch_warnings``).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from io import BytesIO
from math import ceil, isnan
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontEntry

# fmt: off
CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback", "AR PL UMing CN",
    "AR PL UMing", "Noto Sans SC", "Source Han Sans CN", "Noto Sans CJK JP", "Noto Sans CJK TC",
)
# fmt: on
BASE_FONT = "DejaVu Sans"
TIERS = ("inactive", "general", "high")
TIER_COLORS = {"inactive": "#d9534f", "general": "#f0ad4e", "high": "#5cb85c"}
FIGSIZE, DPI = (10.0, 11.0), 100
BINS = 20  # 5 % each
Thresholds = tuple[float, float, float]  # critical, inactive/general, general/high

_RENDER_LOCK = threading.Lock()
_FONT_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrendPoint:
    day: date
    messages: int  # messages that day across all groups
    active_members: int  # distinct active members that day across all groups (sum over groups)


@dataclass(frozen=True)
class GroupPoint:
    ratio: float  # active-member ratio 0..1 for the period
    tier: str  # "high" | "general" | "inactive"


@dataclass(frozen=True)
class ChartLabels:
    """Every text on the chart, already translated by the caller."""

    title: str
    trend: str
    messages: str
    active: str
    tiers: str
    groups: str
    ratio: str
    tier_names: Mapping[str, str]
    note: str = ""  # a small line under the chart, e.g. which font it fell back to


# fmt: off
ENGLISH_LABELS = ChartLabels(
    title="Activity digest", trend="Activity across all groups", messages="messages",
    active="active members", tiers="Groups by active ratio", groups="groups",
    ratio="active ratio", tier_names={"high": "high", "general": "general", "inactive": "inactive"},
)
# fmt: on


def _codepoints(fname: str, index: int) -> set[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return set(FT2Font(fname, face_index=index).get_charmap())
    except (OSError, RuntimeError, ValueError):  # an unreadable font file draws nothing
        return set()


def _cjk_family(entries: list[FontEntry]) -> str | None:
    """The first of ``CJK_FONTS`` installed, else the first other font that draws "中文"."""
    names = {e.name for e in entries}
    for name in CJK_FONTS:
        if name in names:
            return name
    skip = {BASE_FONT, "Last Resort High-Efficiency"}  # the latter draws every character as tofu
    for e in sorted(entries, key=lambda entry: entry.name):
        if e.name not in skip and {0x4E2D, 0x6587} <= _codepoints(e.fname, e.index):
            return e.name
    return None


@lru_cache(maxsize=1)
def _font_stack() -> tuple[tuple[str, frozenset[int]], ...]:
    """(family, code points drawn by its regular and bold faces) for each font the chart uses."""
    from matplotlib import font_manager

    with _FONT_LOCK:  # FreeType is not thread-safe
        entries = [e for e in font_manager.fontManager.ttflist if e.style == "normal"]
        stack: list[tuple[str, frozenset[int]]] = []
        for family in (BASE_FONT, _cjk_family(entries)):
            if family is None:
                continue
            faces = [e for e in entries if e.name == family]
            faces = [e for e in faces if e.weight in (400, 700)] or faces
            maps = [_codepoints(*face) for face in {(e.fname, e.index) for e in faces}]
            if maps:
                stack.append((family, frozenset(set.intersection(*maps))))
        return tuple(stack)


def has_font_for(text: str) -> bool:
    """True when the chart's fonts can draw every character of ``text``."""
    stack = _font_stack()
    return all(ch == "\n" or any(ord(ch) in points for _, points in stack) for ch in text)


def _safe(text: str, default: str) -> str:
    if has_font_for(text):
        return text
    kept = " ".join("".join(ch for ch in text if has_font_for(ch)).split())
    if any("a" <= ch.lower() <= "z" for ch in kept):
        return kept
    return f"{default} {kept}" if any(ch.isdigit() for ch in kept) else default


def _safe_labels(labels: ChartLabels) -> ChartLabels:
    names = labels.tier_names
    en = ENGLISH_LABELS
    return replace(
        labels,
        **{
            k: _safe(getattr(labels, k), getattr(en, k))
            for k in ("title", "trend", "messages", "active", "tiers", "groups", "ratio")
        },
        tier_names={t: _safe(names.get(t, en.tier_names[t]), en.tier_names[t]) for t in TIERS},
    )


def activity_chart(
    trend: Sequence[TrendPoint],
    groups: Sequence[GroupPoint],
    labels: ChartLabels,
    thresholds: Thresholds = (0.10, 0.20, 0.40),
) -> bytes:
    """Render the digest chart; returns PNG bytes (see the module docstring)."""
    safe = _safe_labels(labels)
    with _RENDER_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        return _render(trend, groups, safe, thresholds)


def _render(
    trend: Sequence[TrendPoint], groups: Sequence[GroupPoint], labels: ChartLabels, t: Thresholds
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    txt = {"fontfamily": [family for family, _ in _font_stack()], "parse_math": False}
    fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white", layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1)
    fig.suptitle(labels.title, fontsize=20, fontweight="bold", **txt)
    _trend_panel(top, sorted(trend, key=lambda p: p.day), labels, txt)
    _tier_panel(bottom, groups, labels, t, txt)
    if labels.note:
        fig.text(0.5, 0.002, labels.note, ha="center", va="bottom", fontsize=11, color="#666666")
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def _style(ax: Axes, title: str, txt: dict[str, Any]) -> None:
    ax.set_facecolor("white")
    ax.set_title(title, fontsize=17, pad=10, **txt)
    ax.tick_params(labelsize=13)


def _empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "–", transform=ax.transAxes, ha="center", va="center", fontsize=48)
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(
    ax: Axes,
    handles: Sequence[Artist | tuple[Artist, ...]],
    loc: Literal["upper left", "upper right"],
    txt: dict[str, Any],
) -> None:
    legend = ax.legend(
        handles=handles, loc=loc, framealpha=0.9, prop={"family": txt["fontfamily"], "size": 13}
    )
    for text in legend.get_texts():
        text.set_parse_math(False)


def _counts_axis(ax: Axes, top: float, headroom: float = 1.25) -> None:
    """Integer counts from 0, with room above the data for the legend."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    ax.set_ylim(0, max(top, 1) * headroom)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(labelsize=13)


def _trend_panel(
    ax: Axes, trend: Sequence[TrendPoint], labels: ChartLabels, txt: dict[str, Any]
) -> None:
    _style(ax, labels.trend, txt)
    if not trend:
        _empty(ax)
        return
    x = [p.day.toordinal() for p in trend]
    messages = [p.messages for p in trend]
    active = [p.active_members for p in trend]
    bars = ax.bar(x, messages, width=0.8, color="#6baed6", label=labels.messages)
    right = ax.twinx()
    (line,) = right.plot(
        x, active, color="#e6550d", marker="o", linewidth=2.5, markersize=7, label=labels.active
    )
    pad = 0.7 + max(0.0, (7 - (x[-1] - x[0] + 1)) / 2)  # a lone day is not one huge bar
    ax.set_xlim(x[0] - pad, x[-1] + pad)
    step = ceil(len(trend) / 10)
    ax.set_xticks(x[::step], [p.day.strftime("%m-%d") for p in trend[::step]])
    _counts_axis(ax, max(messages))
    _counts_axis(right, max(active))
    ax.set_ylabel(labels.messages, fontsize=14, color="#2171b5", **txt)
    right.set_ylabel(labels.active, fontsize=14, color="#a63603", **txt)
    _legend(right, [bars, line], "upper left", txt)


def _tier_panel(
    ax: Axes, groups: Sequence[GroupPoint], labels: ChartLabels, t: Thresholds, txt: dict[str, Any]
) -> None:
    import numpy as np
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    _style(ax, labels.tiers, txt)
    ratios: dict[str, list[float]] = {tier: [] for tier in TIERS}
    for g in groups:
        if isnan(g.ratio):
            continue
        r = min(max(g.ratio, 0.0), 1.0)
        derived = "high" if r > t[2] else "general" if r >= t[1] else "inactive"
        ratios[g.tier if g.tier in ratios else derived].append(r)  # unknown tier: from ratio
    if not any(ratios.values()):
        _empty(ax)
        return
    edges = np.linspace(0.0, 1.0, BINS + 1)
    stacked = np.zeros(BINS)
    handles: list[Artist] = []
    for tier in TIERS:
        counts, _ = np.histogram(ratios[tier], bins=edges)  # the last bin includes 100 %
        color = TIER_COLORS[tier]
        ax.bar(edges[:-1], counts, 1 / BINS, stacked, align="edge", color=color, ec="white")
        stacked += counts
        name = f"{labels.tier_names[tier]}: {len(ratios[tier]):,}"
        handles.append(Patch(facecolor=color, label=name))
    at_top: dict[str, Any] = {
        "transform": ax.get_xaxis_transform(),
        "ha": "center",
        "va": "top",
        "fontsize": 12,
    }
    for x, color in zip(t, ("#b22222", "#555555", "#555555"), strict=True):
        ax.axvline(x, linestyle="--", linewidth=1.8, color=color)
        ax.text(x, 0.97, f"{x:.0%}", color=color, backgroundcolor="white", **at_top)
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 11))
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    _counts_axis(ax, float(stacked.max()), headroom=1.45)
    ax.set_xlabel(labels.ratio, fontsize=14, **txt)
    ax.set_ylabel(labels.groups, fontsize=14, **txt)
    _legend(ax, handles, "upper right", txt)
