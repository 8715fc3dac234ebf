"""bi views: read-only SQL views for BI tools (PostgreSQL only)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 17:20:51.106179

The views are the stable, documented surface for Metabase, Grafana, Power BI, Tableau and
direct SQL (docs/bi.md); the tables behind them may change between releases. They are
created on PostgreSQL only: on SQLite this migration does nothing. `northstar bi
create-readonly-user` grants SELECT on every `bi_*` view and nothing else.

The SQL is written out here (not imported from the app) so this revision stays what it was
when it shipped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = """
    r.tickets_created, r.tickets_closed,
    r.response_met, r.response_decided, r.resolution_met, r.resolution_decided,
    r.response_hours_sum, r.response_count, r.resolution_hours_sum, r.resolution_count,
    r.csat_good, r.csat_count, r.csat_score_sum,
    r.time_entries, r.hours, r.utilization_hours, r.billable_hours, r.client_hours,
    100.0 * r.response_met / NULLIF(r.response_decided, 0) AS sla_response_pct,
    100.0 * r.resolution_met / NULLIF(r.resolution_decided, 0) AS sla_resolution_pct,
    r.response_hours_sum / NULLIF(r.response_count, 0) AS avg_response_hours,
    r.resolution_hours_sum / NULLIF(r.resolution_count, 0) AS avg_resolution_hours,
    100.0 * r.csat_good / NULLIF(r.csat_count, 0) AS csat_pct,
    100.0 * r.csat_score_sum / NULLIF(r.csat_count, 0) AS csat_avg
"""

VIEWS = {
    "bi_kpi_daily": f"""
SELECT r.source_id, s.name AS source, r.day, r.dim AS dimension, r.dim_value AS member,
{MEASURES}
FROM kpi_daily_rollups r JOIN sources s ON s.id = r.source_id
""",
    "bi_kpi_monthly": f"""
SELECT r.source_id, s.name AS source, r.day AS month, r.dim AS dimension,
    r.dim_value AS member,
{MEASURES}
FROM kpi_monthly_rollups r JOIN sources s ON s.id = r.source_id
""",
    "bi_goal_alignment": """
SELECT g.id AS goal_id, g.title AS goal, g.objective_id, o.title AS objective,
    g.kpi_key AS kpi, g.kind, g.target, g.low, g.high, g.start_date, g.due_date,
    g.evaluation_grain, g.weight,
    a.day AS snapshot_day, a.status, a.current_value, a.baseline, a.progress,
    a.progress_raw, a.expected_progress, a.pace, a.window_start, a.window_end, a.reason
FROM goals g
JOIN objectives o ON o.id = g.objective_id
LEFT JOIN LATERAL (
    SELECT * FROM goal_alignment_snapshots x
    WHERE x.goal_id = g.id ORDER BY x.day DESC LIMIT 1
) a ON true
""",
    "bi_clients": """
SELECT c.id, c.source_id, s.name AS source, c.external_id, c.name, c.active
FROM clients c JOIN sources s ON s.id = c.source_id
""",
    "bi_technicians": """
SELECT t.id, t.source_id, s.name AS source, t.external_id, t.name, t.email, t.active,
    t.included_in_utilization,
    t.capacity_mon, t.capacity_tue, t.capacity_wed, t.capacity_thu, t.capacity_fri,
    t.capacity_sat, t.capacity_sun,
    t.capacity_mon + t.capacity_tue + t.capacity_wed + t.capacity_thu + t.capacity_fri
        + t.capacity_sat + t.capacity_sun AS weekly_capacity_hours
FROM technicians t JOIN sources s ON s.id = t.source_id
""",
    "bi_tickets": """
SELECT t.id, t.source_id, s.name AS source, t.external_id, t.number, t.title,
    t.client_external_id, c.id AS client_id, c.name AS client,
    t.assignee_external_id, a.id AS technician_id, a.name AS technician,
    t.board, t.status, t.is_closed, t.priority, t.priority_level,
    t.created_at, t.first_response_at, t.resolved_at, t.closed_at,
    t.response_met, t.resolution_met, t.updated_at
FROM tickets t
JOIN sources s ON s.id = t.source_id
LEFT JOIN clients c ON c.source_id = t.source_id AND c.external_id = t.client_external_id
LEFT JOIN technicians a
    ON a.source_id = t.source_id AND a.external_id = t.assignee_external_id
""",
    "bi_time_entries": """
SELECT e.id, e.source_id, s.name AS source, e.external_id, e.work_date,
    e.technician_external_id, a.id AS technician_id, a.name AS technician,
    e.client_external_id, c.id AS client_id, c.name AS client,
    e.ticket_external_id, k.id AS ticket_id,
    e.hours, e.billable_hours, e.counts_toward_utilization
FROM time_entries e
JOIN sources s ON s.id = e.source_id
LEFT JOIN technicians a
    ON a.source_id = e.source_id AND a.external_id = e.technician_external_id
LEFT JOIN clients c ON c.source_id = e.source_id AND c.external_id = e.client_external_id
LEFT JOIN tickets k ON k.source_id = e.source_id AND k.external_id = e.ticket_external_id
""",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, body in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
