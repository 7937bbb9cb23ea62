"""Who may bring the bot into a group, and what a change of the bot's own membership means."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Admission(StrEnum):
    JOIN = "join"  # the group joins the adder's alliance
    AWAIT_APPROVAL = "await_approval"  # an owner must approve first
    LEAVE = "leave"  # not authorised: say so and leave


@dataclass(frozen=True)
class BotAdded:
    adder_id: int
    owner_ids: frozenset[int]
    unauthorised_policy: str  # "leave" | "approve"


def decide_admission(event: BotAdded) -> Admission:
    """An owner's group joins at once; anyone else's waits for approval or is left."""
    if event.adder_id in event.owner_ids:
        return Admission.JOIN
    if event.unauthorised_policy == "approve":
        return Admission.AWAIT_APPROVAL
    return Admission.LEAVE


ACTIVE_STATUSES = frozenset({"member", "administrator", "creator", "restricted"})


def is_present(status: str) -> bool:
    """Whether a ChatMember status means the account is in the chat."""
    return status in ACTIVE_STATUSES
