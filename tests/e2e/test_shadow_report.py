"""Shadow mode you can watch: /shadow report lists what would have been done (deletions,
warnings, blacklists) with the text, reasons and score; "this was fine" labels a would-be action
and counts toward the false-positive estimate; "Turn enforcement on" ends shadow mode in one tap;
the owners' daily digest has the same while a group is in shadow mode."""

import re

from sqlalchemy import select

from storage.models import LabeledMessage, ModerationLog

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"
AD2 = "招代理，日赚 800，加V信 vx55667788 了解"


def _answers(env) -> list[str]:
    return [c.params.get("text", "") for c in env.world.calls("answerCallbackQuery")]


def _buttons(message) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message.buttons or [] for b in row}


async def _shadow_with_ads(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/shadow on")
    await env.wait_bot_says(g1, "Shadow mode is on")
    await env.join("spammer", g1)
    ads = [await env.say("spammer", g1, AD), await env.say("spammer", g1, AD2)]
    await env.settle()
    async with env.session() as s:
        would = list(
            await s.scalars(select(ModerationLog).where(ModerationLog.action == "would_warn"))
        )
    assert len(would) == 2
    return g1, ads


async def _report(env, g1):
    before = len(env.world.bot_messages(g1))
    await env.admin_says(g1, "/shadow report")
    await env.wait_for(lambda: len(env.world.bot_messages(g1)) > before)
    await env.wait_bot_says(g1, "What I would have done")
    return [m for m in env.world.bot_messages(g1) if "What I would have done" in m.text][-1]


async def test_shadow_report_lists_what_would_have_been_done(env):
    g1, ads = await _shadow_with_ads(env)
    assert not any(env.deleted(g1, ad) for ad in ads)
    report = await _report(env, g1)
    text = report.text
    assert "“Club 1” since" in text
    assert "Deletions: 0 · warnings: 1 · blacklists: 1" in text
    first, second = (line for line in text.split("\n") if line[:2] in ("1.", "2."))
    assert first.startswith("1. would warn Spammer")
    assert "兼职日结 300-500" in first
    assert re.search(r" — score [01]\.\d\d — ", first)
    assert "contact-handle: 加薇 kk20931" in first
    assert "warn: 1 of 2" not in first
    assert second.startswith("2. would blacklist Spammer")
    assert "vx55667788" in second
    assert "No one has marked any as fine yet" in text
    assert set(_buttons(report)) == {"✅ 1 was fine", "✅ 2 was fine", "Turn enforcement on"}


async def test_this_was_fine_labels_the_text_and_counts_toward_the_estimate(env):
    g1, _ = await _shadow_with_ads(env)
    report = await _report(env, g1)
    env.talk.press("adam", report, _buttons(report)["✅ 1 was fine"])
    await env.wait_bot_says(g1, "Marked as fine")
    assert "Marked as fine; I learn from it. 1 of 2 marked in “Club 1”." in _answers(env)
    async with env.session() as s:
        labeled = list(await s.scalars(select(LabeledMessage)))
    assert [(m.text, m.label, m.source) for m in labeled] == [(AD, "ham", "shadow")]
    env.talk.press("adam", report, _buttons(report)["✅ 1 was fine"])
    await env.wait_for(lambda: "Already marked as fine." in _answers(env))
    await env.join("mallory", g1)
    env.talk.press("mallory", report, _buttons(report)["✅ 2 was fine"])
    await env.wait_for(
        lambda: "Only the group's admins and the owners can do that." in _answers(env)
    )
    again = await _report(env, g1)
    assert "Admins marked 1 of 2 as fine: about 50 % would have been mistakes." in again.text
    assert "✅ 1 was fine" not in _buttons(again)


async def test_one_tap_turns_enforcement_on(env):
    g1, _ = await _shadow_with_ads(env)
    report = await _report(env, g1)
    env.talk.press("adam", report, _buttons(report)["Turn enforcement on"])
    assert await env.wait_bot_says(g1, "Shadow mode is off")
    await env.join("other", g1)
    ad = await env.say("other", g1, AD)
    await env.wait_for(lambda: env.deleted(g1, ad))
    assert await env.wait_bot_says(g1, "Warning 1 of 2")


async def test_the_daily_digest_has_a_shadow_section_while_a_group_is_in_shadow(env):
    env.talk.private("olga", "/digest daily")
    plain = await env.wait_private("olga", "Daily digest")
    assert "shadow mode" not in plain
    await _shadow_with_ads(env)
    env.talk.private("olga", "/digest daily")
    await env.wait_for(
        lambda: (
            len([m for m in env.world.private_messages_to("olga") if "Daily digest" in m.text]) == 2
        )
    )
    digest = [m for m in env.world.private_messages_to("olga") if "Daily digest" in m.text][-1]
    assert "Groups in shadow mode" in digest.text
    assert "Club 1: Deletions: 0 · warnings: 1 · blacklists: 1" in digest.text
    detail = await env.wait_private("olga", "would blacklist Spammer")
    assert "vx55667788" in detail
    await env.press_private("olga", "Turn enforcement on in “Club 1”")
    assert await env.wait_bot_says(env.groups["g1"], "Shadow mode is off")
    assert await env.wait_private("olga", "Enforcement is on in “Club 1”.")


async def test_report_of_a_quiet_shadow_period(env):
    g2 = env.groups["g2"]
    await env.admin_says(g2, "/shadow on")
    await env.wait_bot_says(g2, "Shadow mode is on")
    await env.say("adam", g2, "今晚八点分享会，大家准时参加")
    await env.admin_says(g2, "/shadow report")
    text = await env.wait_bot_says(g2, "What I would have done")
    assert "Nothing: no message would have been deleted, no one warned." in text


async def test_set_shadow_on_from_settings_acts_on_nothing(env):
    g3 = env.groups["g3"]
    await env.admin_says(g3, "/set shadow on")
    assert await env.wait_bot_says(g3, "shadow: off → on")
    await env.join("spammer", g3)
    ad = await env.say("spammer", g3, AD)
    await env.settle()
    assert not env.deleted(g3, ad)
    await env.admin_says(g3, "/shadow report")
    text = await env.wait_bot_says(g3, "What I would have done")
    assert "1. would warn Spammer" in text
