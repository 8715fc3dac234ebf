"""Planning in the browser: the forms that write the plan, check-ins, manual KPIs and
stories, and the quarterly ritual's page. Their router is `app.web.planning.router`."""
