from dataclasses import replace
from datetime import date

import pytest

from rules.roles import (
    BEHAVIOUR_BITS,
    MemberActivity,
    Role,
    RoleRules,
    Stage,
    behaviour_roles,
    display_order,
    from_bits,
    roles,
    stage,
    to_bits,
)

TODAY = date(2026, 3, 29)
WEEK = RoleRules(window_days=7)

# Present, quiet on most days, known since before the bot: the baseline every case tweaks.
BASE = MemberActivity(
    days_active=3, messages=5, distinct_repliers=1, groups=1, joined_on=None, present=True
)


def act(**changes) -> MemberActivity:
    return replace(BASE, **changes)


@pytest.mark.parametrize(
    ("rules", "days"),
    [
        (RoleRules(), 16),
        (WEEK, 4),
        (RoleRules(window_days=1), 1),
        (RoleRules(window_days=2), 2),
        (RoleRules(window_days=31), 16),
        (RoleRules(core_day_share=0.29, window_days=100), 30),
        (RoleRules(core_day_share=0.0), 1),
        (RoleRules(core_day_share=0.75, window_days=14), 11),
    ],
    ids=[
        "30-days",
        "7-days",
        "1-day",
        "2-days",
        "31-days",
        "exact-share-not-float",
        "zero-share",
        "three-quarters",
    ],
)
def test_core_min_days(rules, days):
    assert rules.core_min_days() == days


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (act(days_active=16, messages=10), {Role.CORE}),
        (act(days_active=15, messages=200), set()),
        (act(days_active=16, messages=9), set()),
        (act(days_active=30, messages=500), {Role.CORE}),
        (act(distinct_repliers=5), {Role.INFLUENCER}),
        (act(distinct_repliers=4), set()),
        (act(groups=2), {Role.PARTNER}),
        (act(groups=1), set()),
        (act(groups=0), set()),
        (act(joined_on=date(2026, 3, 23), messages=3, days_active=1), {Role.NEWCOMER}),
        (act(joined_on=date(2026, 3, 22)), set()),
        (act(joined_on=TODAY), {Role.NEWCOMER}),
        (act(joined_on=date(2026, 3, 30), messages=0, days_active=0), {Role.NEWCOMER}),
        (act(joined_on=TODAY, messages=0, days_active=0), {Role.NEWCOMER}),
        (act(joined_on=date(2026, 3, 22), messages=0, days_active=0), {Role.LURKER}),
        (act(messages=0, days_active=0), {Role.LURKER}),
        (
            act(messages=0, days_active=0, groups=3, distinct_repliers=6),
            {Role.LURKER, Role.PARTNER, Role.INFLUENCER},
        ),
        (
            act(
                days_active=20,
                messages=80,
                distinct_repliers=9,
                groups=4,
                joined_on=date(2026, 3, 25),
            ),
            {Role.CORE, Role.INFLUENCER, Role.PARTNER, Role.NEWCOMER},
        ),
        (act(days_active=20, messages=80, distinct_repliers=9, groups=4, present=False), set()),
        (act(messages=0, days_active=0, present=False), set()),
    ],
    ids=[
        "core-at-16-days-10-messages",
        "15-days-not-core",
        "9-messages-not-core",
        "core-busy",
        "influencer-at-5",
        "4-repliers",
        "partner-at-2",
        "one-group",
        "no-group",
        "newcomer-6-days",
        "7-days-not-newcomer",
        "joined-today",
        "joined-tomorrow-clock-skew",
        "silent-newcomer-not-lurker",
        "silent-old-member-lurks",
        "silent-unknown-join-lurks",
        "lurker-with-others",
        "everything",
        "left-has-nothing",
        "left-silent-not-lurker",
    ],
)
def test_behaviour_roles_30_day_window(a, expected):
    assert behaviour_roles(a, TODAY) == frozenset(expected)


@pytest.mark.parametrize(
    ("days_active", "messages", "core"),
    [(4, 10, True), (3, 50, False), (7, 10, True), (4, 9, False)],
    ids=["4-of-7", "3-of-7", "every-day", "too-few-messages"],
)
def test_core_in_a_7_day_window(days_active, messages, core):
    found = behaviour_roles(act(days_active=days_active, messages=messages), TODAY, WEEK)
    assert (Role.CORE in found) is core


def test_behaviour_rules_are_configurable():
    rules = RoleRules(
        influencer_min_repliers=2, partner_min_groups=3, newcomer_days=1, core_min_messages=0
    )
    assert behaviour_roles(act(distinct_repliers=2, groups=2), TODAY, rules) == {Role.INFLUENCER}
    assert behaviour_roles(act(joined_on=date(2026, 3, 28)), TODAY, rules) == frozenset()
    assert behaviour_roles(act(joined_on=TODAY), TODAY, rules) == {Role.NEWCOMER}
    assert behaviour_roles(act(days_active=16, messages=1), TODAY, rules) == {Role.CORE}
    never_new = RoleRules(newcomer_days=0)
    assert behaviour_roles(act(joined_on=TODAY, messages=0), TODAY, never_new) == {Role.LURKER}


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (act(status="creator"), {Role.OWNER}),
        (act(status="administrator"), {Role.ADMIN}),
        (act(status="member", vip=True), {Role.VIP}),
        (act(status="restricted", butler=True), {Role.BUTLER}),
        (
            act(status="administrator", vip=True, butler=True, groups=2),
            {Role.ADMIN, Role.VIP, Role.BUTLER, Role.PARTNER},
        ),
        (act(status="creator", messages=0, days_active=0), {Role.OWNER, Role.LURKER}),
        (act(status="left", present=False), set()),
        (act(status="left", present=False, vip=True), {Role.VIP}),
        (act(status="member"), set()),
    ],
    ids=[
        "creator",
        "administrator",
        "vip",
        "butler",
        "admin-vip-butler-partner",
        "silent-owner",
        "left",
        "left-vip-keeps-label",
        "plain-member",
    ],
)
def test_roles_add_status_and_labels(a, expected):
    assert roles(a, TODAY) == frozenset(expected)


def test_display_order():
    assert display_order(Role) == [
        Role.OWNER,
        Role.ADMIN,
        Role.VIP,
        Role.BUTLER,
        Role.CORE,
        Role.INFLUENCER,
        Role.PARTNER,
        Role.NEWCOMER,
        Role.LURKER,
    ]
    assert display_order([Role.LURKER, Role.VIP, Role.LURKER, Role.OWNER]) == [
        Role.OWNER,
        Role.VIP,
        Role.LURKER,
    ]
    assert display_order(frozenset()) == []


@pytest.mark.parametrize(
    ("members", "bits"),
    [
        (set(), 0),
        ({Role.CORE}, 1),
        ({Role.INFLUENCER}, 2),
        ({Role.LURKER}, 4),
        ({Role.PARTNER}, 8),
        ({Role.NEWCOMER}, 16),
        ({Role.CORE, Role.INFLUENCER, Role.PARTNER, Role.NEWCOMER}, 27),
        ({Role.CORE, Role.INFLUENCER, Role.LURKER, Role.PARTNER, Role.NEWCOMER}, 31),
    ],
    ids=["none", "core", "influencer", "lurker", "partner", "newcomer", "four", "all"],
)
def test_bits_round_trip(members, bits):
    assert to_bits(members) == bits
    assert from_bits(bits) == frozenset(members)


def test_bits_ignore_given_roles_and_unknown_bits():
    assert to_bits([Role.OWNER, Role.ADMIN, Role.VIP, Role.BUTLER, Role.CORE]) == 1
    assert to_bits([Role.CORE, Role.CORE]) == 1
    assert from_bits(32 | 64 | 2) == {Role.INFLUENCER}
    assert set(BEHAVIOUR_BITS.values()) == {1, 2, 4, 8, 16}
    with pytest.raises(TypeError):
        BEHAVIOUR_BITS[Role.OWNER] = 32  # type: ignore[index]


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (act(present=False, messages=40), Stage.LEFT),
        (act(messages=1, days_active=1), Stage.PARTICIPATING),
        (act(messages=1, days_active=1, joined_on=TODAY), Stage.PARTICIPATING),
        (act(messages=0, days_active=0, joined_on=date(2026, 3, 24)), Stage.JOINED),
        (act(messages=0, days_active=0, joined_on=date(2026, 3, 22)), Stage.LURKING),
        (act(messages=0, days_active=0, joined_on=None), Stage.LURKING),
    ],
    ids=[
        "left",
        "participating",
        "newcomer-who-spoke",
        "newcomer-silent",
        "silent-past-7-days",
        "silent-unknown-join",
    ],
)
def test_stage(a, expected):
    assert stage(a, TODAY) is expected


def test_stage_follows_newcomer_days():
    silent = act(messages=0, days_active=0, joined_on=date(2026, 3, 19))
    assert stage(silent, TODAY) is Stage.LURKING
    assert stage(silent, TODAY, RoleRules(newcomer_days=14)) is Stage.JOINED


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (RoleRules(window_days=0), "window_days"),
        (RoleRules(core_day_share=1.0), "core_day_share"),
        (RoleRules(core_day_share=-0.1), "core_day_share"),
        (RoleRules(core_min_messages=-1), "core_min_messages"),
        (RoleRules(influencer_min_repliers=0), "influencer_min_repliers"),
        (RoleRules(partner_min_groups=1), "partner_min_groups must be at least 2"),
        (RoleRules(newcomer_days=0), "newcomer_days must be at least 1"),
    ],
    ids=["window", "share-one", "share-negative", "messages", "repliers", "groups", "newcomer"],
)
def test_role_rules_validated_rejects(rules, message):
    with pytest.raises(ValueError, match=message):
        rules.validated()


def test_role_rules_validated_returns_itself():
    assert RoleRules().validated() == RoleRules()
    assert WEEK.validated() is WEEK
