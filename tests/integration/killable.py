"""A real deliverer in a process of its own that can be killed with SIGKILL at any moment and started again at once.

Starting Python and importing the bot takes seconds on a small machine, so a *zygote* process imports it once and,
for each run, forks a fresh child that does what ``mailbot send`` does: reads the configuration, opens the store
and the configured sender (``transports.registry.open_sender``) and runs ``Deliverer.deliver_pending`` until
nothing is due. The child's clock is the real one plus an offset the caller gives, so a run can start after the
leases of the runs it killed have run out. It says "sending" once its database connection is made, right before
``deliver_pending`` (which opens the sender, then claims, sends and marks): a kill is timed from there. Nothing is
shared between runs but the files and the servers.

    with DelivererProcesses(ROOT, log=tmp_path / "zygote.log") as procs:
        run = procs.run(url, config_data, base, offset=timedelta(minutes=11), kill_after=0.05)
        run.killed       # True when SIGKILL ended the child before it had finished
        run.timings      # (seconds in send, seconds from send returning to the mark's commit), per mail sent

The child says what it does on the zygote's stdout (``<pid> sending``, ``<pid> timing <send> <window>``,
``<pid> done``); the zygote forks (``<pid> forked``) and reaps (``<pid> exit <status>``) only when told, so a
child's pid is never reused before the caller has signalled it. Used by tests/integration/test_send_crash.py and
bench/send_duplicates.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

ZYGOTE = r"""
import json, os, sys, traceback
from datetime import timedelta
from pathlib import Path

from mailbot.config import parse_config
from mailbot.mail_out.delivery import Deliverer
from mailbot.transports import imap, maildir, smtp  # imported before forking, like everything the child needs
from mailbot.transports.registry import open_sender
from store.uow import Store, utc_now


def say(text):
    os.write(1, f"{os.getpid()} {text}\n".encode())


def child(cmd):
    config = parse_config(cmd["config"], source="crash-test", base=Path(cmd["base"]))
    store = Store(cmd["url"])
    offset = timedelta(seconds=cmd["offset"])
    deliverer = Deliverer(store, open_sender(config), clock=lambda: utc_now() + offset,
                          allows=config.allows_address)
    with store.unit_of_work() as uow:  # the database's first connection is made before "sending", not in it
        uow.outbox.pending(utc_now() + offset, 1)
    say("sending")
    while True:
        report = deliverer.deliver_pending(limit=cmd["limit"])
        for t in report.timings:
            say(f"timing {t.send:.7f} {t.window:.7f}")
        if not report.attempted:
            break
    say("done")


for line in sys.stdin:
    cmd = json.loads(line)
    if "reap" in cmd:
        pid, status = os.waitpid(cmd["reap"], 0)
        os.write(1, f"{pid} exit {status}\n".encode())
        continue
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            child(cmd)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            code = 1
        os._exit(code)
    os.write(1, f"{pid} forked\n".encode())
"""


@dataclass
class Run:
    """One child deliverer's run."""

    pid: int
    killed: bool = False  # SIGKILL ended it before it said "done"
    status: int = 0  # as os.waitpid gives it
    seconds: float = 0.0  # from "sending" to "done" (or to the kill)
    timings: list[tuple[float, float]] = field(default_factory=list)


class ZygoteError(RuntimeError):
    pass


class DelivererProcesses:
    """The zygote and its children; see the module docstring."""

    def __init__(self, root: Path, *, log: Path, timeout: float = 60.0) -> None:
        self.root = root
        self.log = log
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def __enter__(self) -> DelivererProcesses:
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        with open(self.log, "ab") as err:
            self._proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=err, cwd=self.root, env=env)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()  # the zygote's loop ends
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()  # the zygote, by its own Popen handle
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    # ---- talking to the zygote ---------------------------------------------------------------------------
    def _send(self, command: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")
        self._proc.stdin.flush()

    def _line(self, until: float) -> str | None:
        """The next line from the zygote or its children, or None when ``until`` (a monotonic time) passes."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ZygoteError(f"the zygote ended: {self.log_tail()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _expect(self, run: Run | None, *words: str) -> tuple[str, list[str]]:
        """Read until a line of ``run``'s child (any child when None) says one of ``words``."""
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._line(deadline)
            if line is None:
                raise ZygoteError(f"no {'/'.join(words)} in {self.timeout} s: {self.log_tail()}")
            pid, _, rest = line.partition(" ")
            word, *args = rest.split()
            if run is not None and int(pid) != run.pid:
                continue
            if word == "timing" and run is not None:
                run.timings.append((float(args[0]), float(args[1])))
            if word in words:
                if run is None:
                    return pid, [word, *args]
                return word, args

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- one run -----------------------------------------------------------------------------------------
    def run(self, url: str, config: dict[str, Any], base: Path, *, offset: timedelta, limit: int = 3,
            kill_after: float | None = None) -> Run:
        """Fork a deliverer and let it work until nothing is due, or SIGKILL it ``kill_after`` seconds after it
        said it is sending (if it is still running then)."""
        self._send({"url": url, "config": config, "base": str(base), "offset": offset.total_seconds(),
                    "limit": limit})
        deadline = time.monotonic() + self.timeout
        pid: int | None = None
        early: list[str] = []
        while pid is None:  # the child may speak before the zygote says it forked it
            line = self._line(deadline)
            if line is None:
                raise ZygoteError(f"the zygote did not fork: {self.log_tail()}")
            who, _, rest = line.partition(" ")
            if rest == "forked":
                pid = int(who)
            else:
                early.append(line)
        run = Run(pid)
        self._buffer = b"".join(f"{line}\n".encode() for line in early) + self._buffer
        word, _ = self._expect(run, "sending", "done")
        started = time.monotonic()
        finished = word == "done"
        if not finished and kill_after is not None:
            until = started + kill_after
            while not finished:
                line = self._line(until)
                if line is None:
                    break
                self._buffer = f"{line}\n".encode() + self._buffer
                word, _ = self._expect(run, "timing", "done")
                finished = word == "done"
            if not finished:
                os.kill(pid, signal.SIGKILL)  # the child we forked; not reaped yet, so the pid is still its own
        if not finished and kill_after is None:
            self._expect(run, "done")
        run.seconds = time.monotonic() - started
        self._send({"reap": pid})
        _, (_, status) = self._expect(None, "exit")
        run.status = int(status)
        run.killed = os.WIFSIGNALED(run.status) and os.WTERMSIG(run.status) == signal.SIGKILL
        if not run.killed and os.waitstatus_to_exitcode(run.status) != 0:
            raise ZygoteError(f"the deliverer failed (status {run.status}): {self.log_tail()}")
        return run


__all__ = ["DelivererProcesses", "Run", "ZygoteError"]
