"""Named ad signals: one small `check_<name>(evidence, policy) -> Signal | None` per signal.

Each check looks at one kind of evidence and, when it finds some, returns a `Signal` with its name,
a weight in [0, 1] (how strongly that evidence alone points to an ad) and a detail that quotes
what was found. A check never decides anything: `rules.detect` combines the signals. Checks are
pure functions of `Evidence` and the group's `DetectPolicy`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rules.facts import DetectPolicy, MessageFacts, Signal
from rules.patterns import (
    Hit,
    find_ad_words,
    find_contacts,
    find_dm_requests,
    find_links,
    find_mentions,
    find_profile_bait,
    is_question,
    is_small_talk,
    noisy_or,
)
from rules.text import Normalised

__all__ = [
    "AD_EVIDENCE",
    "CHECKS",
    "FOLLOW_UPS",
    "OUTSIDE",
    "Check",
    "Evidence",
    "FollowUp",
    "ad_evidence",
    "check_ad_words",
    "check_buttons",
    "check_channel_forward",
    "check_contact_handle",
    "check_display_name",
    "check_dm_request",
    "check_link",
    "check_mention",
    "check_newcomer_media",
    "check_profile_bait",
    "check_repeat",
    "check_spam_wave",
    "fingerprint",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A message prepared for the checks: the facts, their normalised text and the context."""

    message: MessageFacts
    body: Normalised
    """The text and the caption, normalised together."""
    name: Normalised
    """The sender's display name, normalised."""
    newcomer: bool
    same_text_groups: int
    """How many distinct groups of the owner recently saw the same fingerprint (this one too)."""
    same_text_senders: int = 1
    """How many distinct accounts posted that fingerprint there (this sender too)."""
    history: int = 0
    """Messages the sender posted in the owner's groups before this one."""
    warned: bool = False
    """The sender has an active warning."""


def _signal(name: str, hits: list[Hit], weight: float, limit: int = 3) -> Signal | None:
    if not hits:
        return None
    hits = sorted(hits, key=lambda h: -h[0])
    detail = ", ".join(d for _, d in hits[:limit])
    if len(hits) > limit:
        detail += f" (+{len(hits) - limit} more)"
    return Signal(name, round(weight, 3), detail)


def check_link(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Links outside the allowed domains; t.me/+ and joinchat invites weigh most."""
    hits = find_links(
        ev.body, ev.message.entity_urls, policy.allowed_domains, policy.allowed_mentions
    )
    if not hits:
        return None
    return _signal("link", hits, noisy_or(w for w, _ in hits))


def check_mention(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Mentions of outside bots and channels (anything not in the group's allowed list)."""
    hits = find_mentions(ev.body, ev.message.mentions, policy.allowed_mentions)
    if not hits:
        return None
    return _signal("mention", hits, noisy_or((w for w, _ in hits), cap=0.7))


def check_contact_handle(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Messenger handles in their disguises (薇/扣/🐧/vx/tg), phone numbers and long IDs."""
    hits = find_contacts(ev.body)
    if not hits:
        return None
    return _signal("contact-handle", hits, noisy_or(w for w, _ in hits))


def check_dm_request(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Invitations to continue in private: 加我, 私聊, "DM me", "пиши в лс"."""
    hits = find_dm_requests(ev.body)
    if not hits:
        return None
    weight = max((w for w, _ in hits), default=0.0)
    if is_question(ev.body):
        # "有没有人出二手轮胎？私聊我": a member asking for offers, not making one
        asked = _signal("dm-request", hits, weight * _ASKED)
        return replace(asked, detail=asked.detail + " (in a question)") if asked else None
    return _signal("dm-request", hits, weight)


_ASKED = 0.15


def check_profile_bait(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """ "See my bio / profile / name" bait: 看我简介, "link in bio", "в профиле"."""
    hits = find_profile_bait(ev.body)
    if not hits:
        return None
    return _signal("profile-bait", hits, max((w for w, _ in hits), default=0.0))


def check_ad_words(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Ad vocabulary; several distinct terms reinforce each other."""
    hits = find_ad_words(ev.body)
    if not hits:
        return None
    return _signal("ad-words", hits, noisy_or((w for w, _ in hits), cap=0.9), limit=4)


def check_display_name(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """The sender's display name itself carries a link, a contact handle or ad words."""
    name = ev.name
    if not name.text:
        return None
    # A sender's name comes with each of their messages: its finding is kept (it depends on the
    # name and the policy's allowed lists only).
    key = (name.raw, policy.allowed_domains, policy.allowed_mentions)
    try:
        return _NAME_SIGNALS[key]
    except KeyError:
        pass
    found = _display_name_signal(name, policy)
    if len(_NAME_SIGNALS) >= _NAME_SIGNALS_LIMIT:
        _NAME_SIGNALS.clear()
    _NAME_SIGNALS[key] = found
    return found


_NAME_SIGNALS: dict[tuple[str, frozenset[str], frozenset[str]], Signal | None] = {}
_NAME_SIGNALS_LIMIT = 20_000


def _display_name_signal(name: Normalised, policy: DetectPolicy) -> Signal | None:
    hits = (
        find_links(name, (), policy.allowed_domains, policy.allowed_mentions)
        + find_contacts(name)
        + find_profile_bait(name)
        + [h for h in find_ad_words(name) if h[0] >= 0.4]
        + [h for h in find_mentions(name, (), policy.allowed_mentions)]
    )
    if not hits:
        return None
    weight = min(0.7, 0.15 + noisy_or(w for w, _ in hits))
    found = ", ".join(d for _, d in sorted(hits, key=lambda h: -h[0])[:2])
    return Signal("display-name", round(weight, 3), f"{name.raw.strip()!r} ({found})")


def check_channel_forward(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """A forward from a channel: the usual way channel promotions enter groups."""
    if not ev.message.forwarded_from_channel:
        return None
    return Signal("channel-forward", 0.4, "forwarded from a channel")


def check_buttons(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """Inline buttons on a member's message only come from inline bots, a common ad vehicle."""
    if not ev.message.has_buttons:
        return None
    return Signal("buttons", 0.6, "inline buttons on a member's message")


_SHORT_CAPTION = 20


def check_newcomer_media(ev: Evidence, policy: DetectPolicy) -> Signal | None:
    """A newcomer's picture or video with little or no text: image ads dodge text checks."""
    if not (ev.message.has_media and ev.newcomer):
        return None
    size = len(ev.body.text)
    if size > _SHORT_CAPTION:
        return None
    return Signal("newcomer-media", 0.35, f"media with a {size}-character caption from a newcomer")


_WAVE_MIN_TEXT = 6
_WAVE_WEIGHTS = {2: 0.6, 3: 0.8}
# What makes a repeated text an ad rather than news or a greeting shared in several groups.
AD_EVIDENCE = frozenset(
    {
        "link",
        "mention",
        "contact-handle",
        "dm-request",
        "profile-bait",
        "display-name",
        "channel-forward",
        "buttons",
    }
)
_STRONG_AD_WORDS = 0.5
_WAVE_WITH_HISTORY = 0.6


def ad_evidence(found: Sequence[Signal]) -> Signal | None:
    """The strongest finding that says "ad" on its own: a contact, a link, bait, strong ad
    words (not the classifier, not a repetition)."""
    strong = [
        s
        for s in found
        if (s.name in AD_EVIDENCE and s.weight >= 0.1)
        or (s.name == "ad-words" and s.weight >= _STRONG_AD_WORDS)
    ]
    return max(strong, key=lambda s: s.weight, default=None)


def check_spam_wave(
    ev: Evidence, policy: DetectPolicy, found: Sequence[Signal] = ()
) -> Signal | None:
    """The same text in several of the owner's groups within minutes: a spam wave, when the text
    carries ad evidence (`found`: the other signals of the message) or comes from an account
    with no history in the owner's groups.

    The same friendly text posted by members who have talked before is group life, not a wave;
    short texts ("hi", "ok") and small talk (greetings, wishes, thanks) never count.
    """
    groups = ev.same_text_groups
    if groups < 2 or len(ev.body.text) < _WAVE_MIN_TEXT or is_small_talk(ev.body):
        return None
    evidence = ad_evidence(found)
    if evidence is None and ev.history > 0:
        return None
    weight = _WAVE_WEIGHTS.get(groups, 0.9)
    if ev.history > 0:
        # a member with a history shares a link in several groups too: it only adds to the rest
        weight = min(weight, _WAVE_WITH_HISTORY)
    senders = max(1, ev.same_text_senders)
    who = "1 account" if senders == 1 else f"{senders} accounts"
    why = f"with {evidence.name}" if evidence is not None else "from an account with no history"
    return Signal("spam-wave", weight, f"same text in {groups} groups from {who}, {why}")


# What a warned advertiser may not post again: anything that leads people outside the group.
OUTSIDE = frozenset({"link", "mention", "contact-handle", "channel-forward", "profile-bait"})


def check_repeat(ev: Evidence, policy: DetectPolicy, found: Sequence[Signal] = ()) -> Signal | None:
    """A sender warned for an ad who posts an outside link, contact or channel again: the ad
    goes on, the warn ladder moves on."""
    if not ev.warned:
        return None
    outside = [s for s in found if s.name in OUTSIDE and s.weight >= 0.1]
    if not outside:
        return None
    strongest = max(outside, key=lambda s: s.weight)
    return Signal("repeat", 0.9, f"warned already, again {strongest.name}: {strongest.detail}")


_NOT_LETTER = re.compile(r"[\W\d_]+")


def fingerprint(normalised_text: str) -> str:
    """A short stable key for "the same text": only letters count, so changed digits,
    spacing and punctuation (a new phone number, an extra emoji) keep the key."""
    letters = _NOT_LETTER.sub("", normalised_text)
    return hashlib.blake2b(letters.encode("utf-8"), digest_size=8).hexdigest()


Check = Callable[[Evidence, DetectPolicy], Signal | None]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("link", check_link),
    ("mention", check_mention),
    ("contact-handle", check_contact_handle),
    ("dm-request", check_dm_request),
    ("profile-bait", check_profile_bait),
    ("ad-words", check_ad_words),
    ("display-name", check_display_name),
    ("channel-forward", check_channel_forward),
    ("buttons", check_buttons),
    ("newcomer-media", check_newcomer_media),
)
"""The checks of one message on its own; `FOLLOW_UPS` read their findings too."""

FollowUp = Callable[[Evidence, DetectPolicy, Sequence[Signal]], Signal | None]

FOLLOW_UPS: tuple[tuple[str, FollowUp], ...] = (
    ("spam-wave", check_spam_wave),
    ("repeat", check_repeat),
)
