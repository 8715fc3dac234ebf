"""A `northstar` command SIGKILLed at a chosen moment, for the sync fault suite.

A `FreezePoint` says where: once a stream has stored its first page (its run still open),
or inside the KPI rebuild that ends a sync, after its first day run. The command writes a
marker file there and waits, so the test kills it at exactly that moment
(`kill_when_frozen`), whatever the machine's speed.

`WarmNorthstar` is one Python process, started once, with Northstar imported, that forks a
fresh process for each command: the command is `app.cli.main`, as `northstar` runs it, in
a process of its own with its own database connections, and the suite pays the
interpreter's start-up once rather than once per kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

    from app.ingest.runner import ProgressCallback, StreamProgress

KPI_REBUILD = "kpi_rebuild"
# The rebuild sums its day runs one by one: after the first, that run's rollups are rewritten
# in the open transaction and the others are not, which is the middle of the rebuild.
FREEZE_IN_REBUILD_AFTER_DAY_RUNS = 1
FROZEN_FOR_SECONDS = 120.0  # a frozen command nobody kills gives up and says so
FROZEN_EXIT_CODE = 86


@dataclass(frozen=True, slots=True)
class FreezePoint:
    """Once `stream` has stored `pages` pages, or (`KPI_REBUILD`) inside the KPI rebuild."""

    stream: str
    pages: int = 1

    def __str__(self) -> str:
        if self.stream == KPI_REBUILD:
            return "the KPI rebuild"
        return f"page {self.pages} of {self.stream}"


class NeverFroze(AssertionError):
    """The command ended (or hung elsewhere) without reaching its freeze point."""


class WarmNorthstar:
    """The forking process (see the module's docstring). Use as a context manager."""

    def __init__(self) -> None:
        # Its stderr is only written when it fails to start: a pipe cannot fill up.
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> WarmNorthstar:
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)

    def _ask(self, **request: Any) -> int:
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            answer = self._process.stdout.readline()
        except BrokenPipeError:
            answer = ""
        if not answer:
            assert self._process.stderr is not None
            code = self._process.wait(timeout=30)
            problem = self._process.stderr.read()[-3000:]
            raise RuntimeError(f"the warm northstar process ended ({code}):\n{problem}")
        return int(answer)

    def start(
        self, point: FreezePoint, args: Sequence[str], env: Mapping[str, str], workdir: Path
    ) -> int:
        """Fork `northstar <args>` frozen at `point`, in `workdir`; returns its process id."""
        return self._ask(
            do="fork",
            stream=point.stream,
            pages=point.pages,
            args=list(args),
            env=dict(env),
            workdir=str(workdir),
        )

    def reap(self, pid: int) -> int:
        """Wait for a forked command to end; its exit code (negative: killed by that signal)."""
        return self._ask(do="reap", pid=pid)


def kill_when_frozen(
    northstar: WarmNorthstar,
    point: FreezePoint,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    workdir: Path,
    give_up_after: float = 90.0,
) -> None:
    """Run `northstar <args>` until it reaches `point`, then SIGKILL it.

    Raises NeverFroze, with the end of the command's output, when it ends first.
    """
    marker, ended, output = _files(workdir)
    for path in (marker, ended):
        path.unlink(missing_ok=True)
    pid = northstar.start(point, args, env, workdir)
    problem = None
    try:
        deadline = time.monotonic() + give_up_after
        while not marker.exists():
            if ended.exists() or time.monotonic() > deadline:
                problem = f"northstar {' '.join(args)} never reached {point}"
                break
            time.sleep(0.01)
    finally:
        os.kill(pid, signal.SIGKILL)  # unreaped, the pid cannot belong to anyone else yet
        code = northstar.reap(pid)
    if problem is None and code != -signal.SIGKILL:
        problem = f"northstar {' '.join(args)} was not killed at {point}"
    if problem is not None:
        tail = output.read_text(errors="replace")[-3000:] if output.exists() else ""
        raise NeverFroze(f"{problem} (exit code {code}). Its output ends:\n{tail}")


def _files(workdir: Path) -> tuple[Path, Path, Path]:
    """The marker written when frozen, the one written on ending, and the output."""
    return workdir / "northstar.frozen", workdir / "northstar.ended", workdir / "northstar.out"


# ---- inside the forked command -------------------------------------------------------------


def _freeze(marker: Path, where: str) -> None:
    partial = marker.with_suffix(".partial")
    partial.write_text(where)
    partial.rename(marker)  # appears whole: the test never reads half a marker
    time.sleep(FROZEN_FOR_SECONDS)
    os._exit(FROZEN_EXIT_CODE)


def _freeze_after_pages(stream: str, pages: int, marker: Path) -> None:
    """Freeze in the progress callback, which the runner calls after each stored page."""
    import app.progress

    show_progress = app.progress.sync_progress

    @contextmanager
    def progress_then_freeze(console: Console) -> Iterator[ProgressCallback]:
        with show_progress(console) as update:

            def update_then_freeze(state: StreamProgress) -> None:
                update(state)
                if state.stream == stream and state.pages >= pages:
                    _freeze(marker, f"{stream} after page {state.pages}")

            yield update_then_freeze

    patched: Callable[[Console], AbstractContextManager[ProgressCallback]] = progress_then_freeze
    app.progress.sync_progress = patched  # type: ignore[assignment]


def _freeze_in_kpi_rebuild(marker: Path) -> None:
    """Freeze in the rollups' summing of a day run, which the rebuild calls once per run."""
    import app.kpis.rollup

    rollup: Any = app.kpis.rollup  # its own reference to `day_sums.sum_days` is the one used
    sum_days = rollup.sum_days
    day_runs = 0

    def sum_then_freeze(*args: Any, **kwargs: Any) -> Any:
        nonlocal day_runs
        if day_runs == FREEZE_IN_REBUILD_AFTER_DAY_RUNS:
            _freeze(marker, f"KPI rebuild after {day_runs} day run(s)")
        day_runs += 1
        return sum_days(*args, **kwargs)

    rollup.sum_days = sum_then_freeze


def _run_frozen(request: dict[str, Any]) -> NoReturn:
    workdir = Path(request["workdir"])
    marker, ended, output = _files(workdir)
    code = 70
    try:
        out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(request["env"])
        if request["stream"] == KPI_REBUILD:
            _freeze_in_kpi_rebuild(marker)
        else:
            _freeze_after_pages(request["stream"], request["pages"], marker)
        from app.cli import main

        code = main(request["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        ended.write_text(str(code))
        os._exit(code)


def serve_forks() -> None:
    """The warm process: import Northstar and its connectors, then fork on request."""
    # Imported for their cost, paid here once rather than in every command.
    import app.api.context
    import app.cli
    import app.kpis.rollup
    import app.progress  # noqa: F401
    from app.ingest.registry import registry

    registry.all()
    for line in sys.stdin:
        request = json.loads(line)
        if request["do"] == "fork":
            sys.stdout.flush()
            answer = os.fork()
            if answer == 0:
                _run_frozen(request)
        else:
            _, status = os.waitpid(request["pid"], 0)
            answer = os.waitstatus_to_exitcode(status)
        print(answer, flush=True)


if __name__ == "__main__":
    # Run as a script, the tests folder comes first on the path, and its `app` test package
    # would shadow Northstar's.
    tests = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != tests]
    serve_forks()
