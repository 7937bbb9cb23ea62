import random

import pytest

from rules.paging import TELEGRAM_LIMIT, split_message


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("", 10, []),
        (" \n\n \n", 10, []),
        ("hello", 10, ["hello"]),
        ("a" * 10, 10, ["a" * 10]),
        ("a" * 11, 10, ["a" * 10, "a"]),
        ("a" * 25, 10, ["a" * 10, "a" * 10, "a" * 5]),
        ("aaaaaa\n\nbbbbbb", 10, ["aaaaaa", "bbbbbb"]),
        ("aaa\n\nbbb\n\ncccccccc", 10, ["aaa\n\nbbb", "cccccccc"]),
        # Paragraphs stay whole even when part of the next one would still fit.
        ("aa\nbb\n\ncccc\ndddd", 12, ["aa\nbb", "cccc\ndddd"]),
        # A paragraph over the limit breaks at its line ends.
        ("line one\nline two\nline three", 10, ["line one", "line two", "line three"]),
        ("one\ntwo\nthree\nfour", 10, ["one\ntwo", "three\nfour"]),
        # Only a line longer than the limit on its own is cut, and its tail packs on.
        ("intro\nabcdefghijkl\nxy", 5, ["intro", "abcde", "fghij", "kl\nxy"]),
        ("abcdefghijkl\n\nend", 6, ["abcdef", "ghijkl", "end"]),
        ("a\n\n\n   \n\nb" + "c" * 9, 10, ["a", "b" + "c" * 9]),
        ("x" * 10 + "\n", 10, ["x" * 10]),
    ],
    ids=[
        "empty",
        "blank",
        "short",
        "exactly-limit",
        "limit-plus-one",
        "long-line-cut",
        "two-paragraphs",
        "paragraphs-packed",
        "paragraph-preferred",
        "lines",
        "lines-packed",
        "cut-tail-packs",
        "cut-then-paragraph",
        "many-blank-lines",
        "trailing-newline-dropped",
    ],
)
def test_split_message(text, limit, parts):
    assert split_message(text, limit) == parts


def test_default_limit_is_telegrams():
    assert TELEGRAM_LIMIT == 4096
    assert split_message("x" * 4096) == ["x" * 4096]
    assert split_message("x" * 4097) == ["x" * 4096, "x"]
    assert split_message("x" * 4000 + "\n" + "y" * 96) == ["x" * 4000, "y" * 96]
    report = "\n\n".join(f"<b>Group {i}</b>\nactive 40%\nexit 2%" for i in range(400))
    parts = split_message(report)
    assert len(report) > 4096
    assert len(parts) == 4
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("<b>Group ") and p.endswith("exit 2%") for p in parts)
    assert "\n\n".join(parts) == report


def test_html_lines_are_never_cut():
    lines = [f"<b>Group {i:02d}</b>: <i>{10 * i % 97}%</i> active" for i in range(30)]
    text = "\n".join(lines)
    parts = split_message(text, 100)
    assert all(len(p) <= 100 for p in parts)
    assert [line for p in parts for line in p.split("\n")] == lines
    assert all(
        p.count("<b>") == p.count("</b>") and p.count("<i>") == p.count("</i>") for p in parts
    )


def test_chinese_text_counts_characters():
    text = "群组健康周报\n\n高活跃：三个群\n一般：五个群\n\n不活跃：两个群，需要关注"
    assert split_message(text, 40) == [text]
    assert split_message(text, 14) == [
        "群组健康周报",
        "高活跃：三个群\n一般：五个群",
        "不活跃：两个群，需要关注",
    ]
    assert split_message("你好世界" * 3, 5) == ["你好世界你", "好世界你好", "世界"]
    assert split_message("中" * 4096) == ["中" * 4096]


@pytest.mark.parametrize("seed", range(20))
def test_parts_fit_and_keep_all_content(seed):
    rng = random.Random(seed)
    words = ["alpha", "群组", "<b>bold</b>", "x" * 30, "", " ", "活跃度 42%", "🙂"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(80)]
    text = "\n".join(lines)
    limit = rng.choice([1, 7, 25, 60, 200])
    parts = split_message(text, limit)
    assert all(0 < len(p) <= limit and p.strip() for p in parts)
    assert squash("".join(parts)) == squash(text)


def test_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        split_message("text", 0)
