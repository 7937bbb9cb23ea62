"""bench/raid's scenario: who is where, what they write and when, as a seeded timeline.

A raid is `raiders` accounts joining one group (some added by a few inviter accounts, the rest
through the group's link) and, with the group's own members, writing `messages` messages in
`raid_seconds`; about a fifth of them are ads. Each raider writes two to six ordinary lines and
one to three ads among them (most say hello first), so that the warn ladder meets repeaters. Meanwhile `chatty` other groups
chat at about one message a second each, and an admin sends a command every `command_every`
seconds in a quiet group: those two run in the baseline as well, for as long.

Ads are made up here from templates (Chinese and English: contact handles, 加微信 + ids, links,
兼职日结, USDT, betting); everyday lines are `bench.ingest`'s, never the same letters in two groups
(that is a spam wave, which the bot rightly acts on). The plan is data: `Step`s sorted by time,
played by `bench._raid_world`. A join-request group is one more kind of step away ("request").
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from bench.ingest import chat_line
from rules.detect import MessageFacts, message_fingerprint

AD_TEMPLATES = [
    "兼职日结，每天{n}小时，手机就能做，有意者加微信 {wx}",
    "招聘打字员，在家就能做，日结{money}+，加薇：{wx}",
    "宝妈学生党兼职，无需押金，当天结算，\u2795V：{wx}",
    "手机刷单，一单一结，佣金秒到账，联系 @{handle}",
    "日赚{money}，小白可做，有手就行，加我微信{wx}详聊",
    "诚招代理，零投入高回报，月入过万，详情进群 t.me/+{invite}",
    "大量收U出U，价格美丽，承兑秒到，飞机 @{handle}",
    "USDT 承兑，诚信经营，支持担保，联系 @{handle} 或 wx {wx}",
    "币圈带单老师，每日喊单，胜率90%，免费进群 https://t.me/{handle}",
    "正规平台，首充送彩金，提现秒到，注册 https://{domain}/?code={code}",
    "体育投注，信誉平台，大额无忧，官网 {domain} 邀请码 {code}",
    "高价回收银行卡，四件套，长期合作，Q {qq}",
    "点赞员兼职，每单3元，日结，扣扣 {qq}，名额有限",
    "出售各类账号，微信号/抖音号/电报号，批发价，联系 @{handle}",
    "Earn ${usd} a day from home, no experience needed. DM @{handle} now",
    "Crypto signals with 95% win rate, join https://t.me/+{invite} today",
    "Looking for partners, ${usd}/week guaranteed. WhatsApp +{phone}",
    "Free airdrop! Claim 500 USDT at https://{domain}/claim?ref={code}",
    "I made ${usd} last week with this platform, ask me how: @{handle}",
    "Part-time job, paid daily, contact telegram @{handle} 加V {wx}",
]
DOMAINS = ["win88-vip.com", "bet365cn.top", "usdt-free.xyz", "luckyspin.cc", "coinbonus.live"]
RAIDER_FIRST = ["兼职", "小美", "Anna", "客服", "老师", "Crypto", "阿娇", "招聘", "Lucky", "财务"]
RAIDER_LAST = ["小妹", "日结", "Li", "助理", "带单", "Trader", "主管", "宝宝", "Win", "专员"]


def ad_text(rng: random.Random) -> str:
    alnum = string.ascii_lowercase + string.digits
    handle = (
        rng.choice(["jz", "usdt", "vip", "kefu", "bet", "coin"])
        + "_"
        + "".join(rng.choices(alnum, k=rng.randint(4, 7)))
    )
    return rng.choice(AD_TEMPLATES).format(
        n=rng.randint(1, 3),
        money=rng.choice([300, 500, 800, 1000]),
        wx=rng.choice(["wx", "vx", "lm", "kk", ""]) + str(rng.randint(10_000, 99_999_999)),
        handle=handle,
        invite="".join(rng.choices(string.ascii_letters + string.digits, k=16)),
        domain=rng.choice(DOMAINS),
        code=rng.randint(1000, 99999),
        qq=rng.randint(10_000_000, 3_999_999_999),
        usd=rng.choice([300, 500, 1200, 2000]),
        phone=rng.randint(10_000_000_000, 99_999_999_999),
    )


@dataclass(frozen=True)
class Step:
    """One thing a person does at `at` seconds into its phase.

    kind: "say" (text in a group), "command" (the admin in the quiet group), "join" (a raider
    comes in; `inviter` added them, else the group's link)."""

    at: float
    kind: str
    user: str
    chat: str
    text: str = ""
    ad: bool = False
    inviter: str | None = None


@dataclass
class Plan:
    scale: float
    raiders: int
    messages: int
    raid_seconds: float
    after_seconds: float
    chatty: int = 10
    members_per_group: int = 40
    regulars: int = 150
    inviters: int = 3
    command_every: float = 5.0
    seed: int = 8
    baseline: list[Step] = field(default_factory=list)
    raid: list[Step] = field(default_factory=list)
    raider_names: list[str] = field(default_factory=list)

    @property
    def phase_seconds(self) -> float:
        """How long each phase is watched: the raid and the time after it."""
        return self.raid_seconds + self.after_seconds

    @property
    def groups(self) -> list[str]:
        return ["raided", *(f"chat{n}" for n in range(self.chatty)), "quiet"]


def make_plan(scale: float, seed: int = 8) -> Plan:
    plan = Plan(
        scale=scale,
        raiders=max(5, round(500 * scale)),
        messages=max(50, round(5000 * scale)),
        raid_seconds=60.0 * scale,
        after_seconds=30.0 * scale,
        seed=seed,
    )
    rng = random.Random(seed)
    lines = _Lines(rng)
    plan.baseline = sorted(_background(plan, rng, lines, raided_chats=True), key=_when)
    raid = _background(plan, rng, lines, raided_chats=False) + _raid_steps(plan, rng, lines)
    plan.raid = sorted(raid, key=_when)
    return plan


def _when(step: Step) -> float:
    return step.at


class _Lines:
    """Everyday lines, each group's letters its own."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.said_in: dict[str, str] = {}

    def line(self, chat: str) -> str:
        for _ in range(1000):
            text = chat_line(self.rng)
            if self.said_in.setdefault(message_fingerprint(MessageFacts(text=text)), chat) == chat:
                return text
        raise SystemExit("too many messages for distinct everyday lines")


def _background(plan: Plan, rng: random.Random, lines: _Lines, *, raided_chats: bool) -> list[Step]:
    """The chatty groups at about 1 message/s and the admin's commands, for a whole phase; in the
    baseline the group to be raided chats like the others."""
    steps: list[Step] = []
    chats = [f"chat{n}" for n in range(plan.chatty)] + (["raided"] if raided_chats else [])
    span = plan.phase_seconds
    for chat in chats:
        at = rng.uniform(0.0, 1.0)
        while at < span:
            who = member_name(chat, rng.randrange(member_count(plan, chat)))
            steps.append(Step(at, "say", who, chat, lines.line(chat)))
            at += rng.expovariate(1.0)
    at = 0.5
    while at < span:
        target = member_name("quiet", rng.randrange(member_count(plan, "quiet")))
        steps.append(Step(at, "command", "adam", "quiet", f"/warns @{target}"))
        at += plan.command_every
    return steps


def _raid_steps(plan: Plan, rng: random.Random, lines: _Lines) -> list[Step]:
    steps: list[Step] = []
    span = plan.raid_seconds
    # one to three ads each: about a fifth of the raid's messages at the default sizes
    raider_ads = [rng.choices((1, 2, 3), weights=(2, 5, 3))[0] for _ in range(plan.raiders)]
    raider_fill = [rng.randint(2, 6) for _ in range(plan.raiders)]
    for r in range(plan.raiders):
        name = f"raider{r}"
        plan.raider_names.append(name)
        joined = rng.uniform(0.0, 0.7 * span)
        inviter = f"inviter{rng.randrange(plan.inviters)}" if rng.random() < 0.4 else None
        steps.append(Step(joined, "join", name, "raided", inviter=inviter))
        kinds = [True] * raider_ads[r] + [False] * raider_fill[r]
        rng.shuffle(kinds)
        if kinds[0]:  # most say hello first
            kinds.insert(0, kinds.pop(kinds.index(False)))
        times = sorted(rng.uniform(joined + 0.3, span) for _ in kinds)
        for at, is_ad in zip(times, kinds, strict=True):
            text = ad_text(rng) if is_ad else lines.line("raided")
            steps.append(Step(at, "say", name, "raided", text, ad=is_ad))
    posted = sum(1 for s in steps if s.kind == "say")
    for _ in range(max(0, plan.messages - posted)):
        who = member_name("raided", rng.randrange(plan.regulars))
        steps.append(Step(rng.uniform(0.0, span), "say", who, "raided", lines.line("raided")))
    return steps


def member_count(plan: Plan, chat: str) -> int:
    if chat == "raided":
        return plan.regulars
    if chat == "quiet":
        return 20
    return plan.members_per_group


def member_name(chat: str, n: int) -> str:
    return f"{chat}_m{n}"


def raider_display(rng: random.Random) -> tuple[str, str]:
    """A raider's first and last name, as such accounts are called."""
    return rng.choice(RAIDER_FIRST), rng.choice(RAIDER_LAST)
