"""Machine mail on real corpora: parsers.machine against flufl.bounce (GNU Mailman's bounce detectors), side by side.

    .venv/bin/python bench/machine_mail.py [--wrong]

Reads every mail of ../shared/corpus/sisimai and ../shared/corpus/mailman-bounces with the expectations of
tests/parsers/test_machine_corpus.py (read from there) and prints, as ratios, for three detectors:

* ``ours``: ``parsers.machine.classify`` as the bot runs it: our rules decide what a mail is; the failed recipients
  of a report come from flufl.bounce first, then from our rules;
* ``rules alone``: the same without flufl.bounce;
* ``flufl.bounce``: ``flufl.bounce.all_failures`` alone on the raw mail: a failure when it finds permanent failures,
  a delay when only temporary ones, else nothing (it cannot tell an auto-reply from a person).

The figures: sisimai told apart (machine mail never read as a person's, people's mail as theirs); mailman-bounces,
the kind right (failed / delayed / auto-reply / human) and the failed recipients exact, of the reports that name
some. mailman-bounces is flufl.bounce's own test set (Mailman's tests/bounces), so its figures there are those of a
library tuned on those very mails; sisimai is new to it. ``--wrong`` lists the mails each got wrong. Not a test;
nothing fails.
"""

from __future__ import annotations

import argparse
import email
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flufl.bounce import all_failures  # noqa: E402

from tests.parsers.test_machine_corpus import (  # noqa: E402
    DELAYED,
    FAILED,
    HUMAN,
    MAILMAN_DIR,
    SISIMAI,
    Figures,
    mailman_figures,
    ours,
    rules_alone,
    sisimai_figures,
)


def library(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """flufl.bounce alone, on the mail as the email package reads it."""
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # a detector that trips on a mail: it found nothing
        return HUMAN, ()
    if permanent:
        return FAILED, tuple(sorted({address.decode("ascii", "replace").lower() for address in permanent}))
    return (DELAYED, ()) if temporary else (HUMAN, ())


def ours_rules_alone(raw: bytes) -> tuple[str, tuple[str, ...]]:
    with rules_alone():
        return ours(raw)


DETECTORS = {"ours": ours, "rules alone": ours_rules_alone, "flufl.bounce": library}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wrong", action="store_true", help="list the mails each detector got wrong")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # flufl.bounce logs every detector it runs, and a traceback when one fails
    missing = [str(folder) for folder in (SISIMAI, MAILMAN_DIR) if not folder.is_dir()]
    if missing:
        sys.exit(f"corpus folder(s) absent: {', '.join(missing)}")
    rows: dict[str, dict[str, Figures]] = {}
    for name, detector in DETECTORS.items():
        kinds, recipients = mailman_figures(detector)
        rows[name] = {
            "sisimai told apart": sisimai_figures(detector),
            "mailman kind": kinds,
            "mailman recipients": recipients,
        }
    columns = list(next(iter(rows.values())))
    width = max(len(name) for name in rows) + 2
    print(" " * width + "".join(f"{column:>26}" for column in columns))
    for name, figures in rows.items():
        cells = "".join(f"{figures[column].right:>8}/{figures[column].total:<4} = {figures[column].ratio:6.1%}"
                        for column in columns)
        print(f"{name:<{width}}{cells}")
    if args.wrong:
        for name, figures in rows.items():
            for column, found in figures.items():
                if found.wrong:
                    print(f"\n{name}, {column}: {len(found.wrong)} wrong")
                    for what in found.wrong:
                        print(f"  {what}")


if __name__ == "__main__":
    main()
