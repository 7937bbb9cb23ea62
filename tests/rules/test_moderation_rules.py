import pytest

from rules.membership import Admission, BotAdded, decide_admission
from rules.moderation import (
    MAX_RESTRICT_SECONDS,
    InviterAction,
    Ladder,
    Target,
    format_duration,
    inviter_consequence,
    next_step,
    parse_duration,
    protection,
)
from rules.welcome import TemplateError, check_template, join_names, render_welcome


@pytest.mark.parametrize(
    ("warnings", "limit", "step"),
    [
        (1, 2, Ladder.WARN),
        (2, 2, Ladder.BLACKLIST),
        (3, 2, Ladder.BLACKLIST),
        (1, 1, Ladder.BLACKLIST),
        (4, 5, Ladder.WARN),
        (1, 0, Ladder.BLACKLIST),
    ],
    ids=[
        "first-of-two",
        "second-of-two",
        "past-limit",
        "limit-one",
        "under-five",
        "limit-zero-is-one",
    ],
)
def test_next_step_ladder(warnings, limit, step):
    assert next_step(warnings, limit) is step


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (Target(1, "member"), None),
        (Target(1, "restricted"), None),
        (Target(1, "administrator"), "admin"),
        (Target(1, "creator"), "admin"),
        (Target(1, "member", is_owner=True), "owner"),
        (Target(1, "member", is_bot_itself=True), "bot"),
        (Target(1, "left"), None),
    ],
    ids=["member", "restricted", "admin", "creator", "owner", "bot", "left"],
)
def test_protection(target, why):
    assert protection(target) == why


@pytest.mark.parametrize(
    ("strikes", "limit", "policy", "action"),
    [
        (1, 3, "blacklist", InviterAction.NONE),
        (3, 3, "report", InviterAction.REPORT),
        (3, 3, "restrict", InviterAction.RESTRICT),
        (4, 3, "blacklist", InviterAction.BLACKLIST),
        (3, 3, "nonsense", InviterAction.REPORT),
    ],
    ids=["under", "report", "restrict", "blacklist", "unknown-policy"],
)
def test_inviter_consequence(strikes, limit, policy, action):
    assert inviter_consequence(strikes, limit, policy) is action


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600),
        ("2h", 7200),
        ("3d", 259200),
        ("1w", 604800),
        ("5s", 30),
        ("45s", 45),
        ("999d", MAX_RESTRICT_SECONDS),
        (" 2H ", 7200),
        ("10", None),
        ("m10", None),
        ("abc", None),
        ("-5m", None),
        ("", None),
    ],
    ids=[
        "minutes",
        "hours",
        "days",
        "week",
        "clamped-low",
        "seconds",
        "clamped-high",
        "spaces-upper",
        "no-unit",
        "unit-first",
        "word",
        "negative",
        "empty",
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_format_duration():
    assert [format_duration(s) for s in (600, 7200, 86400, 45, 90)] == [
        "10m",
        "2h",
        "1d",
        "45s",
        "90s",
    ]


@pytest.mark.parametrize(
    ("adder", "policy", "expected"),
    [
        (1, "leave", Admission.JOIN),
        (2, "leave", Admission.LEAVE),
        (2, "approve", Admission.AWAIT_APPROVAL),
    ],
    ids=["owner", "stranger-leave", "stranger-approve"],
)
def test_admission(adder, policy, expected):
    assert decide_admission(BotAdded(adder, frozenset({1}), policy)) is expected


def test_welcome_renders_wave():
    text = render_welcome(
        "欢迎 {name} 加入 {title}！\n{rules}",
        names=["小明", "Alice"],
        title="广州车友会",
        rules="1. 禁止广告",
    )
    assert text == "欢迎 小明, Alice 加入 广州车友会！\n1. 禁止广告"


def test_welcome_names_shortened():
    assert join_names([str(i) for i in range(25)]).endswith("+5")


@pytest.mark.parametrize(
    ("template", "problem", "detail"),
    [
        ("Hi {nam}", "unknown", "{nam}"),
        ("Hi {name", "unclosed", ""),
        ("{0}", "unknown", "{0}"),
        ("{name:{rules}", "unknown", "{name:{rules}"),
        ("{name!x}", "unknown", "{name!x}"),
        ("{count:,}", "unknown", "{count:,}"),
        ("{name:0>20000000}", "unknown", "{name:0>20000000}"),
        ("{name.__class__}", "unknown", "{name.__class__}"),
        ("{name[0]}", "unknown", "{name[0]}"),
        ("Hi } there", "lone_close", ""),
        ("x" * 1001, "too_long", "1001"),
    ],
    ids=[
        "typo",
        "brace",
        "positional",
        "nested",
        "conversion",
        "format-spec",
        "huge-width",
        "attribute",
        "index",
        "lone-close",
        "too-long",
    ],
)
def test_welcome_template_errors(template, problem, detail):
    with pytest.raises(TemplateError) as caught:
        check_template(template)
    assert caught.value.problem == problem
    assert caught.value.detail == detail


def test_welcome_names_with_braces_are_safe():
    assert render_welcome("Hi {name}", names=["{title}"], title="T", rules="") == "Hi {title}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{name}} is {name}", "{name} is Ann"),
        ("{title}: {count} new", "Club: 1 new"),
        ("}}{{", "}{"),
    ],
    ids=["escaped-braces", "title-count", "only-escapes"],
)
def test_welcome_safe_renderer_fills_only_placeholders(template, expected):
    assert render_welcome(template, names=["Ann"], title="Club", rules="r") == expected


def test_welcome_never_exceeds_telegrams_limit():
    text = render_welcome("{rules}{rules}{rules}", names=["A"], title="t", rules="规" * 3500)
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert text.endswith("…")
