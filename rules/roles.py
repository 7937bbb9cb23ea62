"""Member roles: the ones read from behaviour in a window (core, influencer, partner, newcomer,
lurker), the ones given by status or by an operator (owner, admin, VIP, butler), and where a
member is in the lifecycle.

Pure: storage passes one member's activity in; `today` is the caller's local date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    VIP = "vip"
    BUTLER = "butler"
    CORE = "core"
    INFLUENCER = "influencer"
    PARTNER = "partner"
    NEWCOMER = "newcomer"
    LURKER = "lurker"


# Declaration order is the display order: given roles before behaviour.
_ORDER = {role: i for i, role in enumerate(Role)}

# Storage keeps behaviour roles in one int column; these values are persisted, never renumber.
BEHAVIOUR_BITS: Mapping[Role, int] = MappingProxyType(
    {Role.CORE: 1, Role.INFLUENCER: 2, Role.LURKER: 4, Role.PARTNER: 8, Role.NEWCOMER: 16}
)


def to_bits(roles: Iterable[Role]) -> int:
    """The stored form; roles that are not behaviour roles are not stored and add nothing."""
    bits = 0
    for role in roles:
        bits |= BEHAVIOUR_BITS.get(role, 0)
    return bits


def from_bits(bits: int) -> frozenset[Role]:
    """Behaviour roles from the stored form; unknown bits (a newer writer) are ignored."""
    return frozenset(role for role, bit in BEHAVIOUR_BITS.items() if bits & bit)


@dataclass(frozen=True)
class RoleRules:
    window_days: int = 30
    core_day_share: float = 0.5  # active on more than this share of the window's days
    core_min_messages: int = 10
    influencer_min_repliers: int = 5  # distinct other members who replied to them
    partner_min_groups: int = 2  # present in this many of the owner's groups
    newcomer_days: int = 7  # joined within this many days

    def core_min_days(self) -> int:
        """Smallest day count that is more than core_day_share of window_days (used in SQL)."""
        # Exact arithmetic on the share as written: 0.29 * 100 is 28.999... in floats.
        threshold = Fraction(repr(self.core_day_share)) * self.window_days
        return math.floor(threshold) + 1

    def validated(self) -> RoleRules:
        """This object, or ValueError naming the first setting that makes no sense."""
        if self.window_days < 1:
            raise ValueError(f"window_days must be at least 1, got {self.window_days}")
        if not 0 <= self.core_day_share < 1:
            raise ValueError(f"core_day_share must be in [0, 1), got {self.core_day_share}")
        if self.core_min_messages < 0:
            raise ValueError(f"core_min_messages must be >= 0, got {self.core_min_messages}")
        if self.influencer_min_repliers < 1:
            raise ValueError(
                f"influencer_min_repliers must be at least 1, got {self.influencer_min_repliers}"
            )
        if self.partner_min_groups < 2:
            raise ValueError(
                f"partner_min_groups must be at least 2, got {self.partner_min_groups}"
            )
        # Storage turns newcomer_days into a Window, which needs at least one day.
        if self.newcomer_days < 1:
            raise ValueError(f"newcomer_days must be at least 1, got {self.newcomer_days}")
        return self


DEFAULT_RULES = RoleRules()


@dataclass(frozen=True)
class MemberActivity:
    days_active: int  # distinct days with at least one message in the window
    messages: int  # in the window
    distinct_repliers: int  # in the window
    groups: int  # groups of the alliance the user is present in
    joined_on: date | None  # None: joined before the bot saw them
    present: bool
    status: str = "member"  # Telegram status: creator|administrator|member|restricted|left|kicked
    vip: bool = False
    butler: bool = False


def _is_newcomer(a: MemberActivity, today: date, rules: RoleRules) -> bool:
    if a.joined_on is None:
        return False
    # A join dated after `today` (clocks, time zones) is as new as it gets.
    return max((today - a.joined_on).days, 0) < rules.newcomer_days


def behaviour_roles(
    a: MemberActivity, today: date, rules: RoleRules = DEFAULT_RULES
) -> frozenset[Role]:
    """Roles earned by behaviour in the window; nothing for someone no longer present."""
    if not a.present:
        return frozenset()
    found = set()
    newcomer = _is_newcomer(a, today, rules)
    if newcomer:
        found.add(Role.NEWCOMER)
    if a.days_active >= rules.core_min_days() and a.messages >= rules.core_min_messages:
        found.add(Role.CORE)
    if a.distinct_repliers >= rules.influencer_min_repliers:
        found.add(Role.INFLUENCER)
    if a.groups >= rules.partner_min_groups:
        found.add(Role.PARTNER)
    # A newcomer who has not spoken yet is still settling in, not lurking.
    if a.messages == 0 and not newcomer:
        found.add(Role.LURKER)
    return frozenset(found)


def roles(a: MemberActivity, today: date, rules: RoleRules = DEFAULT_RULES) -> frozenset[Role]:
    """Behaviour roles plus owner/admin from the Telegram status and the operator's VIP/butler."""
    given = set()
    if a.status == "creator":
        given.add(Role.OWNER)
    elif a.status == "administrator":
        given.add(Role.ADMIN)
    if a.vip:
        given.add(Role.VIP)
    if a.butler:
        given.add(Role.BUTLER)
    return behaviour_roles(a, today, rules) | given


def display_order(roles: Iterable[Role]) -> list[Role]:
    """Owner, admin, VIP, butler, core, influencer, partner, newcomer, lurker; no repeats."""
    return sorted(set(roles), key=_ORDER.__getitem__)


class Stage(StrEnum):
    JOINED = "joined"
    LURKING = "lurking"
    PARTICIPATING = "participating"
    LEFT = "left"


def stage(a: MemberActivity, today: date, rules: RoleRules = DEFAULT_RULES) -> Stage:
    if not a.present:
        return Stage.LEFT
    if a.messages > 0:
        return Stage.PARTICIPATING
    if _is_newcomer(a, today, rules):
        return Stage.JOINED
    return Stage.LURKING
