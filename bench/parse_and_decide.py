"""How much the bot's reading and deciding cost, as ratios to the standard library doing the least it could.

    .venv/bin/python bench/parse_and_decide.py

Prints ratios, not seconds: parse_message (MIME + HTML to text + reply stripping + machine-mail detection) against
the stdlib email parser alone, and one decide() against building its input. Not a test; nothing fails.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers.machine import classify  # noqa: E402
from parsers.message import parse_message  # noqa: E402
from rules.calendar import WorkingCalendar  # noqa: E402
from rules.decide import decide  # noqa: E402
from rules.presets import get_preset  # noqa: E402
from rules.records import RecordState, StageState  # noqa: E402


def per_call(func: Callable[[], object], seconds: float = 1.0) -> float:
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        func()
        calls += 1
    return (time.perf_counter() - start) / calls


def mails() -> list[bytes]:
    folder = ROOT / "tests" / "fixtures" / "mail"
    raws = [p.read_bytes() for p in sorted(folder.glob("*.eml"))]
    raws += [gzip.decompress(p.read_bytes()) for p in sorted(folder.glob("*.eml.gz"))]
    return raws


def main() -> None:
    raws = mails()
    baseline = per_call(lambda: [email.message_from_bytes(r, policy=email.policy.default) for r in raws])
    ours = per_call(lambda: [classify(parse_message(r), date(2026, 11, 24)) for r in raws])
    print(f"parse {len(raws)} mails: {ours / baseline:.1f}x the stdlib parser alone")

    calendar, policy = WorkingCalendar("england"), get_preset("dorset")
    now = datetime(2026, 11, 27, 10, tzinfo=UTC)

    def state() -> RecordState:
        stage = StageState(level=1, started_on=date(2026, 11, 24), due_on=date(2026, 12, 1), due_source="subject")
        return RecordState(reference="ESC-0001", status="open", opened_on=date(2026, 11, 24), stage=stage)

    build = per_call(state)
    both = per_call(lambda: decide(state(), now, policy, calendar))
    print(f"decide one record: {both / build:.1f}x building its input")


if __name__ == "__main__":
    main()
