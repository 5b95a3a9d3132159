"""The service survives a hostile mail within one mail's memory budget, and keeps the mail.

tests/parsers/test_hostile_mail.py proves that parse_message reads each hostile mail within the per-mail budget
(200 MB for any mail of 25 MB at most; bench/hostile_mail.py prints the ratios). This test runs the whole of mail in
on the worst of them for memory (a 25 MB mail, every byte of it kept): a child process builds the service's ingestor
on a real SQLite store, reads one ordinary mail (so the code a mail runs is loaded), then limits its own address
space (``RLIMIT_AS``, which also bounds its RSS) to what it holds plus that budget and ingests the hostile mail. The
child must exit 0 with the mail read whole and kept for a person (``attention``: it matches no record), not cut short
by a MemoryError. What the service holds at rest plus the budget must fit under the ``MemoryMax`` of README.md's
systemd unit. ``RLIMIT_CPU`` only stops a runaway; there are no wall-clock assertions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from store.models import Event
from store.uow import Store
from tests.botsetup import example_config
from tests.parsers.test_hostile_mail import CPU_LIMIT, FROM, HOSTILE, MESSAGE_ID

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 200 << 20  # bytes: one mail's memory budget (tests/parsers/test_hostile_mail.py), here with no headroom
MAIL = "attachment_25mb"  # of the hostile mails, the one whose ingest needs the most memory (bench/hostile_mail.py)
ORDINARY = ROOT / "tests" / "fixtures" / "mail" / "outlook_desktop_reply.eml"

# argv: the repository, the budget, the CPU seconds, the ordinary mail; the hostile mail on stdin; cwd: the store's.
CHILD = """
import json, math, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
raw = sys.stdin.buffer.read()
from mailbot.mail_in.ingest import Ingestor
from tests.botsetup import OPENED, Clock, example_config, migrated_store

def address_space():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))

config = example_config(Path.cwd())
clock = Clock(OPENED)
store = migrated_store(config, clock)
bot = Ingestor(store, config, clock)
bot.ingest(Path(sys.argv[4]).read_bytes())
at_rest = address_space()
limit = at_rest + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
used = resource.getrusage(resource.RUSAGE_SELF)
cpu = math.ceil(used.ru_utime + used.ru_stime) + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
result = bot.ingest(raw)
store.dispose()
print(json.dumps({"outcome": result.outcome, "kind": result.kind, "reason": result.reason,
                  "identity": result.identity, "at_rest": at_rest}))
"""


def memory_max() -> int:
    """The ``MemoryMax=`` of README.md's systemd unit, in bytes."""
    found = re.search(r"^MemoryMax=(\d+)([KMGT]?)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, "README.md's systemd unit sets no MemoryMax"
    return int(found[1]) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[found[2]]


def test_a_hostile_mail_is_kept_and_the_service_lives_within_one_mails_budget(tmp_path: Path) -> None:
    raw = HOSTILE[MAIL]()
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(BUDGET), str(CPU_LIMIT), str(ORDINARY)],
                          input=raw, capture_output=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, f"child exited {done.returncode} (-24: over its CPU): {done.stderr[-2000:]!r}"
    result = json.loads(done.stdout)
    # read whole, matched to nothing, kept for a person: not "unreadable", nor kept after a MemoryError
    assert (result["identity"], result["kind"], result["outcome"], result["reason"]) == (
        MESSAGE_ID, "human", "unmatched", "no match")
    assert result["at_rest"] + BUDGET <= memory_max()

    store = Store(example_config(tmp_path).store.url)
    try:
        with store.unit_of_work() as uow:
            kept = uow.messages.get_by_identity(MESSAGE_ID)
            assert kept is not None
            assert (kept.state, kept.kind, kept.from_email, kept.subject) == ("attention", "human", FROM, "plan")
            assert kept.attention_reason and "MemoryError" not in kept.attention_reason
            assert kept.new_text == "Resolved, see the attachment"
            assert kept.raw == raw
            events = uow.session.scalars(select(Event.kind).where(Event.message_pk == kept.id)).all()
            assert events == ["attention"]
    finally:
        store.dispose()
