"""Getting PSA data in: connector registry, runner, sync runs and cursors, locks, scheduler."""
