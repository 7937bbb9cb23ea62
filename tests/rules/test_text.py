"""Normalisation: disguises undone, real text of every script left readable."""

import pytest

from rules.text import command_words, normalise

CASES = [
    ("full-width", "ＷＥＣＨＡＴ：ａｂｃ１２３", "wechat:abc123"),
    ("math-letters", "𝐇𝕌𝐗457卖片", "hux457卖片"),
    ("math-digits", "𝐕𝐗 𝟓𝟓𝟐𝟏𝟗𝟎𝟑𝟑", "vx 55219033"),
    ("zero-width", "加\u200b微\u200c信\u200d", "加微信"),
    ("feff", "\ufeff2744 7053 看", "27447053 看"),
    ("word-joiner-and-selectors", "t\u2060g\ufe0f", "tg"),
    ("runic-filler", "ᚰ舒 FAK256ᚰ", "舒 fak256"),
    ("homoglyph-latin-word", "саsinо bonus", "casino bonus"),
    ("homoglyph-cyrillic-word", "Пpивeт, зapaбoтoк", "привет, заработок"),
    ("small-capitals", "Пᴏддᴇᴧьнᴀя", "поддельная"),
    ("spaced-digits", "call 138 0013 8000", "call 13800138000"),
    ("dashed-digits", "158-7996-2374", "15879962374"),
    ("dotted-chinese", "拍.收.款.码", "拍收款码"),
    ("boxed-chinese", "░兼░职░", "░兼职░"),
    ("spelled-letters", "v x: abc", "vx: abc"),
    ("spelled-dotted", "w.e.i.x.i.n", "weixin"),
    ("circled-digits", "扣①⑨①⑨⑤⑤〇⑤⑨", "扣191955059"),
    ("case-folded", "Hello WORLD", "hello world"),
    ("whitespace-collapsed", "  a   lot\n\nof   space  ", "a lot of space"),
    (
        "russian-intact",
        "Привет, как дела? Встречаемся в 19:00",
        "привет, как дела? встречаемся в 19:00",
    ),
    ("greek-intact-but-case-folded", "Καλημέρα σας", "καλημέρα σασ"),
    ("chinese-intact", "今天天气不错，适合出去走走", "今天天气不错适合出去走走"),
    ("english-words-kept-apart", "see you at the park", "see you at the park"),
    ("time-not-joined", "10:30 or 11:45", "10:30 or 11:45"),
    ("amounts-not-joined", "1,250 and 3,400", "1,250 and 3,400"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalise_text(raw, expected):
    assert normalise(raw).text == expected


def test_normalise_keeps_url_readable_in_folded_view():
    norm = normalise("Join ｈｔｔｐｓ://t.me/+AbC now")
    assert "https://t.me/+abc" in norm.folded


@pytest.mark.parametrize(
    ("raw", "fragment", "expected_raw"),
    [
        ("\ufeff2744 7053 看", "27447053", "2744 7053"),
        ("加 𝐕𝐗 go", "vx", "𝐕𝐗"),
        ("拍.收.款.码!", "拍收款码", "拍.收.款.码"),
    ],
    ids=["spaced-digits", "math-letters", "dotted-chinese"],
)
def test_normalise_maps_back_to_raw(raw, fragment, expected_raw):
    norm = normalise(raw)
    start = norm.text.index(fragment)
    assert norm.raw_span(start, start + len(fragment)) == expected_raw


def test_normalise_is_idempotent_on_plain_text():
    once = normalise("Hello, 世界! Привет").text
    assert normalise(once).text == once


def test_normalise_empty():
    norm = normalise("")
    assert (norm.text, norm.folded, norm.text_index) == ("", "", ())


def test_whitespace_shortcut_changes_nothing():
    import random

    from rules.text import _collapse_spaces, _spaces

    alphabet = [*"ab 中.", "\t", "\n", "\u3000", "\xa0", "\u200b", "\x1c", "\x85", "\u2029"]
    rng = random.Random(20240611)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        index = list(range(len(text)))
        assert _spaces(text, list(index)) == _collapse_spaces(text, list(index)), repr(text)


OURS = frozenset({"ban", "whois", "stats", "start", "warn"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/whois @friend", "/whois"),
        ("/ban 9223372036854775808", "/ban"),
        ("/stats@keeper_bot @nobody1", "/stats@keeper_bot"),
        ("/warn 2h spam", "/warn spam"),
        ("/start 加微信 abc123 兼职日结", "/start 加微信 abc123 兼职日结"),
        ("/start 加微信 13800138000", "/start 加微信"),
        ("/whois@other_bot @friend", None),
        ("/vx 13800138000", None),
        ("hello /whois @friend", None),
        ("加微信 abc123", None),
    ],
    ids=[
        "mention-argument",
        "huge-id",
        "addressed-to-us",
        "duration-kept-out",
        "ad-words-behind-a-command-stay",
        "a-bare-number-is-an-id",
        "another-bots-command",
        "not-our-command",
        "not-at-the-start",
        "plain-text",
    ],
)
def test_command_words_keep_only_what_could_be_an_ad(text, expected):
    assert command_words(text, OURS, "keeper_bot") == expected
