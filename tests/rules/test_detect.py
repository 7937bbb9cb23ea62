"""The decision: exemptions, thresholds by sender history, waves, and explanations."""

import pytest

from rules.classifier import SpamClassifier
from rules.detect import (
    DetectPolicy,
    MessageFacts,
    SenderFacts,
    Signal,
    Verdict,
    decide,
    message_fingerprint,
    sender_tier,
)

ADMIN = SenderFacts(is_admin=True)
APPROVED = SenderFacts(is_approved=True, messages_seen=3)
NEWCOMER = SenderFacts(messages_seen=0, joined_seconds_ago=120.0)
MEMBER = SenderFacts(messages_seen=20, days_clean=10.0, joined_seconds_ago=30 * 86400.0)
VETERAN = SenderFacts(messages_seen=800, days_clean=400.0, joined_seconds_ago=400 * 86400.0)
WARNED = SenderFacts(messages_seen=200, days_clean=2.0, joined_seconds_ago=90 * 86400.0, warnings=1)
WARNED_NEW = SenderFacts(messages_seen=0, joined_seconds_ago=300.0, warnings=1)
FRESH = SenderFacts(messages_seen=0, joined_seconds_ago=30 * 86400.0)
POLICY = DetectPolicy(allowed_domains=frozenset({"python.org"}))


@pytest.fixture(scope="module")
def classifier():
    return SpamClassifier.seeded()


CASES = [
    # id, text, sender, same_text_groups, expected action
    ("zh-ad-wechat-newcomer", "兼职日结，手机就能做，加薇 kk20931 私聊", NEWCOMER, 0, "delete"),
    ("zh-ad-qq-member", "棋牌上分下分，24小时在线，加扣 3301928475", MEMBER, 0, "delete"),
    ("zh-invite-newcomer", "福利视频群，进群看片 https://t.me/+freeAbCd9", NEWCOMER, 0, "delete"),
    ("en-ad-member", "Earn $500 daily from home! DM me on telegram @fx_manager_pro", MEMBER, 0, "delete"),
    ("en-invite-newcomer", "Passive income, 100% legit, join https://t.me/+SigNalsVip01", NEWCOMER, 0, "delete"),
    ("ru-ad-newcomer", "Заработок от 5000 в день без вложений, пиши в лс", NEWCOMER, 0, "delete"),
    ("zh-normal-price", "这个手机 2999 买的，双十一便宜了 300 块", NEWCOMER, 0, "allow"),
    ("zh-normal-time", "周五晚上 20:00 分享会，地点还是三楼会议室", NEWCOMER, 0, "allow"),
    ("zh-normal-date", "会议改到 2024-06-15 下午 3 点，报名截止 6 月 10 日", NEWCOMER, 0, "allow"),
    ("en-normal-allowed-link", "The tutorial is here: https://docs.python.org/3/tutorial/", NEWCOMER, 0, "allow"),
    ("en-normal-question", "Does anyone know when the meetup starts tonight?", NEWCOMER, 0, "allow"),
    ("ru-normal", "Кто идёт на встречу в субботу? Собираемся в 19:00 у метро", NEWCOMER, 0, "allow"),
    ("zh-ad-homophone-adult", "寂寞少腹 可上门 嶶 ym5520", NEWCOMER, 0, "delete"),
    ("zh-ad-energy", "TRX 能量租赁 闪兑秒到 联系 @energyfast_bot", NEWCOMER, 0, "delete"),
    ("ru-ad-plus", "Работа на дому, свободный график, доход от 2000 в день, пишите +", NEWCOMER, 0, "delete"),
    ("en-sms-prize", "FREE MSG: you have been selected to receive a prize, call 09061 555 888 to claim", NEWCOMER, 0, "delete"),
    ("zh-normal-dm-friend", "私聊我吧，群里不方便说", MEMBER, 0, "allow"),
    ("zh-normal-wechat-pay", "微信支付和支付宝都可以，现场也收现金", NEWCOMER, 0, "allow"),
    ("zh-normal-qq-music", "QQ音乐上有这首歌，会员才能听", NEWCOMER, 0, "allow"),
    ("zh-normal-overtime", "今天加班到十点，累死了", NEWCOMER, 0, "allow"),
    ("zh-normal-ranked", "今晚一起上分吗，五排来人", MEMBER, 0, "allow"),
    # Talk about ads uses their words: an admin reviews it rather than the bot deleting it.
    ("zh-talk-about-scams-flagged", "网上说日结兼职的都是骗子，别信", MEMBER, 0, "flag"),
    ("en-normal-won", "We won the match today! Drinks at 8?", NEWCOMER, 0, "allow"),
    ("ru-normal-dm", "Напиши мне в личку, обсудим детали проекта", MEMBER, 0, "allow"),
    ("admin-link-exempt", "Join our sister group https://t.me/+AbCdEf123", ADMIN, 0, "allow"),
    ("approved-exempt", "加薇 kk20931 日结兼职", APPROVED, 0, "allow"),
    # the same text in several groups: an ad from a stranger, group life from a member
    ("wave-from-no-history", "大家好，欢迎来我的群玩，很热闹的", FRESH, 4, "delete"),
    ("wave-from-member-plain", "大家好，欢迎来我的群玩，很热闹的", MEMBER, 4, "allow"),
    ("no-wave-same-text", "大家好，欢迎来我的群玩，很热闹的", FRESH, 0, "allow"),
    ("wave-member-contact", "周末特价，加微信 kk20931 订购", MEMBER, 5, "delete"),
    ("wave-new-year-members", "祝大家新年快乐，万事如意！", MEMBER, 6, "allow"),
    ("wave-new-year-no-history", "祝大家新年快乐，万事如意！", FRESH, 6, "allow"),
    ("wave-thanks-no-history", "谢谢群主，收到！大家早上好", FRESH, 6, "allow"),
    ("wave-mid-autumn", "中秋节快乐，祝大家阖家幸福！", NEWCOMER, 5, "allow"),
    ("wave-happy-new-year-en", "Happy New Year everyone!! 🎉", FRESH, 5, "allow"),
    ("wave-member-link-flagged", "周六活动报名表 https://forms.example.com/f/abc", MEMBER, 5, "flag"),
    # a member asking for offers is not making one
    ("zh-question-dm-newcomer", "有没有人出二手轮胎？私聊我", NEWCOMER, 0, "flag"),
    ("zh-offer-dm-newcomer", "出二手轮胎，九成新，私聊我", NEWCOMER, 0, "delete"),
    ("zh-question-ad-words", "有没有想兼职日结的？私聊我", NEWCOMER, 0, "delete"),
    # warned already: pointing outside the group again is a repeat
    ("warned-link-again", "看这里 https://cheap-tyres.shop/deal", WARNED_NEW, 0, "delete"),
    ("warned-channel-again", "关注 @tyre_deals_channel", WARNED_NEW, 0, "delete"),
    ("warned-phone-again", "电话 13912345678", WARNED_NEW, 0, "delete"),
    ("warned-plain-chat", "好的，知道了，下次注意", WARNED_NEW, 0, "allow"),
    ("not-warned-link-flagged", "看这里 https://cheap-tyres.shop/deal", MEMBER, 0, "flag"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "sender", "groups", "action"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide_action(classifier, text, sender, groups, action):
    verdict = decide(MessageFacts(text=text), sender, POLICY, classifier, same_text_groups=groups)
    assert verdict.action == action, verdict.explain()
    assert 0.0 <= verdict.score <= 1.0
    if action != "allow":
        assert verdict.reasons


@pytest.mark.parametrize(
    ("sender", "reason"),
    [(ADMIN, "exempt: admin"), (APPROVED, "exempt: approved member")],
    ids=["admin", "approved"],
)
def test_decide_exempt_reason(classifier, sender, reason):
    verdict = decide(MessageFacts(text="加薇 kk20931"), sender, POLICY, classifier)
    assert verdict == Verdict("allow", 0.0, None, (Signal("exempt", 0.0, reason.split(": ")[1]),))
    assert verdict.explain() == reason


@pytest.mark.parametrize(
    ("sender", "tier"),
    [(NEWCOMER, "newcomer"), (MEMBER, "member"), (VETERAN, "veteran"), (WARNED, "newcomer")],
    ids=["newcomer", "member", "veteran", "warned-member-judged-strictly"],
)
def test_sender_tier(sender, tier):
    assert sender_tier(sender, POLICY) == tier


def test_decide_veteran_more_lenient_than_newcomer(classifier):
    # A phone number and a request to write in private: ad-like, but a veteran may mean it.
    facts = MessageFacts(text="My number changed, write me: +44 7700 900512")
    newcomer = decide(facts, NEWCOMER, POLICY, classifier)
    veteran = decide(facts, VETERAN, POLICY, classifier)
    assert newcomer.score == veteran.score
    order = {"allow": 0, "flag": 1, "delete": 2}
    assert order[veteran.action] < order[newcomer.action], (veteran, newcomer)


THRESHOLDS = DetectPolicy(
    classifier_weight=0.0,
    delete_threshold=0.9,
    flag_threshold=0.6,
    newcomer_delete_threshold=0.8,
    veteran_delete_threshold=0.97,
)


@pytest.mark.parametrize(
    ("sender", "action"),
    [(NEWCOMER, "delete"), (MEMBER, "flag"), (VETERAN, "flag")],
    ids=["newcomer-deleted", "member-flagged", "veteran-flagged"],
)
def test_decide_thresholds_by_tier(sender, action):
    # Buttons 0.6, channel forward 0.4, an outside bot 0.55: 1 - 0.4 * 0.6 * 0.45 = 0.892.
    facts = MessageFacts(text="look @quiz_game_bot", has_buttons=True, forwarded_from_channel=True)
    verdict = decide(facts, sender, THRESHOLDS, None)
    assert verdict.score == pytest.approx(0.892, abs=1e-3)
    assert verdict.action == action


def test_decide_score_is_noisy_or(classifier):
    policy = DetectPolicy(classifier_weight=0.0)
    facts = MessageFacts(text="hi", has_buttons=True, forwarded_from_channel=True)
    verdict = decide(facts, MEMBER, policy, classifier)
    weights = [r.weight for r in verdict.reasons]
    expected = 1.0
    for w in weights:
        expected *= 1.0 - w
    assert verdict.score == pytest.approx(1.0 - expected, abs=1e-4)


def test_decide_disabled_signals_are_ignored(classifier):
    policy = DetectPolicy(enabled_signals=frozenset({"buttons"}))
    facts = MessageFacts(text="加薇 kk20931 日结 https://t.me/+abc", has_buttons=True)
    verdict = decide(facts, NEWCOMER, policy, classifier)
    assert [r.name for r in verdict.reasons] == ["buttons"]
    assert verdict.probability is None


def test_verdict_explain_one_line(classifier):
    facts = MessageFacts(text="加薇 123456789 进群 https://t.me/+abcDEF")
    verdict = decide(facts, NEWCOMER, POLICY, classifier)
    line = verdict.explain()
    assert "\n" not in line
    assert "contact-handle: 加薇 + 9 digits" in line
    assert "link: https://t.me/+abcDEF" in line
    assert line.endswith(f"classifier {verdict.probability:.2f}")
    assert verdict.reasons == tuple(sorted(verdict.reasons, key=lambda r: -r.weight))


def test_decide_media_only_newcomer(classifier):
    facts = MessageFacts(has_media=True, caption="", sender_name="小美 加薇 kk2031")
    verdict = decide(facts, NEWCOMER, POLICY, classifier)
    names = {r.name for r in verdict.reasons}
    assert {"newcomer-media", "display-name"} <= names
    assert verdict.probability is None


def test_message_fingerprint_ignores_number_changes():
    a = MessageFacts(text="兼职日结 加薇 123456789")
    b = MessageFacts(text="兼职日结，加薇 555666777")
    assert message_fingerprint(a) == message_fingerprint(b)


def test_decide_with_the_body_normalised_by_the_caller_is_the_same(classifier):
    from rules.detect import normalised_body

    for text, sender, groups, _ in [c[1:] for c in CASES]:
        facts = MessageFacts(text=text, sender_name="小美 加薇 kk2031")
        body = normalised_body(facts)
        assert decide(facts, sender, POLICY, classifier, groups, body=body) == decide(
            facts, sender, POLICY, classifier, groups
        )
        assert message_fingerprint(facts, body) == message_fingerprint(facts)


def test_decide_reads_a_long_message_once_up_to_the_cap(classifier):
    from rules.detect import MAX_INSPECT, normalised_body

    facts = MessageFacts(text="正常聊天 " * 400)
    assert len(normalised_body(facts).raw) == MAX_INSPECT


OWN = frozenset({"gzcar2024", "13800138000", "t.me/gzcar_club", "gzcar.com", "gzcar_service"})


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("请加客服微信 gzcar2024", True),
        ("报名请加客服微信：gzcar2024，周六见", True),
        ("活动热线 138 0013 8000，有事打电话", True),
        ("俱乐部频道 https://t.me/gzcar_club 记得关注", True),
        ("报名表在 https://www.gzcar.com/join 填一下", True),
        ("有事联系 @gzcar_service", True),
        ("兼职日结，加微信 gzcar20245 私聊", False),
        ("兼职日结 进群 https://t.me/gzcar_club_deals", False),
        ("兼职日结 注册 https://evilgzcar.com/x 送彩金", False),
    ],
    ids=[
        "wechat-id",
        "wechat-id-after-colon",
        "phone-in-groups",
        "tme-link",
        "domain",
        "handle",
        "longer-id",
        "longer-channel",
        "lookalike-domain",
    ],
)
def test_the_clubs_own_contacts_are_no_ad(classifier, text, kept):
    verdict = decide(MessageFacts(text=text), NEWCOMER, DetectPolicy(allowed_terms=OWN), classifier)
    assert (verdict.action != "delete") is kept, verdict.explain()
