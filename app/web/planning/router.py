"""Every planning page and form, and the quarterly ritual's page, as one router (included
by app.web.router)."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.planning import (
    account_page,
    alert_pages,
    checkpoint_forms,
    goal_edit,
    goal_forms,
    kpi_forms,
    objective_forms,
    people_page,
    plan_page,
    review_page,
    story_forms,
)

router = APIRouter(include_in_schema=False)
for module in (
    plan_page,
    objective_forms,
    goal_forms,
    goal_edit,
    checkpoint_forms,
    kpi_forms,
    story_forms,
    review_page,
    alert_pages,
    people_page,
    account_page,
):
    router.include_router(module.router)
