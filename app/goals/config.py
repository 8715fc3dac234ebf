"""Alignment thresholds (docs/goals.md §2.4), from `NORTHSTAR_GOALS_*` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.goals.alignment import Thresholds


class GoalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NORTHSTAR_GOALS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    on_track_pace: float = Field(
        0.99, gt=0, description="Pace (progress ÷ expected) at or above which a goal is on track."
    )
    at_risk_pace: float = Field(0.80, gt=0, description="Pace at or above which it is at risk.")
    at_risk_margin: float = Field(
        0.10,
        ge=0,
        description="Threshold and band goals: at risk while outside by at most this share of "
        "the threshold or band width; off track beyond.",
    )

    def thresholds(self) -> Thresholds:
        return Thresholds(self.on_track_pace, self.at_risk_pace, self.at_risk_margin)


@lru_cache
def get_thresholds() -> Thresholds:
    return GoalSettings().thresholds()
