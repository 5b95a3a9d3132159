"""How often a kill -9 while sending makes a duplicate over bare SMTP, and how small the window is that makes it.

    .venv/bin/python bench/send_duplicates.py [--kills 100] [--batch 3] [--clean 60] [--seed N]

Bare SMTP: aiosmtpd on loopback (tests/servers.py's sink, without dovecot) and no Sent folder, so a mail whose
attempt was cut short cannot be looked for and is sent again. The real deliverer runs in a process of its own
(tests/integration/killable.py) and is SIGKILLed at a random moment of its sending (uniform over the time a whole
batch takes), ``--kills`` times; each new run's clock is past the dead run's leases. At the end one run sends what
is left, and the sink's log is counted by Message-ID.

Prints the duplicate rate (per kill, the figure the target "≤ 2 %" is about, and per mail), then, from one more run
that nobody kills (``--clean`` mails), the window each sent mail measured itself (``DeliveryReport.timings``: from
``sender.send`` returning to the commit of "sent"), p50/p95, as a ratio to the whole send and to a mail's whole
turn (claim, build, send, mark). A kill makes a duplicate when it lands between the end of the DATA and that commit:
the window's share of a turn, plus the server's taking the mail in and replying, is what the per-kill rate comes to.
Not a test; nothing fails.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.config import parse_config  # noqa: E402
from mailbot.mail_out.outbox import queue_mail  # noqa: E402
from store.uow import Store, utc_now  # noqa: E402
from tests.integration.killable import DelivererProcesses  # noqa: E402
from tests.servers import SmtpServer  # noqa: E402

STEP = timedelta(minutes=11)  # past a dead run's 10-minute leases


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--batch", type=int, default=3, help="mails queued at a time, and per deliverer round")
    parser.add_argument("--clean", type=int, default=60, help="mails of the last run, not killed, for the timings")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    try:
        with SmtpServer() as smtp:
            data = {
                "council": {"name": "Example Council", "domains": ["example.test"]},
                "mailbox": {"address": "iro-escalations@example.test", "maildir": "mail"},
                "mail_out": {"transport": "smtp",
                             "smtp": {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10}},
            }
            config = parse_config(data, source="bench", base=work)
            store = Store(f"sqlite:///{work / 'bot.db'}")
            store.upgrade()
            queued: list[str] = []

            def queue_batch() -> None:
                now = utc_now()
                with store.unit_of_work() as uow:
                    for n in range(args.batch):
                        key = f"bench-{len(queued):04d}-{uuid.uuid4().hex[:6]}"
                        queued.append(queue_mail(uow, config, key=key, kind="chase", to=["tm@example.test"],
                                                 cc=["qa@example.test"], subject=f"Bench {key}",
                                                 text="Please respond by Friday.\n",
                                                 now=now + timedelta(milliseconds=n)).message_id)

            def pending() -> int:
                with store.unit_of_work() as uow:
                    return len(uow.outbox.by_status("pending", limit=100_000))

            offset, kills, runs = timedelta(0), 0, 0
            with DelivererProcesses(ROOT, log=work / "deliverer.log") as procs:
                queue_batch()
                whole = procs.run(str(store.engine.url), data, work, offset=offset, limit=args.batch).seconds
                while kills < args.kills and runs < args.kills * 5:
                    if not pending():
                        queue_batch()
                    offset += STEP
                    run = procs.run(str(store.engine.url), data, work, offset=offset, limit=args.batch,
                                    kill_after=rng.uniform(0, whole))
                    runs += 1
                    kills += run.killed
                for _ in range(3):
                    offset += timedelta(days=1)
                    procs.run(str(store.engine.url), data, work, offset=offset, limit=args.batch)
                    if not pending():
                        break
                killed_mails = list(queued)
                for _ in range(max(args.clean // args.batch, 1)):
                    queue_batch()
                offset += timedelta(days=1)
                clean = procs.run(str(store.engine.url), data, work, offset=offset, limit=args.batch)
            received = Counter(m.raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
                               for m in smtp.received if b"Message-ID: <" in m.raw)
            store.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lost = sum(1 for mid in queued if received[mid] == 0)
    twice = sum(1 for mid in killed_mails if received[mid] > 1)
    extra = sum(max(received[mid] - 1, 0) for mid in killed_mails)
    sends, windows = [t[0] for t in clean.timings], [t[1] for t in clean.timings]
    turn = clean.seconds / max(len(clean.timings), 1)
    print(f"bare SMTP, kill -9 while sending (seed {seed}): {kills} kills in {runs} runs, {len(killed_mails)} mails, "
          f"{lost} lost, {twice} sent twice ({extra} extra copies)")
    print(f"duplicate rate: {extra / max(kills, 1):.1%} of kills (target <= 2%), "
          f"{twice / max(len(killed_mails), 1):.1%} of mails")
    print(f"window, send returned -> 'sent' committed: p50 {statistics.median(windows) * 1e3:.2f} ms, "
          f"p95 {percentile(windows, 0.95) * 1e3:.2f} ms ({len(windows)} mails of a run nobody killed)")
    window50, window95 = statistics.median(windows), percentile(windows, 0.95)
    send50, send95 = statistics.median(sends), percentile(sends, 0.95)
    print(f"whole send (sender.send): p50 {send50 * 1e3:.2f} ms, p95 {send95 * 1e3:.2f} ms; "
          f"window/send: {window50 / send50:.2f}x (p50), {window95 / send95:.2f}x (p95)")
    print(f"a mail's whole turn (claim, build, send, mark; that run's time per mail): {turn * 1e3:.2f} ms, of which "
          f"the window is {window50 / turn:.1%}; a kill also makes a duplicate while the server takes the mail in "
          "after the DATA and replies, which the window cannot see")

if __name__ == "__main__":
    main()
