"""Issue 16: every shell example of README.md and docs/bi.md works when pasted against
`make demo`, whatever today's date is.

A demo-equivalent Northstar (both sandbox PSAs synced from the built-in simulators, the
example plan with its daily snapshots, an admin key) is served on a loopback port. Each
```sh / ```bash / ```shell block runs in bash as written, with the demo's address
(`http://127.0.0.1:8000`, or `https://northstar.example.com` in docs/bi.md) pointed at that
server, `$KEY` set to the admin key, and `northstar` run on the demo's database. Every
`curl` in a block is recorded: a block fails on a non-zero exit, an HTTP status of 400 or
more, or an empty answer (no body, `[]`, a CSV with only its header, a JSON list of
`values`/`rows`/`items`/`data` that is empty or has no value at all).

A block that is not meant to run against the demo (starting it, adding a real PSA) is
marked on the line before it with `<!-- readme-test: skip (the reason) -->`; it is reported
as a skipped test with that reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from live_server import serve_on_loopback

from app.api.context import ServiceContext
from app.demo import ensure_demo_sources, seed_demo_plan, sync_demo_sources
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/bi.md")
DEMO_ADDRESSES = ("http://127.0.0.1:8000", "https://northstar.example.com")
SHELLS = ("sh", "bash", "shell")
SKIP_MARK = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```\s*(?P<lang>[\w-]*)\s*$")
BLOCK_SECONDS = 60

# Defines `curl` for the block: the real curl, with each answer's status, type and body
# written down for the checks after the block; the body still goes where the block sends it.
RECORDING_CURL = r"""
set -euo pipefail
curl() {
  local n
  n=$(( $(cat "$CALLS/count" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$CALLS/count"
  command curl -sS -o "$CALLS/$n.body" \
    -w '%{http_code} %{method} %{url_effective} %{content_type}' "$@" > "$CALLS/$n.meta"
  cat "$CALLS/$n.body"
}
"""


@dataclass(frozen=True)
class Block:
    """One shell block of a document: where it starts, its text, and why it is skipped."""

    document: str
    line: int  # of the opening fence, 1 first
    text: str
    skip: str | None

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def shell_blocks(document: str) -> list[Block]:
    """The sh/bash/shell blocks of `document` (indented ones too), in order."""
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if opening["lang"] in SHELLS:
            body = textwrap.dedent("\n".join(lines[index + 1 : end]))
            blocks.append(Block(document, index + 1, body + "\n", _skip_reason(lines, index)))
        index = end + 1
    return blocks


def _skip_reason(lines: list[str], fence: int) -> str | None:
    """The reason of a skip mark on the last non-blank line before the fence."""
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    mark = SKIP_MARK.search(lines[before]) if before >= 0 else None
    return mark["reason"].strip() if mark else None


BLOCKS = [block for document in DOCUMENTS for block in shell_blocks(document)]


@dataclass
class Demo:
    base: str
    key: str
    env: dict[str, str]
    northstar: str  # the command that runs this checkout's CLI
    bash: str


def _northstar_command() -> str:
    script = Path(sys.executable).parent / "northstar"
    return str(script) if script.exists() else f"{sys.executable} -m app.cli"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """What `make demo` serves, on a loopback port, with SQLite in a temporary folder."""
    bash = shutil.which("bash")
    if shutil.which("curl") is None or bash is None:
        pytest.skip("the README's examples need curl and bash, and this machine lacks one")
    folder = tmp_path_factory.mktemp("readme-demo")
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{folder / 'northstar.db'}",
        "encryption_key": Fernet.generate_key().decode(),
        "dev_key_file": folder / "dev.key",
        "scheduler_enabled": False,
        "log_format": "json",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    from app.cli import migrate_database

    migrate_database(settings)
    context = ServiceContext.build(settings)
    sync_demo_sources(context, ensure_demo_sources(context))
    seed_demo_plan(context)
    with context.db.session() as session:
        key = create_api_key(session, name="demo admin", scope=KeyScope.ADMIN).key
    # The blocks get this shell's environment, as pasted ones would, but none of its
    # Northstar settings: the CLI in a block runs on the demo's database.
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("NORTHSTAR")},
        "HOME": str(folder),
        "KEY": key,
        "NORTHSTAR_DATABASE_URL": values["database_url"],
        "NORTHSTAR_ENCRYPTION_KEY": values["encryption_key"],
        "NORTHSTAR_DEV_KEY_FILE": str(values["dev_key_file"]),
        "NORTHSTAR_SCHEDULER_ENABLED": "false",
    }
    app = create_app(context=context, run_scheduler=False)
    try:
        with serve_on_loopback(app) as base:
            yield Demo(base=base, key=key, env=env, northstar=_northstar_command(), bash=bash)
    finally:
        context.db.dispose()


def as_run(block: Block, demo: Demo) -> str:
    """The block as it runs here: the demo's address and this checkout's CLI."""
    text = block.text
    for address in DEMO_ADDRESSES:
        text = text.replace(address, demo.base)
    text = text.replace(".venv/bin/northstar", demo.northstar)
    return re.sub(r"(?m)^(\s*)northstar ", rf"\1{demo.northstar} ", text)


@dataclass(frozen=True)
class Answer:
    status: int
    method: str
    url: str
    content_type: str
    body: bytes

    def __str__(self) -> str:
        text = self.body.decode("utf-8", "replace")
        return f"{self.method} {self.url} -> {self.status} {self.content_type}: {text[:400]}"


def recorded_answers(calls: Path) -> list[Answer]:
    count_file = calls / "count"
    count = int(count_file.read_text()) if count_file.exists() else 0
    answers = []
    for n in range(1, count + 1):
        meta = (calls / f"{n}.meta").read_text().split(" ", 3)
        status, method, url = meta[:3]
        content_type = meta[3] if len(meta) > 3 else ""
        body = (calls / f"{n}.body").read_bytes() if (calls / f"{n}.body").exists() else b""
        answers.append(Answer(int(status), method, url, content_type, body))
    return answers


def _without_values(items: Any) -> bool:
    """A list of KPI values or breakdown rows none of which has a value."""
    return (
        isinstance(items, list)
        and all(isinstance(item, dict) and "value" in item for item in items)
        and all(item["value"] is None for item in items)
    )


def emptiness(answer: Answer) -> str | None:
    """Why `answer` counts as empty, or None when it has something to read."""
    text = answer.body.decode("utf-8", "replace").strip()
    if not text:
        return "an empty body"
    if "csv" in answer.content_type:
        if len([line for line in text.splitlines() if line.strip()]) < 2:
            return "a CSV with only its header"
        return None
    if "json" not in answer.content_type:
        return None
    data = json.loads(text)
    if data in ([], {}):
        return f"an empty answer: {text}"
    if isinstance(data, dict):
        for name in ("values", "rows", "items", "data", "value"):
            if name in data and data[name] == []:
                return f"an empty `{name}` list"
            if name in ("values", "rows") and name in data and _without_values(data[name]):
                return f"no value in any of its `{name}`"
    return None


def run_block(block: Block, demo: Demo, folder: Path) -> tuple[str, list[Answer]]:
    calls = folder / "calls"
    calls.mkdir()
    result = subprocess.run(  # noqa: S603 - the documents' own examples, as a reader runs them
        [demo.bash, "-c", RECORDING_CURL + as_run(block, demo)],
        cwd=folder,
        env={**demo.env, "CALLS": str(calls)},
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.name} exited with {result.returncode}.\n"
        f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    )
    return result.stdout, recorded_answers(calls)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_the_example_works_on_the_demo(block: Block, demo: Demo, tmp_path: Path) -> None:
    if block.skip:
        pytest.skip(f"{block.name} is marked not to run against the demo: {block.skip}")
    assert " -o " not in block.text, f"{block.name}: write `> file`, the test records -o itself"

    stdout, answers = run_block(block, demo, tmp_path)

    for answer in answers:
        assert answer.status < 400, f"{block.name}: {answer}"
        empty = emptiness(answer)
        assert empty is None, f"{block.name} got {empty}: {answer}"
    if not answers:
        assert stdout.strip(), f"{block.name} printed nothing"


def test_the_documents_have_examples_that_run_and_say_why_others_do_not() -> None:
    """The checks above cover something, and a skip mark always gives its reason."""
    readme = [b for b in BLOCKS if b.document == "README.md"]
    assert sum(b.skip is None for b in readme) >= 5, [b.name for b in readme]
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        marks = re.findall(r"<!--\s*readme-test[^>]*-->", text)
        assert all(SKIP_MARK.fullmatch(mark) for mark in marks), marks
