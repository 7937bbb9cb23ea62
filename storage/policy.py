"""A group's policy: stored as JSON on the chat row, validated by pydantic on the way in and out.

Unknown keys are ignored and bad values fall back to defaults key by key, so one bad edit never
takes a group's moderation down. Only what was set is stored (`stored`): a key never set follows
the code's default, also when that default changes. `changed` is the one way to set keys: it
validates them all together and raises pydantic's ValidationError for a value it cannot use.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, model_validator

from rules.detect import allowed_term
from rules.facts import DetectPolicy

# detection strictness: (delete_threshold, flag_threshold); "normal" is the product default
STRICTNESS: dict[str, tuple[float, float]] = {
    "strict": (0.8, 0.5),
    "normal": (0.9, 0.6),
    "lenient": (0.97, 0.8),
}
MAX_APPROVED = 500


class GroupPolicy(BaseModel):
    model_config = {"extra": "ignore"}

    shadow_mode: bool = False
    warn_limit: int = Field(default=2, ge=1, le=10)
    warn_expiry_days: int = Field(default=30, ge=1, le=3650)
    warning_delete_after: int = Field(default=120, ge=0, le=86400)
    welcome_enabled: bool = True
    welcome_delete_after: int = Field(default=600, ge=0, le=86400)
    welcome_batch_seconds: float = Field(default=3.0, ge=0, le=60)
    rules_in_welcome: bool = True
    delete_threshold: float = Field(default=0.9, gt=0, le=1)
    flag_threshold: float = Field(default=0.6, gt=0, le=1)
    allowed_domains: list[str] = Field(default_factory=list)
    allowed_mentions: list[str] = Field(default_factory=list)
    # members exempt from the ad checks (/approve, /unapprove)
    approved_users: list[int] = Field(default_factory=list, max_length=MAX_APPROVED)
    # the group's own contacts and links (handles, invite links, messenger ids): never an ad
    allowed: list[str] = Field(default_factory=list)
    inviter_strike_limit: int = Field(default=3, ge=1, le=100)
    inviter_policy: Literal["report", "restrict", "blacklist"] = "report"

    def detect(self, allowed: frozenset[str] = frozenset()) -> DetectPolicy:
        """The detector's view of this policy; `allowed` adds the alliance's own contacts."""
        return DetectPolicy(
            delete_threshold=self.delete_threshold,
            flag_threshold=min(self.flag_threshold, self.delete_threshold),
            allowed_domains=frozenset(d.lower() for d in self.allowed_domains),
            allowed_mentions=frozenset(m.lower().lstrip("@") for m in self.allowed_mentions),
            allowed_terms=frozenset(t for t in map(allowed_term, self.allowed) if t is not None)
            | allowed,
        )

    @model_validator(mode="after")
    def _flag_not_above_delete(self, info: ValidationInfo) -> GroupPolicy:
        # checked when a value is set; a stored pair that disagrees is read as detect() reads
        # it (flagging at the deletion threshold), never refused on load
        setting = bool(info.context and info.context.get("setting"))
        if setting and self.flag_threshold > self.delete_threshold:
            raise ValueError("flag_threshold must not be above delete_threshold")
        return self

    @property
    def strictness(self) -> str | None:
        """The name of the thresholds' preset, or None when they were set one by one."""
        pair = (self.delete_threshold, self.flag_threshold)
        return next((name for name, preset in STRICTNESS.items() if preset == pair), None)

    def stored(self) -> dict[str, Any]:
        """What goes into the chat row: the keys that were set, not the defaults."""
        return self.model_dump(mode="json", exclude_unset=True)

    def changed(self, **values: Any) -> GroupPolicy:
        """This policy with `values` set, validated together (ValidationError: refused)."""
        return type(self).model_validate({**self.stored(), **values}, context={"setting": True})

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> GroupPolicy:
        raw = raw or {}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            return cls.model_validate({k: v for k, v in raw.items() if k not in bad})


class AlliancePolicy(BaseModel):
    """Settings of a whole alliance, stored as JSON on its row and read like a group's."""

    model_config = {"extra": "ignore"}

    # who may lift an admin's or an automatic blacklist entry besides the owners (an owner's or
    # an imported entry only an owner may lift): admins of the group it came from, admins of
    # any group of the alliance, or nobody but the owners
    unblacklist_by: Literal["source_admins", "any_admin", "owners"] = "source_admins"
    # the alliance's own contacts and links, allowed in every group (owners set them: /allow)
    allowed: list[str] = Field(default_factory=list)
    # the .env values (TIMEZONE, DEFAULT_LANGUAGE) the alliance's columns were last given at a
    # start: a column still equal to it was never set by a command and follows .env
    env_defaults: dict[str, str] = Field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> AlliancePolicy:
        try:
            return cls.model_validate(raw or {})
        except ValidationError:
            return cls()
