"""What finding the open records of a case number costs as the store grows: the old way against the new, same run.

    .venv/bin/python bench/case_number_lookup.py [--open 1300 5000] [--repeat 20]

Every mail with a case number in its subject asks the store for the open records that share it
(``EscalationRepository.find_open_by_case_numbers``). The old way loaded every open record as an object with its
stages and filtered in Python; the new way reads two columns (id, case numbers) of the open records and loads only
the ones that match. Prints CPU time per look-up for each way and their ratio. Not a test; nothing fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.models import Escalation, Stage, normalise_case_number  # noqa: E402
from store.uow import Store  # noqa: E402

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def fill(store: Store, count: int) -> None:
    with store.unit_of_work() as uow:
        for n in range(count):
            esc = Escalation(status="open", policy_key="default", iro_email="iro@example.test", children=["A B"],
                             case_numbers=[{"system": "mosaic", "number": str(100000 + n)}], current_level=1,
                             opened_at=NOW - timedelta(minutes=n), updated_at=NOW)
            esc.stages.append(Stage(level=1, role="Team Manager", started_at=NOW, started_on=NOW.date(),
                                    due_on=NOW.date(), addressee_email="tm@example.test"))
            uow.session.add(esc)
        uow.commit()


def old_way(store: Store, number: str) -> int:
    with store.unit_of_work() as uow:
        wanted = {normalise_case_number(number)}
        return len([e for e in uow.escalations.list(open_only=True)
                    if wanted & {normalise_case_number(n) for n in e.case_number_values}])


def new_way(store: Store, number: str) -> int:
    with store.unit_of_work() as uow:
        return len(uow.escalations.find_open_by_case_numbers([number]))


def cpu_per_call(fn, store: Store, number: str, repeat: int) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for _ in range(repeat):
        assert fn(store, number) == 1
    return (time.process_time() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, nargs="+", default=[1300, 5000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for count in args.open:
        with tempfile.TemporaryDirectory() as work:
            store = Store(f"sqlite:///{Path(work) / 'bot.db'}")
            store.upgrade()
            fill(store, count)
            number = str(100000 + count // 2)
            old = cpu_per_call(old_way, store, number, args.repeat)
            new = cpu_per_call(new_way, store, number, args.repeat)
            store.dispose()
        print(f"{count:>6} open records: old {old * 1e3:8.2f} ms CPU per look-up, new {new * 1e3:7.2f} ms, "
              f"new/old {new / old:.3f}x")


if __name__ == "__main__":
    main()
