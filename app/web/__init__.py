"""The small read-only scorecard page, for people who want no BI tool at all."""
