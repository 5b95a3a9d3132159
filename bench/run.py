"""One bench command (issue 14): the bot's performance against its goals, as ratios measured in the same run.

    bench/run              # the full run: 10k mails, ticks at 1k and 100k open records (under 20 minutes)
    bench/run --quick      # smaller counts, said so in the table (under 2 minutes)
    bench/run --smoke      # tiny counts, still through the real servers: what tests/bench/test_bench_smoke.py runs

It generates the realistic mail set itself (bench/bench_mails.py, seeded), starts its own dovecot (IMAP + LMTP) and
PostgreSQL as the tests do (tests/servers.py, tests/postgres.py), runs every measured process as a child of its own
(bench/bench_child.py, or the ``mailbot`` command) and reads the child's CPU time and peak RSS from ``os.wait4``: CPU
time, not wall time, so other work on the machine changes little. Then it prints one table: each figure, its goal
from the issue, and whether it is met or by how much it is missed.

- ingest: the bot's mail loop (``App.poll_once`` until the mailbox is drained, in a process of its own, start-up
  and imports included) against the raw baseline (imapclient UID FETCH + ``email.message_from_bytes(policy=default)``
  + the body's text; for Maildir the same over the files) on the same mails: IMAP and Maildir into SQLite, IMAP into
  PostgreSQL; the cost per mail on a store with many open records against one with 100; peak RSS at the small and
  the large mailbox.
- tick: one ``Ticker.tick`` at a fixed moment on stores with ``due`` open records all due, and with many more open
  records of which the same number is due (bench/bench_records.py), CPU of the tick alone.
- start-up: ``mailbot --help`` and ``mailbot parse-subject …`` against ``python -c pass``, CPU, median of 5.
- IDLE: ``mailbot run`` on IMAP; each mail APPENDed, then the store polled for its Message-ID: the seconds from the
  APPEND's answer to the mail being recorded (wall time, the only figure here that is), p50/p95/max.
- hostile mails: every mail of tests/parsers/test_hostile_mail.py parsed once in a forked child (CPU, peak RSS over
  what it inherited); the worst shown, in the full run also as ratios to the stdlib (bench/hostile_mail.py).

``--profile DIR`` runs the large ingest and the large tick under cProfile (their figures are then inflated) and
prints their most expensive functions after the table.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import math
import os
import platform
import pstats
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_mails import DEFAULT_SEED, READ_AT, describe, mail_set  # noqa: E402
from bench_records import TICK_AT, build_open_background, build_open_records  # noqa: E402

from tests.botsetup import (  # noqa: E402
    COUNCIL_TOML,
    TRIAL_SECURITY_TOML,
    directory_people,
    directory_toml,
    imap_mailbox_toml,
)
from tests.mailfactory import BOT  # noqa: E402

CHILD = BENCH / "bench_child.py"
PASSWORD_ENV = "MAILBOT_BENCH_IMAP_PASSWORD"
SUBJECT = "Action - Level 1 escalation - Amelia Smith - MOSAIC 500001 - response by 08/12/2026"


@dataclass(frozen=True)
class Sizes:
    name: str
    mails: int  # the large mailbox
    small_mails: int  # the small one (peak RSS at both)
    due: int  # records due at the tick (= the open records of the small tick)
    open: int  # open records of the large tick
    grow_open: int  # open records before the "cost per mail as the store grows" ingest
    grow_mails: int  # mails of that ingest
    idle_mails: int
    startup_repeats: int
    hostile_worst: int  # how many of the worst hostile mails to show
    hostile_ratios: bool  # also run bench/hostile_mail.py's ratio to the stdlib for them

    @property
    def note(self) -> str:
        if self.name == "full":
            return "full run"
        return (f"{self.name.upper()} RUN, smaller counts than the issue's: {self.mails:,} mails (issue: 10,000), "
                f"{self.small_mails:,} for the small mailbox (1,000), ticks at {self.due:,} and {self.open:,} open "
                f"(1,000 and 100,000), {self.grow_open:,} open for the growth row (10,000), {self.idle_mails} IDLE "
                f"mails (50), start-up median of {self.startup_repeats} (5)")


FULL = Sizes("full", 10_000, 1_000, 1_000, 100_000, 10_000, 500, 50, 5, 3, True)
QUICK = Sizes("quick", 300, 100, 1_000, 10_000, 2_000, 100, 20, 3, 3, False)
SMOKE = Sizes("smoke", 12, 6, 3, 12, 20, 6, 2, 1, 1, False)


# ---- the table ------------------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    measured: str
    goal: str
    verdict: str
    details: list[str] = field(default_factory=list)
    short: str = ""  # how the notes under the table name the row (default: the figure up to its first ", ")


def at_least(value: float, goal: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return "met" if value >= goal else f"MISSED: {goal / value:.1f}x short" if value > 0 else "MISSED"


def at_most(value: float, goal: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return "met" if value <= goal else f"MISSED: {value / goal:.2f}x over"


def both(*verdicts: str) -> str:
    missed = [v for v in verdicts if v != "met"]
    return "; ".join(missed) if missed else "met"


def mb(value: float) -> str:
    return f"{value / 2**20:.0f} MB"


def print_table(rows: list[Row], out: Callable[[str], None]) -> None:
    widths = [max(len(r.figure) for r in rows), max(len(r.measured) for r in rows), max(len(r.goal) for r in rows)]
    head = ("figure", "measured", "goal", "result")
    line = f"{head[0]:<{widths[0]}}  {head[1]:<{widths[1]}}  {head[2]:<{widths[2]}}  {head[3]}"
    out(line)
    out("-" * len(line))
    for r in rows:
        out(f"{r.figure:<{widths[0]}}  {r.measured:<{widths[1]}}  {r.goal:<{widths[2]}}  {r.verdict}")
    notes = [(r.short or r.figure.split(", ")[0], d) for r in rows for d in r.details]
    if notes:
        out("")
        for name, detail in notes:
            out(f"  {name}: {detail}")


# ---- children -------------------------------------------------------------------------------------------------


@dataclass
class Child:
    result: dict[str, Any]
    cpu: float  # user + system seconds of the child alone (os.wait4)
    rss: int  # its peak RSS, bytes (its own VmHWM: ru_maxrss also counts the parent it was forked from)
    status: int


def run_process(argv: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None,
                stdout: int | None = subprocess.PIPE) -> tuple[bytes, float, int, int]:
    """Run ``argv`` to the end; its stdout, and from ``os.wait4`` its CPU seconds, ``ru_maxrss`` (bytes: the
    child's, or the parent's it was forked from if that was more) and status."""
    with open(log, "ab") as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=stdout, stderr=err, stdin=subprocess.DEVNULL,
                                env=env if env is not None else child_env())
        out = proc.stdout.read() if proc.stdout is not None else b""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        if proc.stdout is not None:
            proc.stdout.close()
    return out, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILBOT_CONFIG"}
    env[PASSWORD_ENV] = "secret"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(BENCH)])
    return env


def run_child(job: str, args: dict[str, Any], work: Path) -> Child:
    log = work / f"{job}.log"
    out, cpu, rss, status = run_process([sys.executable, str(CHILD), job, json.dumps(args)], cwd=work, log=log)
    if status != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"bench child {job} failed with status {status}:\n{tail}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Child(result, cpu, int(result.get("peak_rss") or rss), status)


# ---- configuration --------------------------------------------------------------------------------------------


def write_config(folder: Path, *, mailbox: str, store_url: str, dovecot: Any = None, user: str = "") -> Path:
    """A council's configuration: Dorset's policy, the example directory, trial security, mail out to a local folder,
    the mailbox on IMAP (``user`` at ``dovecot``) or in a Maildir, the store at ``store_url``."""
    folder.mkdir(parents=True, exist_ok=True)
    if mailbox == "imap":
        box = imap_mailbox_toml(dovecot, address=BOT, password_env=PASSWORD_ENV, username=user,
                                processed_folder="Processed", attention_folder="Needs attention")
    else:
        box = f'[mailbox]\ntransport = "maildir"\naddress = "{BOT}"\nmaildir = "{folder / "mailbox"}"\n'
    path = folder / "mailbot.toml"
    path.write_text(f"""{COUNCIL_TOML}
[policy]
preset = "dorset"

{box}
[mail_out]
transport = "maildir"
maildir = "{folder / 'sent'}"

[store]
url = "{store_url}"

{TRIAL_SECURITY_TOML}
{directory_toml(directory_people())}""", encoding="utf-8")
    return path


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bot.db'}"


def fill_imap(dovecot: Any, user: str, mails: list[bytes]) -> None:
    dovecot.add_user(user)
    client = dovecot.imap(user, timeout=120)
    try:
        for start in range(0, len(mails), 200):
            client.multiappend("INBOX", mails[start : start + 200])
    finally:
        client.logout()


def fill_maildir(folder: Path, mails: list[bytes]) -> None:
    from mailbot.transports.maildir import MaildirSource

    source = MaildirSource(folder)
    for raw in mails:
        source.drop(raw)


# ---- ingest -----------------------------------------------------------------------------------------------------


@dataclass
class Ingest:
    label: str
    mails: int
    cpu: float
    rss: int
    result: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.mails / self.cpu if self.cpu else float("nan")

    @property
    def loop_cost(self) -> float:
        """CPU per mail of the loop alone (start-up and imports left out)."""
        return self.result["cpu_loop"] / max(self.mails, 1)


def ingest(label: str, config: Path, work: Path, profile: Path | None = None) -> Ingest:
    args: dict[str, Any] = {"config": str(config), "now": READ_AT.isoformat()}
    if profile is not None:
        args["profile"] = str(profile)
    child = run_child("ingest", args, work)
    return Ingest(label, child.result["mails"], child.cpu, child.rss, child.result)


def baseline(job: str, args: dict[str, Any], work: Path) -> tuple[int, float]:
    child = run_child(job, args, work)
    return child.result["mails"], child.cpu


def ingest_rows(sizes: Sizes, seed: int, dovecot: Any, postgres: Any, work: Path, say: Callable[[str], None],
                profile: Path | None) -> tuple[list[Row], list[Path]]:
    rows: list[Row] = []
    profiles: list[Path] = []
    large = mail_set(sizes.mails, seed)
    small = mail_set(sizes.small_mails, seed + 1)
    say(f"mail set: {describe(large)}; small mailbox: {describe(small)}")

    # IMAP into SQLite: the raw baseline first (it only peeks; twice here, once more before the PostgreSQL run: the
    # median of three spread over the run), then the bot on the same mailbox
    folder = work / "imap-sqlite"
    fill_imap(dovecot, "large@example.test", large)

    def raw_imap_run(user: str) -> float:
        mails, cpu = baseline("baseline_imap", {"host": dovecot.host, "port": dovecot.imap_port, "user": user,
                                                "password": "secret"}, work)
        if mails != len(large):
            raise RuntimeError(f"the raw IMAP baseline read {mails} mails of {len(large)}")
        say(f"raw IMAP fetch + parse: {mails} mails, {cpu:.2f} s CPU")
        return cpu

    raw_imap_cpu = [raw_imap_run("large@example.test") for _ in range(2)]
    prof = profile / "ingest_imap_sqlite.prof" if profile else None
    if prof:
        profiles.append(prof)
    imap_sqlite = ingest("IMAP -> SQLite", write_config(folder, mailbox="imap", store_url=sqlite_url(folder),
                                                       dovecot=dovecot, user="large@example.test"), work, prof)
    say(f"bot IMAP -> SQLite: {imap_sqlite.mails} mails, {imap_sqlite.cpu:.1f} s CPU")

    # Maildir into SQLite
    folder = work / "maildir-sqlite"
    config = write_config(folder, mailbox="maildir", store_url=sqlite_url(folder))
    fill_maildir(folder / "mailbox", large)
    raw_maildir_cpu = [baseline("baseline_maildir", {"maildir": str(folder / "mailbox")}, work)[1]
                       for _ in range(1 if sizes.name == "smoke" else 3)]
    say(f"raw Maildir read + parse: {', '.join(f'{c:.2f}' for c in raw_maildir_cpu)} s CPU")
    maildir_sqlite = ingest("Maildir -> SQLite", config, work)
    say(f"bot Maildir -> SQLite: {maildir_sqlite.mails} mails, {maildir_sqlite.cpu:.1f} s CPU")

    # IMAP into PostgreSQL
    folder = work / "imap-postgres"
    fill_imap(dovecot, "pg@example.test", large)
    raw_imap_cpu.append(raw_imap_run("pg@example.test"))
    imap_pg = ingest("IMAP -> PostgreSQL", write_config(folder, mailbox="imap", store_url=postgres.create_database(),
                                                        dovecot=dovecot, user="pg@example.test"), work)
    say(f"bot IMAP -> PostgreSQL: {imap_pg.mails} mails, {imap_pg.cpu:.1f} s CPU")
    raw_imap = len(large) / statistics.median(raw_imap_cpu)
    raw_maildir = len(large) / statistics.median(raw_maildir_cpu)
    spread = {"raw IMAP": raw_imap_cpu, "raw Maildir": raw_maildir_cpu}

    # the small mailbox, for peak RSS
    folder = work / "imap-sqlite-small"
    fill_imap(dovecot, "small@example.test", small)
    imap_small = ingest("IMAP -> SQLite (small)", write_config(folder, mailbox="imap", store_url=sqlite_url(folder),
                                                              dovecot=dovecot, user="small@example.test"), work)
    say(f"bot IMAP -> SQLite, small mailbox: {imap_small.mails} mails, peak RSS {mb(imap_small.rss)}")

    for run, expected in ((imap_sqlite, len(large)), (maildir_sqlite, len(large)), (imap_pg, len(large)),
                          (imap_small, len(small))):
        if run.mails != expected:
            raise RuntimeError(f"{run.label}: the bot read {run.mails} mails of {expected}")

    n = f"{sizes.mails:,} mails"
    for run, raw, raw_label, goal in ((imap_sqlite, raw_imap, "raw IMAP", 1 / 3),
                                      (maildir_sqlite, raw_maildir, "raw Maildir", 1 / 3),
                                      (imap_pg, raw_imap, "raw IMAP", 1 / 4)):
        ratio = run.rate / raw
        goal_text = "1/3" if goal > 0.3 else "1/4"
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(run.result["outcomes"].items()))
        runs = spread[raw_label]
        rows.append(Row(f"ingest {run.label}, {n}: rate / {raw_label} fetch+parse",
                        f"{ratio:.3f}x ({run.rate:.0f} vs {raw:.0f} mails/CPU-s)", f">= {goal_text} ({goal:.3f}x)",
                        at_least(ratio, goal),
                        [f"{raw_label}: the median of {len(runs)} runs ({', '.join(f'{c:.2f}' for c in runs)} s CPU)",
                         f"{run.cpu:.1f} s CPU for {run.mails:,} mails ({run.loop_cost * 1e3:.1f} ms a mail in the "
                         f"loop, {run.result['statements'] / max(run.mails, 1):.1f} SQL statements a mail, "
                         f"{run.result['cpu_before']:.2f} s start-up before it); {run.result['open_records']:,} "
                         f"open records at the end; {outcomes}"]))
    per_mail = imap_sqlite.result["per_mail"]
    tenth = max(len(per_mail) // 10, 1)
    if len(per_mail) >= 20:  # medians: a mail that starts a batch also pays for fetching it
        second, last = statistics.median(per_mail[tenth : 2 * tenth]), statistics.median(per_mail[-tenth:])
        rows[0].details.append(f"CPU a mail (median), last tenth of the backlog / second tenth: {last / second:.2f}x "
                               f"({last * 1e3:.1f} vs {second * 1e3:.1f} ms)")

    grow = grow_row(sizes, seed, work, say)
    rows.append(grow)

    growth = imap_sqlite.rss / imap_small.rss
    rows.append(Row(f"ingest peak RSS, IMAP -> SQLite, {sizes.small_mails:,} / {sizes.mails:,} mails",
                    f"{mb(imap_small.rss)} / {mb(imap_sqlite.rss)} ({growth:.2f}x)", "<= 150 MB, <= 1.10x",
                    both(at_most(max(imap_small.rss, imap_sqlite.rss) / 2**20, 150), at_most(growth, 1.10)),
                    [f"Maildir -> SQLite {mb(maildir_sqlite.rss)}, IMAP -> PostgreSQL {mb(imap_pg.rss)} at "
                     f"{sizes.mails:,} mails"]))
    return rows, profiles


def grow_row(sizes: Sizes, seed: int, work: Path, say: Callable[[str], None]) -> Row:
    """The same mails into a store with 100 open records and into one with ``sizes.grow_open``: CPU per mail."""
    from mailbot.config import load_config
    from store.uow import Store

    mails = mail_set(sizes.grow_mails, seed + 2)
    runs = {}
    for count in (min(100, sizes.grow_open // 2), sizes.grow_open):
        folder = work / f"grow-{count}"
        config = write_config(folder, mailbox="maildir", store_url=sqlite_url(folder))
        store = Store(sqlite_url(folder))
        store.upgrade()
        build_open_background(load_config(config), store, count)
        store.dispose()
        fill_maildir(folder / "mailbox", mails)
        runs[count] = ingest(f"Maildir -> SQLite at {count} open", config, work)
        say(f"bot Maildir -> SQLite on {count:,} open records: {runs[count].loop_cost * 1e3:.1f} ms CPU a mail")
    low, high = sorted(runs)
    ratio = runs[high].loop_cost / runs[low].loop_cost
    statements = {k: r.result["statements"] / max(r.mails, 1) for k, r in runs.items()}
    return Row(f"ingest CPU a mail at {high:,} / {low:,} open records ({sizes.grow_mails} mails, Maildir -> SQLite)",
               f"{ratio:.2f}x ({runs[high].loop_cost * 1e3:.1f} vs {runs[low].loop_cost * 1e3:.1f} ms)",
               "the same (<= 1.20x)", at_most(ratio, 1.20),
               [f"the loop's CPU a mail, start-up left out; {statements[high]:.1f} vs {statements[low]:.1f} SQL "
                "statements a mail"], short="ingest as the store grows")


# ---- tick -------------------------------------------------------------------------------------------------------


def tick_rows(sizes: Sizes, work: Path, say: Callable[[str], None], profile: Path | None,
              ) -> tuple[list[Row], list[Path]]:
    from mailbot.config import load_config
    from store.uow import Store

    runs = {}
    profiles: list[Path] = []
    for count in (sizes.due, sizes.open):
        folder = work / f"tick-{count}"
        config = write_config(folder, mailbox="maildir", store_url=sqlite_url(folder))
        store = Store(sqlite_url(folder))
        store.upgrade()
        started = time.monotonic()
        build_open_records(load_config(config), store, open_count=count, due_count=sizes.due)
        store.dispose()
        say(f"tick store with {count:,} open records built in {time.monotonic() - started:.0f} s")
        args: dict[str, Any] = {"config": str(config), "now": TICK_AT.isoformat()}
        if profile is not None and count == sizes.open:
            args["profile"] = str(profile / "tick_large.prof")
            profiles.append(profile / "tick_large.prof")
        runs[count] = run_child("tick", args, work)
        r = runs[count].result
        say(f"tick at {count:,} open: {r['cpu_tick']:.2f} s CPU, {r['records_acted']} records acted on, "
            f"peak RSS {mb(runs[count].rss)}")
    small, large = runs[sizes.due], runs[sizes.open]
    ratio = large.result["cpu_tick"] / small.result["cpu_tick"]
    details = []
    for count, run in runs.items():
        r = run.result
        if r["records_acted"] != sizes.due:
            details.append(f"at {count:,} open, {r['records_acted']} records were acted on, not {sizes.due}")
        details.append(f"at {count:,} open: {r['cpu_tick']:.2f} s CPU, of which {r['cpu_render']:.2f} s rendering "
                       f"{r['renders']} mails; {r['statements']:,} SQL statements; actions "
                       + " ".join(f"{k}={v}" for k, v in sorted(r["kinds"].items())))
    per_due = (small.result["cpu_tick"] - small.result["cpu_render"]) / sizes.due
    rows = [
        Row(f"tick CPU, {sizes.open:,} open / {sizes.due:,} open, {sizes.due:,} due",
            f"{ratio:.2f}x ({large.result['cpu_tick']:.2f} vs {small.result['cpu_tick']:.2f} s)", "<= 2x",
            at_most(ratio, 2.0), details, short="tick"),
        Row(f"tick peak RSS at {sizes.due:,} / {sizes.open:,} open", f"{mb(small.rss)} / {mb(large.rss)}",
            "<= 200 MB", at_most(max(small.rss, large.rss) / 2**20, 200)),
        Row(f"tick CPU a due record, rendering left out ({sizes.due:,} open, all due)", f"{per_due * 1e3:.2f} ms",
            "<= 1 ms", at_most(per_due * 1e3, 1.0)),
    ]
    return rows, profiles


# ---- start-up ---------------------------------------------------------------------------------------------------


def startup_rows(sizes: Sizes, work: Path) -> list[Row]:
    mailbot = str(Path(sys.executable).parent / "mailbot")
    commands = {"pass": [sys.executable, "-c", "pass"], "help": [mailbot, "--help"],
                "parse": [mailbot, "parse-subject", SUBJECT]}
    cwd = work / "startup"
    cwd.mkdir()
    # as installed: the project byte-compiled (scripts/setup does it; pip does it for the libraries), so that what is
    # timed is the start, not compiling the sources again because PYTHONDONTWRITEBYTECODE kept their .pyc unwritten
    for package in ("mailbot", "parsers", "rules", "store"):
        compileall.compile_dir(ROOT / package, quiet=1)
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    env = child_env()
    env.pop("PYTHONPATH", None)
    for _ in range(sizes.startup_repeats):
        for name, argv in commands.items():
            _out, seconds, _rss, status = run_process(argv, cwd=cwd, log=work / "startup.log", env=env,
                                                      stdout=subprocess.DEVNULL)
            if status != 0:
                raise RuntimeError(f"{' '.join(argv)} exited {status}: see {work / 'startup.log'}")
            cpu[name].append(seconds)
    base = statistics.median(cpu["pass"])
    help_, parse = statistics.median(cpu["help"]), statistics.median(cpu["parse"])
    detail = ("CPU of each run, ms: " + "; ".join(f"{name} " + " ".join(f"{c * 1e3:.0f}" for c in values)
                                                  for name, values in cpu.items()))
    return [
        Row(f"start-up: mailbot --help / python -c pass (CPU, median of {sizes.startup_repeats})",
            f"{help_ / base:.1f}x ({help_ * 1e3:.0f} vs {base * 1e3:.0f} ms)", "<= 2x", at_most(help_ / base, 2.0)),
        Row(f"start-up: mailbot parse-subject / python -c pass (CPU, median of {sizes.startup_repeats})",
            f"{parse / base:.1f}x ({parse * 1e3:.0f} vs {base * 1e3:.0f} ms)", "<= 3x", at_most(parse / base, 3.0),
            [detail], short="start-up"),
    ]


# ---- IDLE -------------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _message_id(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode().strip("<>")
    raise ValueError("a bench mail without a Message-ID")


def _recorded(db: Path, message_id: str) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)) as conn:
            return conn.execute("SELECT 1 FROM messages WHERE identity = ? OR message_id = ? OR message_id = ?",
                                (message_id, message_id, f"<{message_id}>")).fetchone() is not None
    except sqlite3.Error:  # not created yet, or busy: ask again
        return False


def _has_exists(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS" for r in responses)


def idle_rows(sizes: Sizes, seed: int, dovecot: Any, work: Path, say: Callable[[str], None]) -> list[Row]:
    user = "idle@example.test"
    dovecot.add_user(user)
    folder = work / "idle"
    config = write_config(folder, mailbox="imap", store_url=sqlite_url(folder), dovecot=dovecot, user=user)
    db = folder / "bot.db"
    mails = mail_set(sizes.idle_mails + 1, seed + 3)
    rng = random.Random(seed)
    mailbot = str(Path(sys.executable).parent / "mailbot")
    log = open(work / "idle-run.log", "ab")  # noqa: SIM115 - closed below, after the service
    service = subprocess.Popen([mailbot, "--config", str(config), "run"], cwd=folder, stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL, env=child_env(), start_new_session=True)
    latencies: list[float] = []
    notices: list[float] = []
    try:
        appender = dovecot.imap(user)
        watcher = dovecot.imap(user)
        watcher.select_folder("INBOX")
        try:
            for n, raw in enumerate(mails):
                message_id = _message_id(raw)
                if n:
                    time.sleep(rng.uniform(0.2, 0.5))  # the service back in IDLE
                watcher.idle()
                appender.append("INBOX", raw)
                landed = time.monotonic()
                notice = recorded = None
                deadline = landed + (120 if n == 0 else 30)  # the first waits for the service to start
                while (notice is None or recorded is None) and time.monotonic() < deadline:
                    if service.poll() is not None:
                        raise RuntimeError(f"mailbot run exited {service.returncode}: see {work / 'idle-run.log'}")
                    if notice is None and _has_exists(watcher.idle_check(timeout=0.01)):
                        notice = time.monotonic() - landed
                    if recorded is None and _recorded(db, message_id):
                        recorded = time.monotonic() - landed
                    time.sleep(0.01)
                watcher.idle_done()
                if recorded is None:
                    raise RuntimeError(f"mail {n} ({message_id}) was not recorded in time: see {work / 'idle-run.log'}")
                if n:  # the first mail only waits for the service to be up
                    latencies.append(recorded)
                    if notice is not None:
                        notices.append(notice)
        finally:
            for client in (appender, watcher):
                with contextlib.suppress(Exception):
                    client.logout()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.pid, signal.SIGTERM)
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)
            service.wait()
        log.close()
    p50, p95, worst = statistics.median(latencies), percentile(latencies, 0.95), max(latencies)
    say(f"IDLE: p50 {p50:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s")
    details = [f"dovecot's own IDLE notice to another client: p50 {statistics.median(notices):.2f} s, p95 "
               f"{percentile(notices, 0.95):.2f} s (wall time, a shared machine)"] if notices else []
    return [Row(f"IDLE: APPEND -> recorded by mailbot run, p50/p95/max over {len(latencies)} mails",
                f"{p50:.2f} / {p95:.2f} / {worst:.2f} s", "p95 <= 2 s", at_most(p95, 2.0), details)]


# ---- hostile mails ----------------------------------------------------------------------------------------------


def hostile_rows(sizes: Sizes, work: Path, say: Callable[[str], None]) -> list[Row]:
    args: dict[str, Any] = {}
    if sizes.name == "smoke":
        args["names"] = ["subject_8000_words", "html_border_top_112kb"]
    mails = run_child("hostile", args, work).result["mails"]
    failed = [m["name"] for m in mails if m["status"] != 0]
    worst = sorted(mails, key=lambda m: -m["cpu"])[: sizes.hostile_worst]
    fattest = max(mails, key=lambda m: m["rss_extra"])
    if fattest not in worst:
        worst.append(fattest)
    ratios: dict[str, str] = {}
    if sizes.hostile_ratios:
        import hostile_mail

        for m in worst:
            path = work / f"hostile-{m['name']}.eml"
            from tests.parsers.test_hostile_mail import HOSTILE

            path.write_bytes(HOSTILE[m["name"]]())
            idle, base, ours = (hostile_mail.measure(mode, path, 0.5) for mode in ("idle", "baseline", "ours"))
            line = hostile_mail.row(m["name"], m["bytes"], idle, base, ours).split()
            ratios[m["name"]] = f"; {line[-2]} CPU, {line[-1]} extra RSS of the stdlib's (bench/hostile_mail.py)"
            path.unlink()
    rows = []
    for m in worst:
        by = "RSS" if m is fattest and m is not worst[0] else "CPU"
        rows.append(Row(f"hostile mail {m['name']} ({m['bytes'] / 2**20:.1f} MB): parse_message",
                        f"{m['cpu']:.2f} s CPU, +{m['rss_extra'] / 2**20:.1f} MB", "<= 2 s, <= 200 MB",
                        both(at_most(m["cpu"], 2.0), at_most(m["rss_extra"] / 2**20, 200)),
                        [f"worst of {len(mails)} by {by}" + ratios.get(m["name"], "")],
                        short=f"hostile mail {m['name']}"))
    if failed:
        rows[0].details.append(f"parse_message failed on: {', '.join(failed)}")
    say("hostile mails: " + ", ".join(f"{m['name']} {m['cpu']:.2f} s" for m in worst))
    return rows


# ---- main -------------------------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs ({model}), {ram / 2**30:.0f} GB RAM, Python {platform.python_version()}, "
            f"load average {load:.1f} at the start")


@contextlib.contextmanager
def servers(say: Callable[[str], None]) -> Iterator[tuple[Any, Any]]:
    from tests.postgres import PostgresServer
    from tests.servers import DovecotServer

    with DovecotServer() as dovecot, PostgresServer() as postgres:
        say(f"dovecot on port {dovecot.imap_port}, PostgreSQL on port {postgres.port}")
        yield dovecot, postgres


SECTIONS = ("ingest", "tick", "startup", "idle", "hostile")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller counts (under 2 minutes); the table says so")
    mode.add_argument("--smoke", action="store_true", help="tiny counts, for the smoke test")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="of the mail set")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="only these parts")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="cProfile the large ingest and the large tick into DIR and print their top functions")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (stores, logs)")
    parser.add_argument("-v", "--verbose", action="store_true", help="say what each step measured as it goes")
    args = parser.parse_args(argv)
    # SIGTERM ends the run like Ctrl-C: the servers are stopped and the work folder removed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    sections = args.only or SECTIONS
    started = time.monotonic()
    host = machine()

    def say(text: str) -> None:
        if args.verbose:
            print(f"[{time.monotonic() - started:6.0f} s] {text}", file=sys.stderr, flush=True)

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    os.chmod(work, 0o755)  # dovecot's and PostgreSQL's unprivileged processes never need it, but the bot's folders
    rows: list[Row] = []
    profiles: list[Path] = []
    try:
        with servers(say) as (dovecot, postgres):
            if "ingest" in sections:
                found, prof = ingest_rows(sizes, args.seed, dovecot, postgres, work, say, args.profile)
                rows += found
                profiles += prof
            if "tick" in sections:
                found, prof = tick_rows(sizes, work, say, args.profile)
                rows += found
                profiles += prof
            if "startup" in sections:
                rows += startup_rows(sizes, work)
            if "idle" in sections:
                rows += idle_rows(sizes, args.seed, dovecot, work, say)
            if "hostile" in sections:
                rows += hostile_rows(sizes, work, say)
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"iro-mailbot bench ({sizes.note}; seed {args.seed}) on {host}")
    print("CPU figures are each child's own user+system time (os.wait4), peak RSS its own VmHWM; every ratio is "
          "measured in this run.")
    if args.profile:
        print("PROFILED: the large ingest and tick ran under cProfile, so their figures are inflated.")
    print()
    print_table(rows, print)
    print()
    print(f"{sum(r.verdict == 'met' for r in rows)} of {len(rows)} goals met; the run took "
          f"{time.monotonic() - started:.0f} s")
    for path in profiles:
        print(f"\n---- {path.name}: the most expensive functions (cumulative, the bot's own code) ----")
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(r"(mailbot|store|parsers|rules)/", 25)
        print(f"---- {path.name}: by own time ----")
        stats.sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
