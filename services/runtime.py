"""The runtime services every workflow shares, built complete at start and passed down.

`Runtime` is assembled once by `bot.app` (or by the command line, without Telegram) and never
filled in later. Services and handlers take it explicitly; nothing here lives at module level.
What services need of Telegram besides the outbox (reading a group's admins or member count) is
the `TelegramReads` protocol, which `bot` implements over the Bot API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.health import TierRules
from services.activity import ActivityBuffer
from services.authority import Authority
from services.detector import Detector
from services.state import StateCache
from services.telegram import TelegramReads
from storage.db import SessionFactory
from storage.models import Alliance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """What the workflows need of the deployment's settings."""

    bot_id: int
    default_language: str = "zh-CN"
    tier_rules: TierRules = field(default_factory=TierRules)
    unauthorised_groups: str = "leave"  # leave | approve
    report_delay: float = 5.0  # seconds from a blacklisting to the owners' report
    retrain_delay: float = 10.0  # seconds from a labeled message to retraining (debounced)


class Alliances:
    """Who owns which alliance. Loaded at start; reloaded when an alliance changes."""

    def __init__(self, alliances: Iterable[Alliance] = ()) -> None:
        self._owned: dict[int, frozenset[int]] = {}
        self._zones: dict[int, str] = {}
        self.load(alliances)

    def load(self, alliances: Iterable[Alliance]) -> None:
        owned: dict[int, set[int]] = {}
        for alliance in alliances:
            self._zones[alliance.id] = alliance.timezone
            for owner in alliance.owner_ids:
                owned.setdefault(int(owner), set()).add(alliance.id)
        self._owned = {user: frozenset(ids) for user, ids in owned.items()}

    def owned_by(self, user_id: int | None) -> frozenset[int]:
        """The alliances `user_id` owns (empty for everyone else)."""
        return self._owned.get(user_id, frozenset()) if user_id is not None else frozenset()

    def is_owner(self, user_id: int | None, alliance_id: int | None = None) -> bool:
        owned = self.owned_by(user_id)
        return bool(owned) if alliance_id is None else alliance_id in owned

    def owners_of(self, alliance_id: int) -> set[int]:
        return {user for user, ids in self._owned.items() if alliance_id in ids}

    @property
    def owners(self) -> Mapping[int, frozenset[int]]:
        return self._owned

    @property
    def ids(self) -> list[int]:
        return sorted({a for ids in self._owned.values() for a in ids} | set(self._zones))


@dataclass(frozen=True)
class Runtime:
    options: Options
    sessions: SessionFactory
    alliances: Alliances
    state: StateCache
    authority: Authority
    activity: ActivityBuffer
    detector: Detector
    telegram: TelegramReads
