"""The club's own contacts and links (handles, invite links, messenger ids), which are never an
ad: a group's list (its admins keep it) and an alliance's (its owners keep it). The alliance's
owners' and admins' @usernames and its public groups count without being listed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.detect import allowed_term
from services.uow import UnitOfWork
from storage.models import Alliance, Chat
from storage.policy import AlliancePolicy, GroupPolicy

MAX_TERMS = 200
MAX_TERM_LENGTH = 100  # characters: longer than any handle, invite link or messenger id


@dataclass(frozen=True)
class Change:
    added: list[str]
    removed: list[str]
    too_short: list[str]  # words too short to allow safely
    too_long: list[str]  # words longer than any contact or link
    full: bool  # the list holds MAX_TERMS already
    listed: list[str]  # the list as it is now


def _changed(
    current: list[str], add: Sequence[str], remove: Sequence[str]
) -> tuple[list[str], Change]:
    listed = list(current)
    added, removed, short, long = [], [], [], []
    for word in add:
        term = allowed_term(word)
        if term is None:
            short.append(word)
        elif len(term) > MAX_TERM_LENGTH:
            long.append(word)
        elif term not in listed and len(listed) < MAX_TERMS:
            listed.append(term)
            added.append(term)
    for word in remove:
        term = allowed_term(word) or word.strip().lower()
        if term in listed:
            listed.remove(term)
            removed.append(term)
    full = len(listed) >= MAX_TERMS and len(added) < len(add) - len(short) - len(long)
    return listed, Change(added, removed, short, long, full, listed)


async def change_group(
    uow: UnitOfWork, chat: Chat, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Change:
    row = await uow.session.get(Chat, chat.id)
    assert row is not None
    policy = GroupPolicy.load(row.policy)
    policy.allowed, change = _changed(policy.allowed, add, remove)
    if change.added or change.removed:
        row.policy = policy.model_dump()
    return change


async def change_alliance(
    uow: UnitOfWork, alliance: Alliance, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Change:
    policy = AlliancePolicy.load(alliance.policy)
    policy.allowed, change = _changed(policy.allowed, add, remove)
    if change.added or change.removed:
        alliance.policy = policy.model_dump()
    return change
