"""Group health: metrics from counts storage aggregates, weekly tiers, size advice, and which
changes between two periods deserve an operator's attention.

Pure: storage passes counts for a window in, callers get frozen dataclasses back. Nothing here
reads the clock; windows are local calendar days chosen by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# Rates are ratios of small counts; a difference that lands exactly on a threshold should count
# even when float subtraction leaves it a hair below.
_EPS = 1e-9


@dataclass(frozen=True)
class Window:
    """Inclusive range of local days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def ending(cls, end: date, days: int) -> Window:
        """The `days` days up to and including `end`."""
        if days < 1:
            raise ValueError("a window needs at least one day")
        return cls(end - timedelta(days=days - 1), end)

    def previous(self) -> Window:
        """The window of the same length immediately before this one."""
        return Window.ending(self.start - timedelta(days=1), self.days)

    def cohort(self, settle_days: int = 7) -> Window:
        """Joins judged for retention: shifted back so newcomers had `settle_days` to speak."""
        shift = timedelta(days=settle_days)
        return Window(self.start - shift, self.end - shift)


@dataclass(frozen=True)
class GroupCounts:
    """What storage aggregates in SQL for one group over one window."""

    chat_id: int
    members: int  # at the window's end: Telegram's count if known, else known members
    members_at_start: int | None  # Telegram's count at the start, when a snapshot exists
    active_members: int  # distinct members with at least one message in the window
    messages: int
    joins: int
    leaves: int
    cohort_joined: int  # members who joined in window.cohort()
    cohort_retained: int  # of those: still present now and spoke at least once since joining
    top_messages: int  # messages by the top ceil(10 %) of active members
    known_members: int = 0  # members the bot has seen; it cannot list a group's members


class Tier(StrEnum):
    HIGH = "high"
    GENERAL = "general"
    INACTIVE = "inactive"


# Best first; used for "dropped" and for ordering.
_TIER_RANK = {Tier.HIGH: 0, Tier.GENERAL: 1, Tier.INACTIVE: 2}


@dataclass(frozen=True)
class TierRules:
    high: float = 0.40  # ratio above -> HIGH
    general: float = 0.20  # general <= ratio <= high -> GENERAL; below -> INACTIVE
    critical: float = 0.10  # ratio below -> flagged
    split_watch: int = 100  # members past this with falling activity -> watch the size
    split_size: int = 148  # members past this -> advise a split regardless
    exit_jump_factor: float = 2.0  # exit rate at least multiplied by this ...
    exit_jump_points: float = 0.05  # ... and up by at least this much ...
    exit_jump_min_leaves: int = 3  # ... with at least this many leaves
    spam_wave_accounts: int = 5  # blacklisted accounts in one group within spam_wave_minutes
    spam_wave_minutes: int = 60

    def validated(self) -> TierRules:
        """This object, or ValueError naming the first setting that makes no sense."""
        if not 0 <= self.critical <= self.general <= self.high <= 1:
            raise ValueError(
                "tier thresholds must satisfy 0 <= critical <= general <= high <= 1, got "
                f"critical={self.critical}, general={self.general}, high={self.high}"
            )
        if not 0 <= self.split_watch <= self.split_size:
            raise ValueError(
                f"split sizes must satisfy 0 <= split_watch <= split_size, got "
                f"split_watch={self.split_watch}, split_size={self.split_size}"
            )
        if self.exit_jump_factor < 1:
            raise ValueError(f"exit_jump_factor must be at least 1, got {self.exit_jump_factor}")
        if not 0 <= self.exit_jump_points <= 1:
            raise ValueError(f"exit_jump_points must be in [0, 1], got {self.exit_jump_points}")
        if self.exit_jump_min_leaves < 1:
            raise ValueError(
                f"exit_jump_min_leaves must be at least 1, got {self.exit_jump_min_leaves}"
            )
        if self.spam_wave_accounts < 1 or self.spam_wave_minutes < 1:
            raise ValueError(
                "spam_wave_accounts and spam_wave_minutes must be at least 1, got "
                f"{self.spam_wave_accounts} and {self.spam_wave_minutes}"
            )
        return self


DEFAULT_RULES = TierRules()


@dataclass(frozen=True)
class GroupMetrics:
    chat_id: int
    members: int
    active_members: int
    active_ratio: float  # active / members in [0, 1]; 0 for an empty group
    exit_rate: float  # leaves / members at the start (known or derived); 0 without a base
    joins: int
    leaves: int
    messages: int
    messages_per_day: float
    retention: float | None  # share of the cohort retained; None when nobody joined then
    top_share: float | None  # share of messages by the most active tenth; None without messages
    tier: Tier
    flagged: bool  # active_ratio below rules.critical


def tier_of(active_ratio: float, rules: TierRules = DEFAULT_RULES) -> Tier:
    if active_ratio > rules.high:
        return Tier.HIGH
    if active_ratio >= rules.general:
        return Tier.GENERAL
    return Tier.INACTIVE


def _share(part: int, whole: int) -> float:
    # Counts come from separate queries while the group keeps moving, so a part can exceed its
    # whole by a few; a share outside [0, 1] would only confuse the report.
    return min(max(part / whole, 0.0), 1.0) if whole > 0 else 0.0


def _share_or_none(part: int, whole: int) -> float | None:
    return _share(part, whole) if whole > 0 else None


def compute(counts: GroupCounts, window: Window, rules: TierRules = DEFAULT_RULES) -> GroupMetrics:
    ratio = _share(counts.active_members, counts.members)
    base = (
        counts.members_at_start
        if counts.members_at_start is not None
        else counts.members - counts.joins + counts.leaves
    )
    return GroupMetrics(
        chat_id=counts.chat_id,
        members=counts.members,
        active_members=counts.active_members,
        active_ratio=ratio,
        exit_rate=counts.leaves / base if base > 0 else 0.0,
        joins=counts.joins,
        leaves=counts.leaves,
        messages=counts.messages,
        messages_per_day=counts.messages / window.days,
        retention=_share_or_none(counts.cohort_retained, counts.cohort_joined),
        top_share=_share_or_none(counts.top_messages, counts.messages),
        tier=tier_of(ratio, rules),
        flagged=ratio < rules.critical,
    )


class Advice(StrEnum):
    SPLIT = "split"
    WATCH_SIZE = "watch_size"


def size_advice(
    members: int, ratio_now: float, ratio_before: float | None, rules: TierRules = DEFAULT_RULES
) -> Advice | None:
    """Past split_size a group is too big to stay personal; past split_watch only when it cools."""
    if members > rules.split_size:
        return Advice.SPLIT
    if members > rules.split_watch and ratio_before is not None and ratio_now < ratio_before:
        return Advice.WATCH_SIZE
    return None


@dataclass(frozen=True)
class Change:
    """One group, this period against the last (None: the group has no previous period)."""

    now: GroupMetrics
    before: GroupMetrics | None

    @property
    def tier_changed(self) -> bool:
        return self.before is not None and self.before.tier != self.now.tier

    @property
    def tier_dropped(self) -> bool:
        return self.before is not None and _TIER_RANK[self.now.tier] > _TIER_RANK[self.before.tier]

    @property
    def ratio_delta(self) -> float | None:
        return None if self.before is None else self.now.active_ratio - self.before.active_ratio

    def exit_jumped(self, rules: TierRules = DEFAULT_RULES) -> bool:
        if self.before is None or self.now.leaves < rules.exit_jump_min_leaves:
            return False
        now, before = self.now.exit_rate, self.before.exit_rate
        return (
            now + _EPS >= before * rules.exit_jump_factor
            and now - before + _EPS >= rules.exit_jump_points
        )


def compare(now: Sequence[GroupMetrics], before: Mapping[int, GroupMetrics]) -> list[Change]:
    """Pair each group's metrics with last period's, in the order of `now`."""
    return [Change(m, before.get(m.chat_id)) for m in now]


class AlertKind(StrEnum):
    MEMBER_LEFT = "member_left"
    EXIT_JUMP = "exit_jump"
    TIER_CHANGE = "tier_change"
    SPAM_WAVE = "spam_wave"
    BOT_DEMOTED = "bot_demoted"
    BOT_REMOVED = "bot_removed"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    chat_id: int
    detail: Mapping[str, object]  # plain data the message is rendered from


def period_alerts(change: Change, rules: TierRules = DEFAULT_RULES) -> list[Alert]:
    """Alerts one period's comparison raises: a tier change, then an exit jump."""
    now, before = change.now, change.before
    if before is None:
        return []
    alerts = []
    if change.tier_changed:
        detail = {"before": before.tier.value, "after": now.tier.value, "ratio": now.active_ratio}
        alerts.append(Alert(AlertKind.TIER_CHANGE, now.chat_id, detail))
    if change.exit_jumped(rules):
        detail = {"before": before.exit_rate, "after": now.exit_rate, "leaves": now.leaves}
        alerts.append(Alert(AlertKind.EXIT_JUMP, now.chat_id, detail))
    return alerts


def is_spam_wave(blacklisted_recently: int, rules: TierRules = DEFAULT_RULES) -> bool:
    """`blacklisted_recently`: accounts blacklisted in one group within spam_wave_minutes."""
    return blacklisted_recently >= rules.spam_wave_accounts


def _urgency(change: Change, rules: TierRules) -> int:
    if change.now.flagged:
        return 0
    if change.exit_jumped(rules):
        return 1
    if change.tier_dropped:
        return 2
    return 3


def needs_attention(change: Change, rules: TierRules = DEFAULT_RULES) -> bool:
    """Flagged, exits jumped, or the tier dropped."""
    return _urgency(change, rules) < 3


def attention_order(changes: Sequence[Change], rules: TierRules = DEFAULT_RULES) -> list[Change]:
    """Groups needing attention first (flagged, exit jump, tier drop, rest); within each by tier
    best first, then active ratio descending, then chat_id so the order is stable."""
    return sorted(
        changes,
        key=lambda c: (
            _urgency(c, rules),
            _TIER_RANK[c.now.tier],
            -c.now.active_ratio,
            c.now.chat_id,
        ),
    )


def tier_counts(metrics: Iterable[GroupMetrics]) -> dict[Tier, int]:
    """Groups per tier, every tier present (zero when none)."""
    counts = dict.fromkeys(Tier, 0)
    for m in metrics:
        counts[m.tier] += 1
    return counts
