"""The digest chart: a phone-sized PNG for any input, no tofu, no warnings, safe in threads."""

import asyncio
import io
import random
import subprocess
import sys
import warnings
from datetime import date, timedelta

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread

from services import charts
from services.charts import ChartLabels, GroupPoint, TrendPoint, activity_chart, has_font_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

EN = ChartLabels(
    title="Weekly digest 2026-11-16 – 2026-11-22",
    trend="Activity across all groups",
    messages="messages",
    active="active members",
    tiers="Groups by active ratio",
    groups="groups",
    ratio="active ratio",
    tier_names={
        "high": "high (>40%)",
        "general": "general (20–40%)",
        "inactive": "inactive (<20%)",
    },
)
ZH = ChartLabels(
    title="周报 2026-11-16 – 2026-11-22",
    trend="所有群组的活跃度",
    messages="消息",
    active="活跃成员",
    tiers="按活跃比例的群组",
    groups="群组",
    ratio="活跃比例",
    tier_names={"high": "高 (>40%)", "general": "一般 (20–40%)", "inactive": "不活跃"},
)


def trend(days, start=date(2026, 11, 1)):
    rnd = random.Random(days)
    return [
        TrendPoint(start + timedelta(i), rnd.randint(0, 5000), rnd.randint(0, 800))
        for i in range(days)
    ]


def groups(n):
    rnd = random.Random(n)
    ratios = [rnd.betavariate(2, 5) for _ in range(n)]
    return [
        GroupPoint(r, "high" if r > 0.4 else "general" if r >= 0.2 else "inactive") for r in ratios
    ]


def pixel_size(png):
    assert png.startswith(PNG_MAGIC)
    height, width = imread(io.BytesIO(png), format="png").shape[:2]
    return width, height


def assert_phone_png(png):
    width, height = pixel_size(png)
    assert 900 <= width <= 1100
    assert 1000 <= height <= 1200


def cjk_font_installed():
    """Independently of services.charts: does any real font (not Last Resort) draw 中 and 文?"""
    for entry in font_manager.fontManager.ttflist:
        if entry.name.startswith("Last Resort"):
            continue
        try:
            charmap = FT2Font(entry.fname, face_index=entry.index).get_charmap()
        except (OSError, RuntimeError):
            continue
        if 0x4E2D in charmap and 0x6587 in charmap:
            return True
    return False


@pytest.fixture
def no_cjk_font(monkeypatch):
    """The chart's fonts as on a machine with DejaVu only, whatever this machine has."""
    dejavu_only = tuple(f for f in charts._font_stack() if f[0] == charts.BASE_FONT)
    monkeypatch.setattr(charts, "_font_stack", lambda: dejavu_only)


@pytest.mark.parametrize(
    ("days", "n_groups"), [(7, 3), (30, 1000), (7, 1000), (30, 3), (31, 10_000)]
)
def test_renders_a_phone_sized_png(days, n_groups):
    assert_phone_png(activity_chart(trend(days), groups(n_groups), EN))


@pytest.mark.parametrize(("days", "n_groups"), [(0, 0), (0, 3), (7, 0), (1, 0), (1, 1)])
def test_empty_and_tiny_inputs_render(days, n_groups):
    assert_phone_png(activity_chart(trend(days), groups(n_groups), EN))


def test_odd_input_renders():
    days = [*trend(5)[::-1], TrendPoint(date(2026, 12, 20), 0, 0)]  # unsorted, with a gap
    odd = [GroupPoint(-0.5, "inactive"), GroupPoint(1.0, "high"), GroupPoint(1.7, "high")]
    odd += [GroupPoint(float("nan"), "general"), GroupPoint(0.3, "unknown-tier")]
    labels = ChartLabels("$5 ads $x^2$ {}", "a_b", "$", "%", "\\", "{", "}", {})
    assert_phone_png(activity_chart(days, odd, labels, thresholds=(0.05, 0.25, 0.33)))


def test_same_input_same_bytes():
    assert activity_chart(trend(7), groups(50), EN) == activity_chart(trend(7), groups(50), EN)


async def test_renders_in_worker_threads_concurrently():
    expected = activity_chart(trend(14), groups(200), EN)
    results = await asyncio.gather(
        *(asyncio.to_thread(activity_chart, trend(14), groups(200), EN) for _ in range(4))
    )
    assert all(png == expected for png in results)


def test_has_font_for():
    assert has_font_for("abc")
    assert has_font_for("Weekly digest 2026-11-16 – 2026-11-22 (>40%)\n")
    assert has_font_for("") is True
    assert has_font_for("中文") == cjk_font_installed()


def test_chinese_labels_render_without_warnings_here():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = activity_chart(trend(7), groups(30), ZH)
    assert_phone_png(png)
    assert [str(w.message) for w in caught] == []


def test_chinese_labels_without_cjk_font_fall_back_without_warnings(no_cjk_font):
    assert not has_font_for("中文")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = activity_chart(trend(7), groups(30), ZH)
    assert_phone_png(png)
    assert [str(w.message) for w in caught] == []


def test_undrawable_labels_are_replaced_by_drawable_ones(no_cjk_font):
    safe = charts._safe_labels(ZH)
    assert safe.title == "Activity digest 2026-11-16 – 2026-11-22"  # keeps the dates
    assert safe.messages == "messages"
    assert safe.tier_names == {
        "high": "high (>40%)",
        "general": "general (20–40%)",
        "inactive": "inactive",
    }
    assert charts._safe_labels(EN) == EN  # drawable labels are kept as they are
    texts = [
        getattr(safe, k)
        for k in ("title", "trend", "messages", "active", "tiers", "groups", "ratio")
    ]
    assert all(has_font_for(text) for text in texts + list(safe.tier_names.values()))
    # Rendering the replaced labels does not even need the warning filter: nothing is missing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts._render(trend(7), groups(30), safe, (0.10, 0.20, 0.40))


def test_latin_text_survives_dropping_undrawable_characters(no_cjk_font):
    safe = charts._safe_labels(
        ChartLabels("🔥 Weekly digest", "活跃 activity", "消息", "x", "y", "z", "w", {"high": "🚀"})
    )
    assert (safe.title, safe.trend, safe.messages) == ("Weekly digest", "activity", "messages")
    assert safe.tier_names["high"] == "high"
    assert safe.tier_names["general"] == "general"  # a missing tier name gets the English one


def test_importing_is_cheap_and_rendering_uses_no_pyplot():
    code = (
        "import sys\n"
        "import services.charts as c\n"
        "assert 'matplotlib' not in sys.modules, 'imported at module load'\n"
        "from datetime import date\n"
        "labels = c.ENGLISH_LABELS\n"
        "c.activity_chart([c.TrendPoint(date(2026, 1, 1), 1, 1)], [c.GroupPoint(0.5, 'high')], labels)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=charts.__file__.rsplit("/services/", 1)[0]
    )
