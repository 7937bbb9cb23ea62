"""The ad decision: facts about a message and its sender in, a `Verdict` with its reasons out.

Score. Every enabled signal i has a weight w_i in [0, 1]; the classifier gives a probability p,
scaled by the policy's classifier weight c. They are combined as independent evidence (noisy-or):

    score = 1 - (1 - c * p) * prod_i (1 - w_i)

so the score is in [0, 1], never falls when evidence is added, and one strong reason or several
weak ones can each carry a message over the threshold.

Two signals read the others' findings (`rules.signals.FOLLOW_UPS`): the same text in several
groups counts only with ad evidence or from an account with no history, never for small talk;
a warned sender who again points outside the group (link, contact, channel) is a repeat.

Thresholds. Admins and approved members are exempt. A newcomer (first messages, recently joined)
or a member with warnings is judged against the policy's newcomer threshold; a veteran (long clean
membership, many messages, no warnings) against the veteran threshold; everyone else against the
ordinary one. The flag threshold moves by the same amount. Score >= delete threshold: "delete";
>= flag threshold: "flag" (for an admin to review); otherwise "allow".

Promises: pure; no I/O, no clock (the caller computes the sender's ages); the verdict always
carries every reason that contributed, strongest first.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from rules.classifier import SpamClassifier
from rules.facts import (
    ALL_SIGNALS,
    Action,
    DetectPolicy,
    MessageFacts,
    SenderFacts,
    Signal,
    Verdict,
)
from rules.signals import CHECKS, FOLLOW_UPS, Evidence, fingerprint
from rules.text import Normalised, normalise

__all__ = [
    "ALL_SIGNALS",
    "MAX_INSPECT",
    "DetectPolicy",
    "MessageFacts",
    "SenderFacts",
    "Signal",
    "SpamClassifier",
    "Verdict",
    "decide",
    "fingerprint",
    "message_fingerprint",
    "normalise",
    "normalised_body",
    "sender_tier",
    "thresholds",
    "without_allowed",
]


# Only the start of a long message is read: ads show what they are early, and the cap bounds the
# time one message can take. Links and mentions from the message's entities are read in full.
MAX_INSPECT = 500


def _body(facts: MessageFacts) -> str:
    if facts.text and facts.caption:
        return (facts.text[:MAX_INSPECT] + "\n" + facts.caption)[:MAX_INSPECT]
    return (facts.text or facts.caption)[:MAX_INSPECT]


def normalised_body(facts: MessageFacts) -> Normalised:
    """The message's text and caption as the checks read them (normalised once per message: pass
    it on to `decide` and `message_fingerprint`)."""
    return normalise(_body(facts))


def message_fingerprint(facts: MessageFacts, body: Normalised | None = None) -> str:
    """The fingerprint of a message's text and caption, for counting a cross-group wave."""
    return fingerprint((body if body is not None else normalised_body(facts)).text)


MIN_ALLOWED = 4  # shorter terms would hide too much of any message


def allowed_term(word: str) -> str | None:
    """How an allowed contact or link is kept: lower case, without "@" or a scheme; None when
    it is too short to allow safely."""
    term = word.strip().lower().removeprefix("https://").removeprefix("http://").lstrip("@")
    return term if len(term) >= MIN_ALLOWED else None


def without_allowed(facts: MessageFacts, terms: frozenset[str]) -> MessageFacts:
    """The message with the club's own contacts and links taken out (they are no ad); the same
    object when none occurs.

    A term is taken out only as a whole ("gzcar2024" leaves "gzcar20245" alone, "t.me/club"
    leaves "t.me/club_deals"); a number also when written in groups ("138 0013 8000")."""
    if not terms:
        return facts
    lowered = (facts.text + "\n" + facts.caption).lower()
    digits = _NUMBER_GAPS.sub("", lowered)
    present = [
        t
        for t in terms
        if t in lowered
        or (t.lstrip("+").isdigit() and t in digits)
        or any(t in u.lower() for u in facts.entity_urls)
    ]
    if not present:
        return facts
    pattern = re.compile(
        "|".join(_whole(t) for t in sorted(present, key=len, reverse=True)), re.IGNORECASE
    )
    if not pattern.search(lowered) and not any(pattern.search(u) for u in facts.entity_urls):
        return facts
    return replace(
        facts,
        text=pattern.sub(" ", facts.text),
        caption=pattern.sub(" ", facts.caption),
        entity_urls=tuple(u for u in facts.entity_urls if not pattern.search(u)),
        mentions=tuple(m for m in facts.mentions if not pattern.search(m)),
    )


_NUMBER_GAPS = re.compile(r"(?<=\d)[\s.-](?=\d)")


def _whole(term: str) -> str:
    """A term as a whole word: no letter or digit right before or after it; a number's digits
    may be grouped with spaces, dots or dashes."""
    if term.lstrip("+").isdigit():
        body = r"[\s.-]?".join(re.escape(ch) for ch in term)
    else:
        body = re.escape(term)
    before = r"(?<![a-z0-9_])" if term[0].isalnum() else ""
    after = r"(?![a-z0-9_])" if term[-1].isalnum() else ""
    return before + body + after


@lru_cache(maxsize=8192)
def _normalised_name(name: str) -> Normalised:
    """Display names repeat with every message of their sender: normalised once each."""
    return normalise(name)


def sender_tier(sender: SenderFacts, policy: DetectPolicy) -> str:
    """ "newcomer", "veteran" or "member": which threshold the sender is judged against."""
    recent = (
        sender.joined_seconds_ago is not None
        and sender.joined_seconds_ago < policy.newcomer_window_seconds
    )
    if sender.messages_seen < policy.newcomer_messages or recent or sender.warnings > 0:
        return "newcomer"
    if sender.days_clean >= policy.veteran_days and sender.messages_seen >= policy.veteran_messages:
        return "veteran"
    return "member"


def thresholds(tier: str, policy: DetectPolicy) -> tuple[float, float]:
    """(flag, delete) thresholds for a sender tier."""
    if tier == "newcomer":
        delete = policy.newcomer_delete_threshold
    elif tier == "veteran":
        delete = policy.veteran_delete_threshold
    else:
        delete = policy.delete_threshold
    flag = min(delete, max(0.0, policy.flag_threshold + delete - policy.delete_threshold))
    return flag, delete


def decide(
    facts: MessageFacts,
    sender: SenderFacts,
    policy: DetectPolicy,
    classifier: SpamClassifier | None,
    same_text_groups: int = 0,
    *,
    same_text_senders: int = 1,
    body: Normalised | None = None,
) -> Verdict:
    """Decide whether a message is an ad; see the module docstring for the formula.

    `same_text_groups` and `same_text_senders`: how many of the owner's groups, and how many
    accounts there, posted the same text lately (this message included). `body` is
    `normalised_body(facts)` when the caller already has it.
    """
    if sender.is_admin:
        return Verdict("allow", 0.0, None, (Signal("exempt", 0.0, "admin"),))
    if sender.is_approved:
        return Verdict("allow", 0.0, None, (Signal("exempt", 0.0, "approved member"),))
    allowed = without_allowed(facts, policy.allowed_terms)
    if allowed is not facts:
        facts, body = allowed, None

    tier = sender_tier(sender, policy)
    if body is None:
        body = normalised_body(facts)
    name = _normalised_name(facts.sender_name) if facts.sender_name else _EMPTY
    evidence = Evidence(
        message=facts,
        body=body,
        name=name,
        newcomer=tier == "newcomer",
        same_text_groups=same_text_groups,
        same_text_senders=same_text_senders,
        history=sender.messages_seen + sender.messages_elsewhere,
        warned=sender.warnings > 0,
    )
    enabled = policy.enabled_signals
    reasons = _signals(evidence, policy)
    probability: float | None = None
    if classifier is not None and "classifier" in enabled and body.text:
        probability = classifier.probability(body.text, normalised=True)
        share = min(1.0, max(0.0, policy.classifier_weight)) * probability
        reasons.append(Signal("classifier", round(share, 3), f"{probability:.2f}"))

    rest = 1.0
    for r in reasons:
        rest *= 1.0 - r.weight
    score = 1.0 - rest
    reasons.sort(key=lambda r: -r.weight)

    flag, delete = thresholds(tier, policy)
    action: Action = "allow"
    if score >= delete:
        action = "delete"
    elif score >= flag:
        action = "flag"
    return Verdict(action, round(score, 4), probability, tuple(reasons))


def _signals(evidence: Evidence, policy: DetectPolicy) -> list[Signal]:
    """Every enabled check's finding; then the follow-ups, which read those findings (the same
    text elsewhere, a warned sender: what they mean depends on what the message holds)."""
    enabled = policy.enabled_signals
    reasons: list[Signal] = []
    for signal_name, check in CHECKS:
        if signal_name in enabled:
            found = check(evidence, policy)
            if found is not None:
                reasons.append(found)
    alone = tuple(reasons)
    for signal_name, follow_up in FOLLOW_UPS:
        if signal_name in enabled:
            found = follow_up(evidence, policy, alone)
            if found is not None:
                reasons.append(found)
    return reasons


_EMPTY = Normalised(raw="", folded="", folded_index=(), text="", text_index=())
