"""bench/raid's figures from one database's run, its targets, and the readable table.

Ad visibility is the sandbox's record: from the moment the ad appeared in the group to the
deleteMessage(s) call that removed it; an ad never removed counts as visible for ever (it is in
every percentile above the share removed). Where the time went is split in two with the bot's own
stopwatch: from appearing to handled by the bot (reading, deciding, committing the removal to the
outbox) and from handled to deleted (the executor's queue and the send pacing).
"""

from __future__ import annotations

import math
from typing import Any

from bench._raid_plan import Plan
from bench._raid_world import Seen, Watch
from sandbox.world import World

INF = math.inf


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(max(0.0, v) for v in values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def seconds(value: float | None) -> float | None:
    return None if value is None or value == INF else round(value, 2)


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": seconds(percentile(values, 0.5)),
        "p99": seconds(percentile(values, 0.99)),
        "max": seconds(max(values) if values else None),
    }


def command_latency(
    world: World, seen: Seen, watch: Watch, handled: dict[tuple[int, int], float]
) -> dict[str, Any]:
    """The admin's commands in the quiet group: sent -> the bot's answer appeared, and the two
    legs of it (sent -> handled by the bot, handled -> the answer appeared)."""
    quiet = world.chat("quiet")
    replies = watch.replies(quiet)
    waits, to_handled, to_answer = [], [], []
    for key, at in seen.commands.items():
        if key[1] in replies:
            waits.append(replies[key[1]] - at)
        if key in handled:
            to_handled.append(handled[key] - at)
            if key[1] in replies:
                to_answer.append(replies[key[1]] - handled[key])
    figures = spread(waits)
    figures["unanswered"] = len(seen.commands) - len(waits)
    figures["sent_to_handled"] = spread(to_handled)
    figures["handled_to_answer"] = spread(to_answer)
    return figures


def raid_figures(
    world: World,
    plan: Plan,
    seen: Seen,
    watch: Watch,
    *,
    started: float,
    handled: dict[tuple[int, int], float],
) -> dict[str, Any]:
    raided = world.chat("raided")
    end, after = started + plan.raid_seconds, started + plan.phase_seconds
    visible: list[float] = []
    visible_or_revoked: list[float] = []  # a ban with revoke_messages counted as a removal
    to_handled: list[float] = []
    to_deleted: list[float] = []
    removed_by_end = removed_after = 0
    for key, appeared in ((k, seen.appeared[k]) for k in seen.ads):
        gone = watch.removed_at(raided, key[1])
        visible.append(INF if gone is None else gone - appeared)
        revoked = watch.revoked.get((raided.id, world.user(seen.ads[key]).id))
        either = min(t for t in (gone, revoked, INF) if t is not None)
        visible_or_revoked.append(either - appeared)
        removed_by_end += gone is not None and gone <= end
        removed_after += gone is not None and gone <= after
        if key in handled:
            to_handled.append(handled[key] - appeared)
            if gone is not None:
                to_deleted.append(gone - handled[key])
    posted = len(seen.ads)
    lines = [k for k in seen.appeared if k not in seen.ads]
    removed = [k for k in lines if _removed(world, watch, k)]
    raiders = set(plan.raider_names)
    return {
        "joins": seen.joins,
        "joins_refused": seen.refused_joins,
        "messages_posted": seen.raided_said,
        "ads_planned": seen.ads_planned,
        "ads_posted": posted,
        "ads_not_posted_sender_banned": seen.not_posted.get("ad", 0),
        "lines_not_posted_sender_banned": seen.not_posted.get("line", 0),
        "ad_visible_seconds": spread(visible),
        "ads_never_removed": sum(1 for v in visible if v == INF),
        "ad_visible_or_sender_revoked_seconds": spread(visible_or_revoked),
        "never_removed_texts": [
            raided.messages[m].text for _, m in seen.ads if watch.removed_at(raided, m) is None
        ][:10],
        "share_removed_by_raid_end": _share(removed_by_end, posted),
        "share_removed_30s_later": _share(removed_after, posted),
        # a blacklisted raider's recent lines go with them; members' lines must stay
        "raider_lines_posted": sum(1 for k in lines if seen.authors[k] in raiders),
        "raider_lines_removed": sum(1 for k in removed if seen.authors[k] in raiders),
        "member_lines_posted": sum(1 for k in lines if seen.authors[k] not in raiders),
        "member_lines_removed": sum(1 for k in removed if seen.authors[k] not in raiders),
        "ad_appeared_to_handled_seconds": spread(to_handled),
        "ad_handled_to_deleted_seconds": spread(to_deleted),
        "raiders": _raiders(world, plan, watch, end=end, after=after),
        "bot_messages": _bot_messages(watch, raided.id, started),
        "player_worst_lateness_seconds": round(max(seen.late, default=0.0), 3),
    }


def _removed(world: World, watch: Watch, key: tuple[int, int]) -> bool:
    return watch.removed_at(world.chat_by_id[key[0]], key[1]) is not None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _raiders(world: World, plan: Plan, watch: Watch, *, end: float, after: float) -> dict[str, Any]:
    raided = world.chat("raided")
    ids = {world.user(name).id for name in plan.raider_names}
    banned_at: dict[int, float] = {}
    everywhere = 0
    for entry in world.journal[watch.since :]:
        if entry.method == "banChatMember" and entry.ok:
            chat_id, user_id = entry.params.get("chat_id"), entry.params.get("user_id")
            if user_id in ids and chat_id == raided.id:
                banned_at.setdefault(int(user_id), entry.at)
    for name in plan.raider_names:
        if all(world.is_banned(name, key) for key in plan.groups):
            everywhere += 1
    inviters = [f"inviter{n}" for n in range(plan.inviters)]
    return {
        "accounts": len(ids),
        "banned_by_raid_end": sum(1 for t in banned_at.values() if t <= end),
        "banned_30s_later": sum(1 for t in banned_at.values() if t <= after),
        "banned_at_finish": sum(1 for name in plan.raider_names if world.is_banned(name, raided)),
        "banned_in_every_group_at_finish": everywhere,
        "inviters_banned_at_finish": sum(1 for n in inviters if world.is_banned(n, raided)),
    }


def _bot_messages(watch: Watch, chat_id: int, started: float) -> dict[str, Any]:
    """What the bot posted in the raided group from the raid's start: how many, the most in any
    60 s, 429 answers there, and the first texts."""
    sent = sorted((at, m) for at, m in watch.sent.get(chat_id, []) if at >= started)
    times = [at for at, _ in sent]
    most, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= 60.0:
            low += 1
        most = max(most, high - low + 1)
    return {
        "posted": len(sent),
        "most_in_any_minute": most,
        "answered_429": watch.flood.get(chat_id, 0),
        "first_texts": [m.text[:160] for _, m in sent[:6]],
    }


def targets(result: dict[str, Any]) -> dict[str, bool]:
    raid, quiet = result["raid"], result["quiet_commands"]
    visible_p99 = raid["ad_visible_seconds"]["p99"]
    base, during = quiet["baseline"]["p99"], quiet["raid"]["p99"]
    peak = result["memory"]["peak_rss_mb"]
    return {
        "every_ad_removed_within_30s_of_raid_end": raid["share_removed_30s_later"] == 1.0,
        "ad_visible_p99_le_10s": visible_p99 is not None and visible_p99 <= 10.0,
        "quiet_command_p99_le_2x_baseline": (
            base is not None and during is not None and during <= 2 * base
        ),
        "bot_messages_in_raided_group_le_20_a_minute": (
            raid["bot_messages"]["most_in_any_minute"] <= 20
        ),
        "peak_memory_lt_400mb": peak is not None and peak < 400,
    }


def table(result: dict[str, Any]) -> str:
    raid, quiet, rd = result["raid"], result["quiet_commands"], result["raid"]["raiders"]
    vis = raid["ad_visible_seconds"]
    rows = [
        f"== raid on {result['database']} (scale {result['scale']}: {result['raid_seconds']} s"
        f" raid, watched {result['after_seconds']} s after) ==",
        f"joins {raid['joins']} (refused {raid['joins_refused']}); messages in the raided group"
        f" {raid['messages_posted']}; ads posted {raid['ads_posted']} (not posted, sender"
        f" already banned: {raid['ads_not_posted_sender_banned']})",
        f"ad visible s            p50 {_s(vis['p50'])}  p99 {_s(vis['p99'])}  max"
        f" {_s(vis['max'])}  (never removed: {raid['ads_never_removed']})",
        f"  counting a revoking ban of the sender as removal: p50"
        f" {_s(raid['ad_visible_or_sender_revoked_seconds']['p50'])}  p99"
        f" {_s(raid['ad_visible_or_sender_revoked_seconds']['p99'])}",
        f"  appeared -> handled   p50 {_s(raid['ad_appeared_to_handled_seconds']['p50'])}  p99"
        f" {_s(raid['ad_appeared_to_handled_seconds']['p99'])}",
        f"  handled -> deleted    p50 {_s(raid['ad_handled_to_deleted_seconds']['p50'])}  p99"
        f" {_s(raid['ad_handled_to_deleted_seconds']['p99'])}",
        f"ads removed             by raid end {_pct(raid['share_removed_by_raid_end'])}; "
        f"{result['after_seconds']} s later {_pct(raid['share_removed_30s_later'])}",
        f"ordinary lines removed  raiders' {raid['raider_lines_removed']} of"
        f" {raid['raider_lines_posted']}; members' (all groups)"
        f" {raid['member_lines_removed']} of {raid['member_lines_posted']}",
        f"raiders banned          by raid end {rd['banned_by_raid_end']}/{rd['accounts']}; later"
        f" {rd['banned_30s_later']}; at finish {rd['banned_at_finish']} (in every group"
        f" {rd['banned_in_every_group_at_finish']}); inviters banned"
        f" {rd['inviters_banned_at_finish']}",
        f"bot messages in raided  {raid['bot_messages']['posted']} (most in a minute"
        f" {raid['bot_messages']['most_in_any_minute']}, 429 answers"
        f" {raid['bot_messages']['answered_429']})",
        f"quiet /warns latency s  baseline p50 {_s(quiet['baseline']['p50'])} p99"
        f" {_s(quiet['baseline']['p99'])}; raid p50 {_s(quiet['raid']['p50'])} p99"
        f" {_s(quiet['raid']['p99'])}; ratio p99 {quiet['ratio_p99']}",
        f"peak memory (bot)       {result['memory']['peak_rss_mb']} MB",
        "targets: "
        + ", ".join(f"{k} {'MET' if v else 'MISSED'}" for k, v in result["targets"].items()),
    ]
    return "\n".join(rows)


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"
