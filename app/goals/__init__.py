"""Objectives, goals and alignment (docs/goals.md).

- `models`: objectives, goals, milestones, check-ins, stories, the plan's history, daily
  alignment snapshots
- `schemas` / `plan_schemas` / `views`: what the API takes and gives (plan; stories and
  history; alignment and reviews)
- `objectives`, `service` (goals), `checkpoints` (milestones, check-ins), `stories`: create,
  change, archive, delete, with validation that names the field and `by` (who did it)
- `history`: every change to the plan, recorded with it; `archive`: what is in use
- `alignment`, `forecast`: the maths of docs/goals.md §2, pure functions
- `series`: KPI series for many goals in a few queries; `evaluate`: goals as of a date;
  `scorecard`: objectives nested and rolled up
- `reviews`, `review_render`: the quarterly review as JSON, Markdown, HTML
- `snapshots`: the daily snapshot job; `config`: status thresholds; `examples`: docs/goals.md §4
- `router` (plan CRUD), `check_in_router`, `plan_router` (archiving, history, stories),
  `alignment_router` (scorecard, one goal, reviews)
"""
