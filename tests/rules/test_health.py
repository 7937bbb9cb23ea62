from datetime import date

import pytest

from rules.health import (
    Advice,
    Alert,
    AlertKind,
    Change,
    GroupCounts,
    GroupMetrics,
    Tier,
    TierRules,
    Window,
    attention_order,
    compare,
    compute,
    is_spam_wave,
    needs_attention,
    period_alerts,
    size_advice,
    tier_counts,
    tier_of,
)

WEEK = Window(date(2026, 3, 23), date(2026, 3, 29))


def counts(**overrides) -> GroupCounts:
    values = dict(
        chat_id=-100,
        members=100,
        members_at_start=None,
        active_members=30,
        messages=140,
        joins=0,
        leaves=0,
        cohort_joined=0,
        cohort_retained=0,
        top_messages=0,
    )
    values.update(overrides)
    return GroupCounts(**values)


def metrics(chat_id: int, ratio: float, *, exit_rate: float = 0.0, leaves: int = 0) -> GroupMetrics:
    return GroupMetrics(
        chat_id=chat_id,
        members=100,
        active_members=round(ratio * 100),
        active_ratio=ratio,
        exit_rate=exit_rate,
        joins=0,
        leaves=leaves,
        messages=10,
        messages_per_day=10 / 7,
        retention=None,
        top_share=None,
        tier=tier_of(ratio),
        flagged=ratio < 0.10,
    )


# --- windows ---------------------------------------------------------------------------------


def test_window_days_and_neighbours():
    assert WEEK.days == 7
    assert Window.ending(date(2026, 3, 29), 7) == WEEK
    assert Window.ending(date(2026, 3, 1), 1) == Window(date(2026, 3, 1), date(2026, 3, 1))
    assert WEEK.previous() == Window(date(2026, 3, 16), date(2026, 3, 22))
    assert WEEK.cohort() == Window(date(2026, 3, 16), date(2026, 3, 22))
    assert WEEK.cohort(settle_days=3) == Window(date(2026, 3, 20), date(2026, 3, 26))
    # Across a month and a year end.
    assert Window.ending(date(2026, 1, 2), 7) == Window(date(2025, 12, 27), date(2026, 1, 2))
    assert Window(date(2026, 2, 1), date(2026, 2, 28)).previous() == Window(
        date(2026, 1, 4), date(2026, 1, 31)
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: Window(date(2026, 3, 2), date(2026, 3, 1)),
        lambda: Window.ending(date(2026, 3, 1), 0),
    ],
    ids=["end-before-start", "zero-days"],
)
def test_window_rejects_nonsense(build):
    with pytest.raises(ValueError, match="window"):
        build()


# --- tiers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "tier"),
    [
        (0.0, Tier.INACTIVE),
        (0.0999, Tier.INACTIVE),
        (0.10, Tier.INACTIVE),
        (0.1999, Tier.INACTIVE),
        (0.20, Tier.GENERAL),
        (0.3999, Tier.GENERAL),
        (0.40, Tier.GENERAL),
        (0.4001, Tier.HIGH),
        (1.0, Tier.HIGH),
    ],
    ids=["zero", "0.0999", "0.10", "0.1999", "0.20", "0.3999", "0.40", "0.4001", "one"],
)
def test_tier_of_boundaries(ratio, tier):
    assert tier_of(ratio) is tier


def test_tier_of_custom_rules():
    rules = TierRules(high=0.5, general=0.3, critical=0.1)
    assert [tier_of(r, rules) for r in (0.29, 0.3, 0.5, 0.51)] == [
        Tier.INACTIVE,
        Tier.GENERAL,
        Tier.GENERAL,
        Tier.HIGH,
    ]


@pytest.mark.parametrize(
    ("active", "members", "ratio", "tier", "flagged"),
    [
        (999, 10000, 0.0999, Tier.INACTIVE, True),
        (10, 100, 0.10, Tier.INACTIVE, False),
        (1999, 10000, 0.1999, Tier.INACTIVE, False),
        (20, 100, 0.20, Tier.GENERAL, False),
        (40, 100, 0.40, Tier.GENERAL, False),
        (4001, 10000, 0.4001, Tier.HIGH, False),
        (0, 0, 0.0, Tier.INACTIVE, True),
        (5, 0, 0.0, Tier.INACTIVE, True),
        (120, 100, 1.0, Tier.HIGH, False),
        (0, 50, 0.0, Tier.INACTIVE, True),
    ],
    ids=[
        "0.0999-flagged",
        "0.10-not-flagged",
        "0.1999",
        "0.20",
        "0.40",
        "0.4001",
        "no-members",
        "active-without-members",
        "clamped-to-one",
        "silent",
    ],
)
def test_compute_ratio_tier_and_flag(active, members, ratio, tier, flagged):
    m = compute(counts(active_members=active, members=members), WEEK)
    assert (m.active_ratio, m.tier, m.flagged) == (pytest.approx(ratio), tier, flagged)


@pytest.mark.parametrize(
    ("overrides", "rate"),
    [
        (dict(members=100, members_at_start=80, leaves=8), 0.10),
        (dict(members=100, members_at_start=None, joins=30, leaves=10), 0.125),
        (dict(members=100, members_at_start=0, leaves=3), 0.0),
        (dict(members=5, members_at_start=None, joins=10, leaves=5), 0.0),
        (dict(members=5, members_at_start=None, joins=10, leaves=4), 0.0),
        (dict(members=100, members_at_start=None, joins=0, leaves=0), 0.0),
        (dict(members=10, members_at_start=4, leaves=6), 1.5),
    ],
    ids=[
        "known-start",
        "derived-base",
        "known-start-zero",
        "derived-zero",
        "derived-negative",
        "nobody-left",
        "more-leaves-than-start",
    ],
)
def test_compute_exit_rate_bases(overrides, rate):
    assert compute(counts(**overrides), WEEK).exit_rate == pytest.approx(rate)


@pytest.mark.parametrize(
    ("overrides", "retention", "top_share"),
    [
        (dict(cohort_joined=0, cohort_retained=0, messages=0, top_messages=0), None, None),
        (dict(cohort_joined=8, cohort_retained=6, messages=200, top_messages=90), 0.75, 0.45),
        (dict(cohort_joined=4, cohort_retained=0, messages=10, top_messages=10), 0.0, 1.0),
        (dict(cohort_joined=3, cohort_retained=4, messages=10, top_messages=12), 1.0, 1.0),
    ],
    ids=["no-cohort-no-messages", "typical", "none-retained-one-voice", "racy-counts-clamped"],
)
def test_compute_retention_and_top_share(overrides, retention, top_share):
    m = compute(counts(**overrides), WEEK)
    assert m.retention == (None if retention is None else pytest.approx(retention))
    assert m.top_share == (None if top_share is None else pytest.approx(top_share))


def test_compute_copies_counts_and_rates_per_day():
    m = compute(
        counts(
            chat_id=-7,
            members=60,
            active_members=15,
            messages=140,
            joins=4,
            leaves=2,
            members_at_start=58,
        ),
        WEEK,
    )
    assert (m.chat_id, m.members, m.active_members, m.joins, m.leaves, m.messages) == (
        -7,
        60,
        15,
        4,
        2,
        140,
    )
    assert m.messages_per_day == 20.0
    assert m.active_ratio == 0.25
    assert m.tier is Tier.GENERAL
    assert (
        compute(counts(messages=45), Window.ending(date(2026, 3, 29), 30)).messages_per_day == 1.5
    )


def test_compute_uses_given_rules():
    strict = TierRules(high=0.6, general=0.5, critical=0.3)
    m = compute(counts(active_members=25, members=100), WEEK, strict)
    assert (m.tier, m.flagged) == (Tier.INACTIVE, True)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (TierRules(critical=0.3), "critical <= general <= high"),
        (TierRules(high=1.2), "critical <= general <= high <= 1"),
        (TierRules(critical=-0.1), "0 <= critical"),
        (TierRules(general=0.5, high=0.4), "general=0.5, high=0.4"),
        (TierRules(split_watch=200), "split_watch <= split_size"),
        (TierRules(exit_jump_factor=0.5), "exit_jump_factor"),
        (TierRules(exit_jump_points=-0.01), "exit_jump_points"),
        (TierRules(exit_jump_min_leaves=0), "exit_jump_min_leaves"),
        (TierRules(spam_wave_accounts=0), "spam_wave_accounts"),
        (TierRules(spam_wave_minutes=0), "spam_wave_minutes"),
    ],
    ids=[
        "critical-above-general",
        "high-above-one",
        "negative",
        "general-above-high",
        "watch-above-split",
        "factor",
        "points",
        "min-leaves",
        "wave-accounts",
        "wave-minutes",
    ],
)
def test_tier_rules_validated_rejects(rules, message):
    with pytest.raises(ValueError, match=message):
        rules.validated()


def test_tier_rules_validated_returns_itself():
    rules = TierRules(high=0.5, general=0.5, critical=0.0)
    assert rules.validated() is rules
    assert TierRules().validated() == TierRules()


# --- size advice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "now", "before", "advice"),
    [
        (149, 0.5, 0.4, Advice.SPLIT),
        (148, 0.3, 0.4, Advice.WATCH_SIZE),
        (148, 0.5, 0.4, None),
        (101, 0.3, 0.31, Advice.WATCH_SIZE),
        (100, 0.1, 0.5, None),
        (120, 0.3, None, None),
        (120, 0.3, 0.3, None),
        (500, 0.9, None, Advice.SPLIT),
        (10, 0.0, 0.9, None),
    ],
    ids=[
        "past-split-size",
        "at-split-size-falling",
        "at-split-size-rising",
        "past-watch-falling",
        "at-watch",
        "no-history",
        "flat",
        "huge-no-history",
        "small-falling",
    ],
)
def test_size_advice(members, now, before, advice):
    assert size_advice(members, now, before) == advice


# --- comparison and alerts -------------------------------------------------------------------


def test_change_properties():
    up = Change(metrics(1, 0.45), metrics(1, 0.30))
    assert (up.tier_changed, up.tier_dropped) == (True, False)
    assert up.ratio_delta == pytest.approx(0.15)
    down = Change(metrics(1, 0.15), metrics(1, 0.25))
    assert (down.tier_changed, down.tier_dropped) == (True, True)
    assert down.ratio_delta == pytest.approx(-0.10)
    same = Change(metrics(1, 0.25), metrics(1, 0.35))
    assert (same.tier_changed, same.tier_dropped) == (False, False)
    new = Change(metrics(1, 0.05), None)
    assert (new.tier_changed, new.tier_dropped, new.ratio_delta) == (False, False, None)


@pytest.mark.parametrize(
    ("before", "now", "leaves", "jumped"),
    [
        (0.05, 0.10, 3, True),
        (0.05, 0.10, 2, False),
        (0.04, 0.08, 5, False),
        (0.10, 0.15, 5, False),
        (0.10, 0.20, 4, True),
        (0.0, 0.05, 3, True),
        (0.0, 0.04, 3, False),
        (0.20, 0.10, 9, False),
        (0.06, 0.1199, 3, False),
    ],
    ids=[
        "doubled-plus-5-points",
        "too-few-leaves",
        "doubled-only-4-points",
        "plus-5-not-doubled",
        "doubled-from-ten",
        "from-zero",
        "from-zero-small",
        "fell",
        "just-under-double",
    ],
)
def test_exit_jumped(before, now, leaves, jumped):
    change = Change(
        metrics(1, 0.3, exit_rate=now, leaves=leaves), metrics(1, 0.3, exit_rate=before)
    )
    assert change.exit_jumped() is jumped


def test_exit_jumped_needs_history_and_follows_rules():
    assert Change(metrics(1, 0.3, exit_rate=0.9, leaves=50), None).exit_jumped() is False
    change = Change(metrics(1, 0.3, exit_rate=0.10, leaves=3), metrics(1, 0.3, exit_rate=0.05))
    assert change.exit_jumped(TierRules(exit_jump_min_leaves=4)) is False
    assert change.exit_jumped(TierRules(exit_jump_factor=3.0)) is False


def test_compare_pairs_by_chat_in_order_of_now():
    now = [metrics(3, 0.5), metrics(1, 0.2), metrics(2, 0.1)]
    before = {1: metrics(1, 0.3), 3: metrics(3, 0.6), 9: metrics(9, 0.9)}
    changes = compare(now, before)
    assert [c.now.chat_id for c in changes] == [3, 1, 2]
    assert [None if c.before is None else c.before.active_ratio for c in changes] == [
        0.6,
        0.3,
        None,
    ]
    assert compare([], before) == []


def test_period_alerts():
    assert period_alerts(Change(metrics(1, 0.05, exit_rate=0.5, leaves=9), None)) == []
    assert period_alerts(Change(metrics(1, 0.25), metrics(1, 0.35))) == []
    assert period_alerts(Change(metrics(1, 0.18), metrics(1, 0.25))) == [
        Alert(AlertKind.TIER_CHANGE, 1, {"before": "general", "after": "inactive", "ratio": 0.18}),
    ]
    both = period_alerts(
        Change(metrics(2, 0.45, exit_rate=0.2, leaves=6), metrics(2, 0.3, exit_rate=0.05))
    )
    assert both == [
        Alert(AlertKind.TIER_CHANGE, 2, {"before": "general", "after": "high", "ratio": 0.45}),
        Alert(AlertKind.EXIT_JUMP, 2, {"before": 0.05, "after": 0.2, "leaves": 6}),
    ]


@pytest.mark.parametrize(
    ("recent", "rules", "wave"),
    [
        (4, TierRules(), False),
        (5, TierRules(), True),
        (0, TierRules(), False),
        (2, TierRules(spam_wave_accounts=2), True),
    ],
    ids=["under", "at-threshold", "none", "custom-threshold"],
)
def test_is_spam_wave(recent, rules, wave):
    assert is_spam_wave(recent, rules) is wave


@pytest.mark.parametrize(
    ("change", "attention"),
    [
        (Change(metrics(1, 0.05), None), True),
        (Change(metrics(1, 0.10), None), False),
        (Change(metrics(1, 0.5, exit_rate=0.2, leaves=5), metrics(1, 0.5, exit_rate=0.05)), True),
        (Change(metrics(1, 0.35), metrics(1, 0.45)), True),
        (Change(metrics(1, 0.45), metrics(1, 0.35)), False),
        (Change(metrics(1, 0.30), metrics(1, 0.38)), False),
    ],
    ids=["flagged-new", "at-critical-new", "exit-jump", "tier-drop", "tier-rise", "steady"],
)
def test_needs_attention(change, attention):
    assert needs_attention(change) is attention


def test_attention_order():
    changes = [
        Change(metrics(10, 0.30), metrics(10, 0.30)),  # steady general
        Change(metrics(11, 0.50), metrics(11, 0.50)),  # steady high
        Change(metrics(12, 0.05), metrics(12, 0.15)),  # flagged
        Change(metrics(13, 0.08), None),  # flagged, new
        Change(metrics(14, 0.30), metrics(14, 0.50)),  # dropped high -> general
        Change(metrics(15, 0.15), metrics(15, 0.30)),  # dropped general -> inactive
        Change(metrics(16, 0.45, exit_rate=0.3, leaves=9), metrics(16, 0.45, exit_rate=0.1)),
        Change(metrics(17, 0.12, exit_rate=0.3, leaves=9), metrics(17, 0.12, exit_rate=0.1)),
        Change(metrics(18, 0.30), None),  # steady general, same ratio as 10
        Change(metrics(19, 0.15), metrics(19, 0.15)),  # steady inactive, not flagged
    ]
    ordered = [c.now.chat_id for c in attention_order(changes)]
    assert ordered == [13, 12, 16, 17, 14, 15, 11, 10, 18, 19]
    assert attention_order([]) == []


def test_tier_counts():
    assert tier_counts([]) == {Tier.HIGH: 0, Tier.GENERAL: 0, Tier.INACTIVE: 0}
    found = tier_counts(metrics(i, r) for i, r in enumerate((0.5, 0.05, 0.3, 0.41, 0.2, 0.0)))
    assert found == {Tier.HIGH: 2, Tier.GENERAL: 2, Tier.INACTIVE: 2}
    assert list(tier_counts([metrics(1, 0.3)])) == [Tier.HIGH, Tier.GENERAL, Tier.INACTIVE]
