"""What a running service holds: settings, database, cipher, runner and (maybe) scheduler.

The API and the scheduler have a connection pool each (`db` and `sync_db`): requests by the
hundred queue for their own connections and never for the ones a sync needs, and a sync
never takes the connections requests are waiting for. Each pool is sized for what uses it,
so its users never wait for a connection (see `app.db.Database`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alerts.jobs import alerts_job
from app.db import Database
from app.goals.snapshots import snapshot_job
from app.ingest.runner import SyncRunner, TransportResolver
from app.ingest.sandbox import sandbox_transport
from app.ingest.scheduler import SyncScheduler
from app.security.apikeys import KEY_USES_INFO, KeyUseRecorder
from app.security.crypto import CredentialCipher, cipher_from_settings
from app.settings import Settings

# Sources the scheduler syncs at once (`SyncScheduler(max_parallel_sources=...)`).
PARALLEL_SOURCES = 4
# Connections a request may hold at once: its session, and one more where a route opens a
# session of its own beside it (a source check).
CONNECTIONS_PER_REQUEST = 2
# Connections of the scheduler's other jobs (the sources reconcile, goal snapshots, alerts).
SCHEDULER_OWN_CONNECTIONS = 3


def api_connections(settings: Settings) -> int:
    """Connections the API may hold at once: every request it works on at a time."""
    return settings.max_concurrent_requests * CONNECTIONS_PER_REQUEST


def scheduler_connections() -> int:
    """Connections the scheduler may hold at once: per source in sync its lock (PostgreSQL)
    and its session, and the other jobs'."""
    return PARALLEL_SOURCES * 2 + SCHEDULER_OWN_CONNECTIONS


@dataclass
class ServiceContext:
    settings: Settings
    db: Database  # the API's
    cipher: CredentialCipher
    runner: SyncRunner
    sync_db: Database  # the runner's and the scheduler's
    key_uses: KeyUseRecorder
    scheduler: SyncScheduler | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        db: Database | None = None,
        sync_db: Database | None = None,
        transports: TransportResolver | None = None,
    ) -> ServiceContext:
        """A context on `settings`. A `db` given is used by the runner too, unless a
        `sync_db` is given as well (tests pass the database they inspect)."""
        if db is None:
            db = Database(settings.database_url, connections=api_connections(settings))
            sync_db = sync_db or Database(
                settings.database_url, connections=scheduler_connections()
            )
        sync_db = sync_db or db
        cipher = cipher_from_settings(settings)
        # Sandbox sources are served by their connector's simulator, in-process.
        runner = SyncRunner(sync_db, settings, cipher, transports=transports or sandbox_transport)
        key_uses = KeyUseRecorder(db)
        db.session_info[KEY_USES_INFO] = key_uses
        return cls(
            settings=settings,
            db=db,
            cipher=cipher,
            runner=runner,
            sync_db=sync_db,
            key_uses=key_uses,
        )

    def make_scheduler(self) -> SyncScheduler:
        self.scheduler = SyncScheduler(
            self.sync_db,
            self.runner,
            tick_seconds=self.settings.scheduler_tick_seconds,
            max_parallel_sources=PARALLEL_SOURCES,
            extra_jobs=[
                snapshot_job(self.sync_db, self.settings),
                alerts_job(self.sync_db, self.settings, self.cipher),
            ],
        )
        return self.scheduler

    def stop(self) -> None:
        """At shutdown: write the API key uses still pending. The databases stay usable."""
        self.key_uses.stop()
