"""Objectives, goals and alignment (docs/goals.md).

- `models`: objectives, goals, milestones, check-ins, daily alignment snapshots
- `schemas` / `views`: what the API takes and gives (plan; alignment and reviews)
- `service` (objectives, goals), `checkpoints` (milestones, check-ins): create, change,
  delete, with validation that names the field
- `alignment`, `forecast`: the maths of docs/goals.md §2, pure functions
- `series`: KPI series for many goals in a few queries; `evaluate`: goals as of a date;
  `scorecard`: objectives nested and rolled up
- `reviews`, `review_render`: the quarterly review as JSON, Markdown, HTML
- `snapshots`: the daily snapshot job; `config`: status thresholds; `examples`: docs/goals.md §4
- `router` (plan CRUD), `alignment_router` (scorecard, one goal, reviews)
"""
