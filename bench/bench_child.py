"""The processes ``bench/run`` measures: each job runs in a fresh interpreter of its own, started by bench/run.py,
which reads the child's CPU time from ``os.wait4`` (the kernel's figure for that one process); its peak RSS is the
child's own ``VmHWM`` at the end (``ru_maxrss`` would count the bench process it was forked from).

    python bench/bench_child.py JOB JSON-ARGS        # prints one JSON object on stdout

Jobs:

- ``ingest``: the bot's mail loop as ``mailbot run``/``poll`` runs it — the configuration file read, an ``App`` with a
  fixed clock, ``App.poll_once()`` again and again until the mailbox is drained. The source is wrapped so that the
  CPU time at which each mail is handed out is noted (the cost of one mail: from its hand-out to the next one's).
  Logging as the CLI sets it up (stderr, the configured level).
- ``baseline_imap``: imapclient, UID SEARCH ALL, UID FETCH BODY.PEEK[] in batches of 50 (the bot's batch), each mail
  ``email.message_from_bytes(policy=default)`` and the text of its body (plain, else HTML).
- ``baseline_maildir``: the same over the files of a Maildir.
- ``tick``: one ``Ticker.tick`` at a fixed moment on a prepared store, CPU of the tick alone and of the templates
  rendered in it (``Composer.render`` wrapped).
- ``hostile``: every hostile mail of tests/parsers/test_hostile_mail.py parsed once by ``parse_message`` in a forked
  child: its CPU and its peak RSS over what it inherited.

With ``"profile": PATH`` in the arguments, the measured part runs under cProfile and the stats are written to PATH.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _profiled(args: dict[str, Any], work: Any) -> Any:
    if not args.get("profile"):
        return work()
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(work)
    finally:
        profiler.dump_stats(args["profile"])


def _cli_logging(level: str) -> None:
    """Logging as ``mailbot`` sets it up (mailbot.cli.main.main, then ``verbose``): stderr, the configured level."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for noisy in ("alembic", "apscheduler.scheduler", "httpx", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger().setLevel(level)


def count_statements(engine: Any) -> list[int]:
    """A counter of the SQL statements ``engine`` sends from now on (one Python call each: negligible)."""
    from sqlalchemy import event

    counter = [0]

    def seen(*_: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", seen)
    return counter


class TimedSource:
    """A mail source that notes the process CPU time whenever it hands a mail out; everything else is the
    wrapped source's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.marks: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        for item in self._inner.fetch(*args, **kwargs):
            self.marks.append(time.process_time())
            yield item


def ingest(args: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    from mailbot.app import App, fixed_clock
    from mailbot.config import load_config
    from mailbot.mail_in.ingest import POLL_BATCH
    from mailbot.transports import registry

    config = load_config(args["config"])
    _cli_logging(config.log_level)
    source = TimedSource(registry.open_source(config))
    app = App(config, clock=fixed_clock(datetime.fromisoformat(args["now"])), source=source)
    outcomes: dict[str, int] = {}

    def drain() -> int:
        count = 0
        while True:
            results = app.poll_once(POLL_BATCH)  # a batch at a time, as the service reads
            if not results:
                return count
            count += len(results)
            for r in results:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1

    statements = count_statements(app.store.engine)  # the store opened (and migrated) here, before the loop
    started = time.process_time()
    count = _profiled(args, drain)
    ended = time.process_time()
    marks = [*source.marks, ended]
    per_mail = [b - a for a, b in itertools.pairwise(marks)]
    with app.store.unit_of_work() as uow:  # not measured: how many records are open now
        from sqlalchemy import func, select

        from store.models import Escalation

        open_records = uow.session.scalar(select(func.count()).select_from(Escalation)
                                          .where(Escalation.status == "open"))
        uow.rollback()
    app.close()
    return {"mails": count, "cpu_loop": ended - started, "cpu_before": started, "per_mail": per_mail,
            "outcomes": outcomes, "open_records": open_records, "statements": statements[0]}


def _body_text(raw: bytes) -> int:
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    return len(text)


def baseline_imap(args: dict[str, Any]) -> dict[str, Any]:
    from imapclient import IMAPClient

    def work() -> int:
        client = IMAPClient(args["host"], args["port"], ssl=False, timeout=30)
        client.login(args["user"], args["password"])
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        count = 0
        for start in range(0, len(uids), 50):
            batch = uids[start : start + 50]
            data = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                _body_text(bytes(data[uid][b"BODY[]"]))
                count += 1
        client.logout()
        return count

    return {"mails": _profiled(args, work)}


def baseline_maildir(args: dict[str, Any]) -> dict[str, Any]:
    def work() -> int:
        count = 0
        folder = Path(args["maildir"])
        names = sorted(p for sub in ("new", "cur") for p in (folder / sub).iterdir())
        for path in names:
            _body_text(path.read_bytes())
            count += 1
        return count

    return {"mails": _profiled(args, work)}


def tick(args: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    from mailbot.app import App, fixed_clock
    from mailbot.config import load_config
    from mailbot.mail_out.compose import Composer

    config = load_config(args["config"])
    _cli_logging(config.log_level)
    now = datetime.fromisoformat(args["now"])
    app = App(config, clock=fixed_clock(now))
    rendering = [0.0, 0]
    plain_render = Composer.render

    def timed_render(self: Any, *a: Any, **kw: Any) -> Any:
        start = time.process_time()
        try:
            return plain_render(self, *a, **kw)
        finally:
            rendering[0] += time.process_time() - start
            rendering[1] += 1

    Composer.render = timed_render  # type: ignore[method-assign]
    ticker = app.ticker
    statements = count_statements(app.store.engine)  # the store opened (and its schema checked) before the tick
    started = time.process_time()
    items = _profiled(args, lambda: ticker.tick(now))
    cpu = time.process_time() - started
    app.close()
    acted = {i.reference for i in items if i.kind != "error"}
    kinds: dict[str, int] = {}
    for i in items:
        kinds[i.kind] = kinds.get(i.kind, 0) + 1
    return {"cpu_tick": cpu, "cpu_render": rendering[0], "renders": rendering[1], "records_acted": len(acted),
            "kinds": kinds, "statements": statements[0]}


def hostile(args: dict[str, Any]) -> dict[str, Any]:
    from parsers.message import parse_message
    from tests.parsers.test_hostile_mail import HOSTILE

    out = []
    for name, make in HOSTILE.items():
        if args.get("names") and name not in args["names"]:
            continue
        raw = make()
        rss_before = _vm_rss()
        pid = os.fork()
        if pid == 0:  # the child: one parse, nothing else
            code = 0
            try:
                parse_message(raw)
            except BaseException:
                code = 1
            os._exit(code)
        _, status, usage = os.wait4(pid, 0)
        out.append({"name": name, "bytes": len(raw), "cpu": usage.ru_utime + usage.ru_stime,
                    "rss_extra": max(usage.ru_maxrss * 1024 - rss_before, 0), "status": status})
        del raw
    return {"mails": out}


def _vm_rss(field: str = "VmRSS") -> int:
    """This process's resident set (``VmRSS``), or its peak (``VmHWM``), in bytes, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


JOBS = {"ingest": ingest, "baseline_imap": baseline_imap, "baseline_maildir": baseline_maildir, "tick": tick,
        "hostile": hostile}

if __name__ == "__main__":
    job, arguments = sys.argv[1], json.loads(sys.argv[2])
    result = JOBS[job](arguments)
    # The peak RSS of this process image alone: the kernel's ru_maxrss of a child also counts the memory of the
    # parent it was forked from (kept across exec), so the parent reads this figure, not os.wait4's.
    result["peak_rss"] = _vm_rss("VmHWM")
    sys.stdout.write(json.dumps(result) + "\n")
