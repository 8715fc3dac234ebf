"""OData v4 feed for Power BI and Excel: read-only entity sets over the KPI rollups and
the canonical facts, with `$filter`, `$select`, `$orderby`, `$top`, `$skip`, `$count` and
server-driven paging. Mounted at `/odata` by `app.main`."""
