"""`northstar demo` / `make demo`: a working Northstar on the embedded defaults.

For now it prepares the database, prints an admin key and serves. The sandbox PSA sources
are added by the connector packages as they land.
"""

from __future__ import annotations

from rich.console import Console

from app.settings import Settings

console = Console(stderr=True)


def run_demo(settings: Settings, *, host: str | None, port: int | None, serve: bool) -> int:
    import uvicorn

    from app.api.context import ServiceContext
    from app.cli import migrate_database
    from app.main import create_app
    from app.security.apikeys import create_api_key
    from app.security.models import KeyScope

    migrate_database(settings)
    context = ServiceContext.build(settings)
    with context.db.session() as session:
        key = create_api_key(session, name="demo admin", scope=KeyScope.ADMIN)
    host = host or settings.host
    port = port or settings.port
    console.print(f"\n[bold]Northstar is ready.[/bold] Admin API key (shown once): {key.key}")
    console.print(f"  Health:   http://{host}:{port}/api/v1/health")
    console.print(f"  API docs: http://{host}:{port}/api/v1/docs")
    if not serve:
        return 0
    uvicorn.run(create_app(settings, context=context), host=host, port=port, log_config=None)
    return 0
