"""How often a kill -9 while sending makes a duplicate over SMTP — bare, and with the mailbox's own copy.

    .venv/bin/python bench/send_duplicates.py [--kills 100] [--batch 3] [--clean 60] [--seed N]

Two configurations, each killed ``--kills`` times. **Bare SMTP**: aiosmtpd on loopback (tests/servers.py's sink,
without dovecot), ``copy_to_mailbox = false`` and no Sent folder, so a mail whose attempt was cut short cannot be
looked for and is sent again. **Own copy**: the same, but the bot's address is one more envelope recipient and the
sink delivers it into the local Maildir the bot reads (as an MTA's local delivery does), where the deliverer looks
before sending a mail in doubt again (the default whenever the bot reads its mailbox over IMAP or from a Maildir).
The real deliverer runs in a process of its own (tests/integration/killable.py) and is SIGKILLed at a random moment
of its sending (uniform over the time a whole batch takes), ``--kills`` times; each new run's clock is past the dead
run's leases. At the end one run sends what is left, and the sink's log is counted by Message-ID.

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
from dataclasses import dataclass
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


@dataclass
class Figures:
    name: str
    kills: int
    runs: int
    mails: int
    lost: int
    twice: int
    extra: int
    sends: list[float]
    windows: list[float]
    turn: float


def scenario(name: str, own_copy: bool, args: argparse.Namespace, rng: random.Random) -> Figures:
    """One configuration under ``args.kills`` kills: bare SMTP, or SMTP with the mailbox's own copy delivered by
    the server into the local Maildir the bot reads (``mail_out.smtp.copy_to_mailbox``)."""
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    bot = "iro-escalations@example.test"
    try:
        with SmtpServer(maildirs={bot: work / "mail"} if own_copy else None) as smtp:
            data = {
                "council": {"name": "Example Council", "domains": ["example.test"]},
                "mailbox": {"address": bot, "maildir": "mail"},
                "mail_out": {"transport": "smtp",
                             "smtp": {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10,
                                      "copy_to_mailbox": own_copy}},
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
    return Figures(name, kills, runs, len(killed_mails), sum(1 for mid in queued if received[mid] == 0),
                   sum(1 for mid in killed_mails if received[mid] > 1),
                   sum(max(received[mid] - 1, 0) for mid in killed_mails),
                   [t[0] for t in clean.timings], [t[1] for t in clean.timings],
                   clean.seconds / max(len(clean.timings), 1))


def report(f: Figures, seed: int) -> None:
    print(f"{f.name}, kill -9 while sending (seed {seed}): {f.kills} kills in {f.runs} runs, {f.mails} mails, "
          f"{f.lost} lost, {f.twice} sent twice ({f.extra} extra copies)")
    print(f"  duplicate rate: {f.extra / max(f.kills, 1):.1%} of kills (target <= 2%), "
          f"{f.twice / max(f.mails, 1):.1%} of mails")
    window50, window95 = statistics.median(f.windows), percentile(f.windows, 0.95)
    send50, send95 = statistics.median(f.sends), percentile(f.sends, 0.95)
    print(f"  window, send returned -> 'sent' committed: p50 {window50 * 1e3:.2f} ms, p95 {window95 * 1e3:.2f} ms "
          f"({len(f.windows)} mails of a run nobody killed)")
    print(f"  whole send (sender.send): p50 {send50 * 1e3:.2f} ms, p95 {send95 * 1e3:.2f} ms; "
          f"window/send: {window50 / send50:.2f}x (p50), {window95 / send95:.2f}x (p95)")
    print(f"  a mail's whole turn (claim, build, send, mark; that run's time per mail): {f.turn * 1e3:.2f} ms, of "
          f"which the window is {window50 / f.turn:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="kills per configuration")
    parser.add_argument("--batch", type=int, default=3, help="mails queued at a time, and per deliverer round")
    parser.add_argument("--clean", type=int, default=60, help="mails of the last run, not killed, for the timings")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    bare = scenario("bare SMTP (copy_to_mailbox = false, nothing to search)", False, args, random.Random(seed))
    own = scenario("SMTP with the mailbox's own copy (a local Maildir the server delivers to)", True, args,
                   random.Random(seed))
    report(bare, seed)
    print("  (a kill also makes a duplicate while the server takes the mail in after the DATA and replies, which "
          "the window cannot see: that share is the floor of bare SMTP)")
    report(own, seed)
    ratio = (own.extra / max(own.kills, 1)) / max(bare.extra / max(bare.kills, 1), 1e-9)
    print(f"duplicates per kill, own copy / bare: {ratio:.2f}x")


if __name__ == "__main__":
    main()
