"""What a running service holds: settings, database, cipher, runner and (maybe) scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import Database
from app.goals.snapshots import snapshot_job
from app.ingest.runner import SyncRunner, TransportResolver
from app.ingest.sandbox import sandbox_transport
from app.ingest.scheduler import SyncScheduler
from app.security.crypto import CredentialCipher, cipher_from_settings
from app.settings import Settings


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    cipher: CredentialCipher
    runner: SyncRunner
    scheduler: SyncScheduler | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        db: Database | None = None,
        transports: TransportResolver | None = None,
    ) -> ServiceContext:
        db = db or Database(settings.database_url)
        cipher = cipher_from_settings(settings)
        # Sandbox sources are served by their connector's simulator, in-process.
        runner = SyncRunner(db, settings, cipher, transports=transports or sandbox_transport)
        return cls(settings=settings, db=db, cipher=cipher, runner=runner)

    def make_scheduler(self) -> SyncScheduler:
        self.scheduler = SyncScheduler(
            self.db,
            self.runner,
            tick_seconds=self.settings.scheduler_tick_seconds,
            extra_jobs=[snapshot_job(self.db, self.settings)],
        )
        return self.scheduler
