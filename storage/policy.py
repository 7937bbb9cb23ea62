"""A group's policy: stored as JSON on the chat row, validated by pydantic on the way in and out.

Unknown keys are ignored and bad values fall back to defaults key by key, so one bad edit never
takes a group's moderation down.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError


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
    approved_users: list[int] = Field(default_factory=list)
    inviter_strike_limit: int = Field(default=3, ge=1, le=100)
    inviter_policy: Literal["report", "restrict", "blacklist"] = "report"

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> GroupPolicy:
        raw = raw or {}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            return cls.model_validate({k: v for k, v in raw.items() if k not in bad})
