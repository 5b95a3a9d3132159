"""bench/run's code, run for real at tiny counts (``bench/run --smoke``: its own dovecot and PostgreSQL, every bench
child process): the table must have every row, each with figures and a verdict. No timing is asserted — the figures
of a smoke run mean nothing; the bench itself is not part of the test command (README, "Benchmarks")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import find_postgres_bindir
from tests.servers import find_dovecot, in_ci

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

ROWS = (
    "ingest IMAP -> SQLite, ",
    "ingest Maildir -> SQLite, ",
    "ingest IMAP -> PostgreSQL, ",
    "ingest CPU a mail at ",
    "ingest peak RSS, ",
    "tick CPU, ",
    "tick peak RSS ",
    "tick CPU a due record",
    "start-up: mailbot --help",
    "start-up: mailbot parse-subject",
    "IDLE: APPEND -> recorded",
    "hostile mail ",
)


def test_bench_run_smoke_prints_every_row() -> None:
    servers = (("dovecot", find_dovecot()), ("PostgreSQL", find_postgres_bindir()))
    missing = [what for what, found in servers if not found]
    if missing:
        if in_ci():
            pytest.fail(f"{' and '.join(missing)} not installed — CI=true, so integration tests may not be skipped")
        pytest.skip(f"{' and '.join(missing)} not installed")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("iro-mailbot bench (SMOKE RUN"), lines[:2]
    for start in ROWS:
        row = next((line for line in lines if line.startswith(start)), None)
        assert row is not None, f"no row {start!r} in:\n{done.stdout}"
        measured = row[len(start):]
        assert re.search(r"\d", measured), row
        assert re.search(r"\s(met|MISSED: [\d.]+x (short|over))$", row) or row.endswith("MISSED"), row
    assert re.search(r"^\d+ of \d+ goals met; the run took \d+ s$", done.stdout, re.MULTILINE), done.stdout
