"""Every named signal: real-looking positives in Chinese, English and Russian, and the normal
messages it must leave alone."""

import pytest

from rules.facts import Signal
from rules.patterns import is_question, is_small_talk
from rules.signals import (
    check_ad_words,
    check_buttons,
    check_channel_forward,
    check_contact_handle,
    check_display_name,
    check_dm_request,
    check_link,
    check_mention,
    check_newcomer_media,
    check_profile_bait,
    check_repeat,
    check_spam_wave,
    fingerprint,
)
from rules.text import normalise
from tests.rules.helpers import POLICY, evidence

# (id, check, evidence kwargs, expected: None for no signal, else (min weight, text in detail))
CASES = [
    # links
    ("link-invite", check_link, {"text": "进群领福利 https://t.me/+Ab3dEf9"}, (0.8, "t.me/+Ab3dEf9")),
    ("link-joinchat", check_link, {"text": "join t.me/joinchat/AAAAx7"}, (0.8, "joinchat")),
    ("link-obfuscated-tme", check_link, {"text": "t . me/+Zx82kdQw 进群"}, (0.8, "Zx82kdQw")),
    ("link-channel", check_link, {"text": "подпишись t.me/free_signals"}, (0.5, "t.me/free_signals")),
    ("link-shortener", check_link, {"text": "claim at bit.ly/abc123"}, (0.5, "bit.ly/abc123")),
    ("link-unknown-site", check_link, {"text": "官网 888win-vip.com 注册"}, (0.3, "888win-vip.com")),
    ("link-entity-url", check_link, {"text": "click", "entity_urls": ("https://casino.example.bet/x",)}, (0.3, "casino")),
    ("link-allowed-domain", check_link, {"text": "docs: https://docs.python.org/3/tutorial/"}, None),
    ("link-allowed-subdomain", check_link, {"text": "see github.com/org/repo"}, None),
    ("link-allowed-channel", check_link, {"text": "news at t.me/club_news"}, None),
    ("link-file-name", check_link, {"text": "run main.py then open config.yaml"}, None),
    ("link-sloppy-typing", check_link, {"text": "i need her.my day was long"}, None),
    # mentions
    ("mention-bot", check_mention, {"text": "try @free_money_bot now"}, (0.5, "@free_money_bot")),
    ("mention-channel", check_mention, {"text": "subscribe @crypto_pump_room"}, (0.25, "@crypto_pump_room")),
    ("mention-entity", check_mention, {"text": "hi", "mentions": ("@OtherChannel",)}, (0.25, "@otherchannel")),
    ("mention-allowed", check_mention, {"text": "ask @club_helper_bot or read @club_news"}, None),
    ("mention-email", check_mention, {"text": "mail hr@example.com"}, None),
    # contact handles
    ("contact-wei-digits", check_contact_handle, {"text": "加薇 123456789 日结"}, (0.7, "薇 + 9 digits")),
    ("contact-vx-handle", check_contact_handle, {"text": "ｖｘ：ｌｉｎ２２０８"}, (0.7, "lin2208")),
    ("contact-vxin", check_contact_handle, {"text": "V信 kk5082 私聊"}, (0.7, "kk5082")),
    ("contact-qq-spaced", check_contact_handle, {"text": "扣扣 2 9 3 8 4 7 5 6 1"}, (0.7, "9 digits")),
    ("contact-penguin", check_contact_handle, {"text": "🐧 774210356 进群看"}, (0.7, "🐧")),
    ("contact-kou", check_contact_handle, {"text": "\ufeff蔻2247 1419 少腹"}, (0.6, "蔻 + 8 digits")),
    ("contact-id-then-wei", check_contact_handle, {"text": "UKC917薇ᚰ"}, (0.6, "ukc917")),
    ("contact-plus-v", check_contact_handle, {"text": "➕v 领红包"}, (0.45, "➕v")),
    ("contact-tg-handle", check_contact_handle, {"text": "联系方式:@FF0168"}, (0.7, "@ff0168")),
    ("contact-telegram-en", check_contact_handle, {"text": "telegram: @invest_anna77"}, (0.7, "@invest_anna77")),
    ("contact-whatsapp", check_contact_handle, {"text": "WhatsApp +1 555 201 8834"}, (0.7, "11 digits")),
    ("contact-cn-mobile", check_contact_handle, {"text": "电话 138 0013 8000"}, (0.3, "phone number")),
    ("contact-sms-number", check_contact_handle, {"text": "Call 09061701461 to claim"}, (0.3, "phone number")),
    ("contact-long-id", check_contact_handle, {"text": "号码 83915247"}, (0.2, "8-digit number")),
    ("contact-code-in-chinese", check_contact_handle, {"text": "枝 T6787V 纯情"}, (0.4, "t6787v")),
    ("contact-not-price", check_contact_handle, {"text": "这个手机 2999 买的，便宜了 300 块"}, None),
    ("contact-not-time", check_contact_handle, {"text": "meeting 12:30-14:00 room 214"}, None),
    ("contact-not-date", check_contact_handle, {"text": "会议改到 2024-06-15 下午"}, None),
    ("contact-not-dotted-date", check_contact_handle, {"text": "встреча 15.06.2024 в 18:30"}, None),
    ("contact-not-amount", check_contact_handle, {"text": "raised $350,000 and 1,284.50 more"}, None),
    ("contact-not-score-list", check_contact_handle, {"text": "150-100-150-200"}, None),
    ("contact-not-laugh", check_contact_handle, {"text": "2333333 笑死"}, None),
    ("contact-not-ctrl-v", check_contact_handle, {"text": "press ctrl+v to paste"}, None),
    ("contact-not-deduction", check_contact_handle, {"text": "35000扣税30000"}, None),
    ("contact-not-version", check_contact_handle, {"text": "用 v2.3.1 版本"}, None),
    ("contact-not-url-digits", check_contact_handle, {"text": "https://example.com/t/506015/16"}, None),
    ("contact-not-weiwu", check_contact_handle, {"text": "路人哥威武"}, None),
    ("contact-heart-gap", check_contact_handle, {"text": "威❤：ss9921 看资源"}, (0.6, "ss9921")),
    ("contact-paper-plane", check_contact_handle, {"text": "纸飞机 @tt_5521 私聊"}, (0.7, "@tt_5521")),
    ("contact-homophone-wei", check_contact_handle, {"text": "葳 kd3382 同城"}, (0.6, "kd3382")),
    ("contact-not-overtime", check_contact_handle, {"text": "今天加班到十点，累死了"}, None),
    ("contact-not-wechat-pay", check_contact_handle, {"text": "微信支付和支付宝都可以"}, None),
    ("contact-not-qq-music", check_contact_handle, {"text": "QQ音乐上有这首歌"}, None),
    ("contact-not-date-digits", check_contact_handle, {"text": "2024年5月12日下午3点开会"}, None),
    ("contact-not-weiwei", check_contact_handle, {"text": "为了 2024 年的目标加油"}, None),
    # dm requests
    ("dm-zh", check_dm_request, {"text": "想赚钱的私聊我"}, (0.3, "私聊")),
    ("dm-en", check_dm_request, {"text": "Earn daily, DM me for details"}, (0.35, "DM me")),
    ("dm-en-inbox", check_dm_request, {"text": "inbox me now"}, (0.35, "inbox me")),
    ("dm-ru", check_dm_request, {"text": "Есть подработка, пиши в лс"}, (0.4, "пиши в лс")),
    ("dm-not-normal-en", check_dm_request, {"text": "I'll message you later about dinner"}, None),
    ("dm-not-normal-zh", check_dm_request, {"text": "我们下次活动定在 7 月 20 日"}, None),
    ("dm-ru-plus", check_dm_request, {"text": "Работа на дому, пишите +"}, (0.4, "пишите +")),
    ("dm-ru-private", check_dm_request, {"text": "подробности в личных сообщениях"}, (0.35, "личных сообщени")),
    ("dm-zh-homophone", check_dm_request, {"text": "丝我 有惊喜"}, (0.3, "丝我")),
    ("dm-en-whatsapp", check_dm_request, {"text": "whatsapp me for the price"}, (0.35, "whatsapp me")),
    ("dm-not-ru-plus-one", check_dm_request, {"text": "Ставлю плюсик, согласен"}, None),
    # profile bait
    ("bio-zh", check_profile_bait, {"text": "资源看我简介"}, (0.5, "看我简介")),
    ("bio-zh-name", check_profile_bait, {"text": "注意看我名字，有惊喜"}, (0.5, "看我名字")),
    ("bio-en", check_profile_bait, {"text": "Hot girls nearby, link in bio"}, (0.5, "link in bio")),
    ("bio-en-check", check_profile_bait, {"text": "check my bio for details"}, (0.5, "check my bio")),
    ("bio-ru", check_profile_bait, {"text": "Работа с телефона, подробности в профиле"}, (0.5, "профил")),
    ("bio-not-normal", check_profile_bait, {"text": "I updated my profile picture yesterday"}, None),
    ("bio-not-zh", check_profile_bait, {"text": "我的群昵称要怎么改"}, None),
    ("bio-zh-avatar", check_profile_bait, {"text": "想约的点我头像"}, (0.5, "点我头像")),
    ("bio-zh-space", check_profile_bait, {"text": "资源在我空间，看我空间"}, (0.5, "空间")),
    ("bio-not-avatar-compliment", check_profile_bait, {"text": "你头像好可爱"}, None),
    ("bio-not-new-avatar", check_profile_bait, {"text": "换头像了？挺好看的"}, None),
    # ad vocabulary
    ("words-zh", check_ad_words, {"text": "兼职日结，刷单返利"}, (0.8, "刷单")),
    ("words-zh-gambling", check_ad_words, {"text": "百家乐真人视讯，首充送彩金"}, (0.8, "百家乐")),
    ("words-en", check_ad_words, {"text": "Passive income, guaranteed profits, withdrawal anytime"}, (0.7, "passive income")),
    ("words-ru", check_ad_words, {"text": "Заработок без вложений, доход каждый день"}, (0.7, "заработ")),
    ("words-low-alone", check_ad_words, {"text": "Did you see the bitcoin news today?"}, (0.0, "bitcoin")),
    ("words-not-normal-zh", check_ad_words, {"text": "今天打卡第 15 天，继续加油"}, None),
    ("words-not-normal-en", check_ad_words, {"text": "The meetup starts at 7:30, see you there"}, None),
    ("words-not-normal-ru", check_ad_words, {"text": "Кто идёт на встречу в субботу?"}, None),
    ("words-zh-homophone-adult", check_ad_words, {"text": "少腹 上门 同城"}, (0.6, "少腹")),
    ("words-zh-telegram-services", check_ad_words, {"text": "TRX 能量租赁，闪兑秒到"}, (0.8, "能量租赁")),
    ("words-zh-offshore-job", check_ad_words, {"text": "高薪招聘，包吃住包机票"}, (0.8, "包机票")),
    ("words-zh-loan", check_ad_words, {"text": "不看征信，当天放款"}, (0.8, "不看征信")),
    ("words-en-sms-prize", check_ad_words, {"text": "You have been selected to receive a prize, T&Cs apply"}, (0.7, "been selected")),
    ("words-en-earnings", check_ad_words, {"text": "earn up to $400 a day"}, (0.5, "$400 a day")),
    ("words-ru-earnings", check_ad_words, {"text": "доход от 3000 в день"}, (0.7, "от 3000 в день")),
    ("words-ad-emoji", check_ad_words, {"text": "🔥 新店开业 ✅ 👉 💰"}, (0.4, "ad emoji")),
    ("words-not-cooking", check_ad_words, {"text": "周末在家做饭"}, None),
    ("words-not-gamer-slang", check_ad_words, {"text": "骚操作，两口子笑死"}, None),
    ("words-not-parking-price", check_ad_words, {"text": "I paid $20 per hour for parking"}, None),
    ("words-not-face-emoji", check_ad_words, {"text": "😂😂👍 好的"}, None),
    ("words-not-ru-plans", check_ad_words, {"text": "Встреча в 19:00 в субботу"}, None),
    # display name
    ("name-wechat", check_display_name, {"text": "你好", "name": "小美 加薇 kk2031"}, (0.5, "kk2031")),
    ("name-link", check_display_name, {"text": "hi", "name": "Anna t.me/+hotchat"}, (0.5, "t.me/+hotchat")),
    ("name-ad-words", check_display_name, {"text": "hi", "name": "兼职日结招代理"}, (0.5, "兼职")),
    ("name-ru", check_display_name, {"text": "привет", "name": "Заработок без вложений"}, (0.5, "без вложений")),
    ("name-normal", check_display_name, {"text": "hi", "name": "Alex Chen"}, None),
    ("name-normal-zh", check_display_name, {"text": "hi", "name": "王小明"}, None),
    # forwards, buttons, media, waves
    ("forward-channel", check_channel_forward, {"text": "news", "forwarded_from_channel": True}, (0.3, "channel")),
    ("forward-none", check_channel_forward, {"text": "news"}, None),
    ("buttons", check_buttons, {"text": "Claim", "has_buttons": True}, (0.5, "inline buttons")),
    ("buttons-none", check_buttons, {"text": "Claim"}, None),
    ("media-newcomer", check_newcomer_media, {"caption": "看", "has_media": True, "newcomer": True}, (0.3, "newcomer")),
    ("media-newcomer-long-caption", check_newcomer_media, {"caption": "周末去香山爬山拍的照片，风景太好了，红叶正好，大家看看", "has_media": True, "newcomer": True}, None),
    ("media-member", check_newcomer_media, {"caption": "看", "has_media": True}, None),
    ("wave-three-groups", check_spam_wave, {"text": "兼职日结，有意者私聊", "same_text_groups": 3}, (0.75, "3 groups")),
    ("wave-two-groups", check_spam_wave, {"text": "Earn $500 daily from home", "same_text_groups": 2}, (0.5, "2 groups")),
    ("wave-one-group", check_spam_wave, {"text": "Earn $500 daily from home", "same_text_groups": 1}, None),
    ("wave-short-greeting", check_spam_wave, {"text": "早上好", "same_text_groups": 5}, None),
    ("wave-new-year-no-history", check_spam_wave, {"text": "祝大家新年快乐，万事如意！", "same_text_groups": 6}, None),
    ("wave-thanks-no-history", check_spam_wave, {"text": "谢谢群主，收到！大家早上好", "same_text_groups": 6}, None),
    ("wave-plain-from-member", check_spam_wave, {"text": "周六的活动大家报名了吗，三楼会议室", "same_text_groups": 5, "history": 12}, None),
    ("wave-plain-no-history", check_spam_wave, {"text": "周六的活动大家报名了吗，三楼会议室", "same_text_groups": 5, "same_text_senders": 1}, (0.85, "no history")),
    ("wave-counts-senders", check_spam_wave, {"text": "Earn $500 daily from home", "same_text_groups": 5, "same_text_senders": 3}, (0.85, "3 accounts")),
    # a question asking for offers: "私聊我" weighs little there
    ("dm-in-a-question", check_dm_request, {"text": "有没有人出二手轮胎？私聊我"}, (0.0, "in a question")),
    ("dm-in-an-offer", check_dm_request, {"text": "出二手轮胎，九成新，私聊我"}, (0.3, "私聊")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_check(check, kwargs, expected):
    signal = check(evidence(**kwargs), POLICY)
    if expected is None:
        assert signal is None, signal
        return
    min_weight, fragment = expected
    assert signal is not None
    assert signal.weight >= min_weight
    assert 0.0 <= signal.weight <= 1.0
    assert fragment.lower() in signal.detail.lower(), signal.detail


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("兼职日结 加薇 123456789", "兼 职 日 结，加薇 987654321！"),
        ("Earn $500 daily, DM me", "earn $700 daily!!  dm me"),
        ("Заработок от 5000 в день", "заработок от 7000 в день"),
    ],
    ids=["zh-new-number", "en-new-amount", "ru-new-amount"],
)
def test_fingerprint_stable_across_light_variation(a, b):
    assert fingerprint(normalise(a).text) == fingerprint(normalise(b).text)


def test_fingerprint_differs_for_different_text():
    assert fingerprint(normalise("周五晚上八点分享会").text) != fingerprint(
        normalise("兼职日结").text
    )


def test_display_name_finding_is_kept_per_name_and_policy():
    from rules.facts import DetectPolicy
    from rules.signals import _display_name_signal

    name = "小美 t.me/club_news"
    open_policy = DetectPolicy()
    first = check_display_name(evidence("hi", name=name), open_policy)
    again = check_display_name(evidence("hello", name=name), open_policy)
    assert first is not None
    assert again == first
    assert first == _display_name_signal(normalise(name), open_policy)
    # The same name under a policy that allows the channel is judged again, not taken from before.
    assert check_display_name(evidence("hi", name=name), POLICY) == _display_name_signal(
        normalise(name), POLICY
    )
    assert check_display_name(evidence("hi", name=name), POLICY) != first


LINK = Signal("link", 0.4, "https://cheap-tyres.shop")
CONTACT = Signal("contact-handle", 0.8, "微信 kk20931")
WORDS_WEAK = Signal("ad-words", 0.15, "频道")
WORDS_STRONG = Signal("ad-words", 0.6, "日结")
CLASSIFIER = Signal("classifier", 0.9, "0.90")


@pytest.mark.parametrize(
    ("found", "history", "expected"),
    [
        ((CONTACT,), 30, 0.6),
        ((LINK,), 30, 0.6),
        ((WORDS_STRONG,), 30, 0.6),
        ((WORDS_WEAK,), 30, None),
        ((CLASSIFIER,), 30, None),
        ((), 30, None),
        ((), 0, 0.9),
        ((CONTACT,), 0, 0.9),
    ],
    ids=[
        "member-contact",
        "member-link",
        "member-strong-ad-words",
        "member-weak-ad-words",
        "member-classifier-only",
        "member-nothing",
        "stranger-nothing",
        "stranger-contact",
    ],
)
def test_spam_wave_needs_ad_evidence_or_a_stranger(found, history, expected):
    ev = evidence("周末特价活动，欢迎大家来看看", same_text_groups=5, history=history)
    signal = check_spam_wave(ev, POLICY, found)
    if expected is None:
        assert signal is None, signal
    else:
        assert signal is not None
        assert signal.weight == pytest.approx(expected)


@pytest.mark.parametrize(
    ("warned", "found", "repeat"),
    [
        (True, (LINK,), True),
        (True, (Signal("mention", 0.3, "@tyre_deals"),), True),
        (True, (Signal("contact-handle", 0.35, "phone number (11 digits)"),), True),
        (True, (Signal("channel-forward", 0.4, "forwarded from a channel"),), True),
        (True, (CLASSIFIER, WORDS_STRONG), False),
        (False, (LINK, CONTACT), False),
    ],
    ids=["link", "mention", "phone", "forward", "no-outside-pointer", "not-warned"],
)
def test_repeat_after_a_warning(warned, found, repeat):
    signal = check_repeat(evidence("看看", warned=warned), POLICY, found)
    assert (signal is not None) == repeat
    if signal is not None:
        assert signal.weight >= 0.9
        assert "warned already" in signal.detail


@pytest.mark.parametrize(
    ("text", "small"),
    [
        ("祝大家新年快乐，万事如意！", True),
        ("谢谢群主，收到！大家早上好", True),
        ("收到", True),
        ("哈哈哈", True),
        ("中秋节快乐，祝大家阖家幸福！", True),
        ("Happy New Year everyone!! 🎉", True),
        ("С Новым годом, друзья!", True),
        ("新年快乐 加微信 abc123", False),
        ("收到 13800138000", False),
        ("大家好，欢迎来我的群玩，很热闹的", False),
        ("🎉🎉🎉", False),
    ],
    ids=[
        "new-year",
        "thanks-ack-morning",
        "ack",
        "laugh",
        "mid-autumn",
        "en-new-year",
        "ru-new-year",
        "greeting-with-contact",
        "ack-with-number",
        "invitation",
        "emoji-only",
    ],
)
def test_is_small_talk(text, small):
    assert is_small_talk(normalise(text)) is small


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("有没有人出二手轮胎？私聊我", True),
        ("谁有闲置的儿童座椅", True),
        ("Does anyone sell winter tyres?", True),
        ("出二手轮胎，九成新，私聊我", False),
        ("有需要的私聊我", False),
    ],
    ids=["zh-question-mark", "zh-who-has", "en-question", "zh-offer", "zh-bait"],
)
def test_is_question(text, asked):
    assert is_question(normalise(text)) is asked
