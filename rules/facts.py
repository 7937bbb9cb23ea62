"""Plain facts in, plain verdicts out: the data the ad detector reads and returns.

Every value here is a frozen dataclass holding only builtin types, so a handler can build it
from an update and storage, and the audit log can store a verdict as it is. Nothing here knows
Telegram or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ALL_SIGNALS",
    "Action",
    "DetectPolicy",
    "MessageFacts",
    "SenderFacts",
    "Signal",
    "Verdict",
]

Action = Literal["allow", "flag", "delete"]

ALL_SIGNALS: frozenset[str] = frozenset(
    {
        "link",
        "mention",
        "contact-handle",
        "dm-request",
        "profile-bait",
        "ad-words",
        "display-name",
        "channel-forward",
        "buttons",
        "newcomer-media",
        "spam-wave",
        "repeat",
        "classifier",
    }
)


@dataclass(frozen=True, slots=True)
class Signal:
    """One named reason. `weight` in [0, 1] is how strongly it alone points to an ad."""

    name: str
    weight: float
    detail: str

    def render(self) -> str:
        return f"{self.name}: {self.detail}" if self.detail else self.name


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What the message says and how it arrived."""

    text: str = ""
    caption: str = ""
    entity_urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    has_buttons: bool = False
    forwarded_from_channel: bool = False
    has_media: bool = False
    sender_name: str = ""
    chat_id: int = 0


@dataclass(frozen=True, slots=True)
class SenderFacts:
    """What the group knows about the sender, computed by the caller at the message's time."""

    is_admin: bool = False
    is_approved: bool = False
    messages_seen: int = 0
    """Messages the sender had posted in the group before this one."""
    days_clean: float = 0.0
    """Days of membership without a warning."""
    joined_seconds_ago: float | None = None
    """None when the join time is unknown (the member predates the bot)."""
    warnings: int = 0
    messages_elsewhere: int = 0
    """Messages the sender had posted in the alliance's other groups (read when it matters:
    a text seen in several groups)."""


@dataclass(frozen=True, slots=True)
class DetectPolicy:
    """A group's ad policy. Thresholds apply to the combined score in [0, 1].

    A newcomer (fewer than `newcomer_messages` messages, or joined within
    `newcomer_window_seconds`) is judged against `newcomer_delete_threshold`; a veteran (at least
    `veteran_days` clean days and `veteran_messages` messages, no warnings) against
    `veteran_delete_threshold`; everyone else against `delete_threshold`. The flag threshold moves
    by the same amount as the delete threshold.

    The default thresholds are one setting for every group and language, never one per data set;
    bench/detect.py reports, for each labelled set, the threshold a nested cross-validation would
    choose there and the figures at this default.
    """

    delete_threshold: float = 0.9
    flag_threshold: float = 0.6
    newcomer_delete_threshold: float = 0.8
    veteran_delete_threshold: float = 0.97
    newcomer_messages: int = 3
    newcomer_window_seconds: float = 3 * 86400.0
    veteran_days: float = 30.0
    veteran_messages: int = 50
    allowed_domains: frozenset[str] = frozenset()
    allowed_mentions: frozenset[str] = frozenset()
    # the club's own contacts and links (handles, group links, messenger ids), lower case:
    # removed from a message before it is judged (`rules.detect.without_allowed`)
    allowed_terms: frozenset[str] = frozenset()
    classifier_weight: float = 1.0
    enabled_signals: frozenset[str] = field(default_factory=lambda: ALL_SIGNALS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one message, with every reason that contributed to it."""

    action: Action
    score: float
    probability: float | None
    reasons: tuple[Signal, ...]

    def explain(self) -> str:
        """One line for admins and the audit log, strongest reason first."""
        parts = [r.render() for r in self.reasons if r.name != "classifier"]
        if self.probability is not None:
            parts.append(f"classifier {self.probability:.2f}")
        return "; ".join(parts) if parts else "no signal"
