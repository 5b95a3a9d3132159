"""How the parsers cope with the pathological inputs of the tests, as ratios to a linear pass over the same text.

    .venv/bin/python bench/pathological_inputs.py [--quick]

For each input of the tests (find_date's long repetitions, parse_subject's pathological subjects, read_command and
read_response on huge replies, classify on tests/fixtures/mail/huge_body.eml.gz) the parser runs on the input at a
quarter of the size the test uses (n) and at that size (4n); so does a baseline, a regex split into words of the same
text, in the same run. Prints ratios, not seconds: parser/baseline at n and at 4n, and how much each one's time grew
from n to 4n. Not a test; nothing fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import re
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers.commands import read_command, read_response  # noqa: E402
from parsers.dates import find_date  # noqa: E402
from parsers.machine import classify  # noqa: E402
from parsers.message import parse_message  # noqa: E402
from parsers.subject import parse_subject  # noqa: E402

RECEIVED = date(2026, 12, 1)
WORDS = re.compile(r"\S+")

NOTE = (
    "ratio = parser time / baseline time (regex word split of the same text, same run); "
    "growth = time at 4n / time at n: ~4 linear, ~1 flat (the parser cuts its input), well above 4 superlinear."
)

# (family, label, text of size k, k at 4n = the size the test uses)
Case = tuple[str, str, Callable[[int], str], int]


def per_call(func: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Seconds per call: the best of a few rounds, as other work on a shared box only ever adds time."""
    func()  # warm regex caches
    best = float("inf")
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / rounds:
            func()
            calls += 1
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def repeated(unit: str, k: int) -> tuple[str, Callable[[int], str], int]:
    return f"{unit[:24]!a} * k", lambda n: unit * n, k


def cases() -> list[Case]:
    dates = [("1/", 2500), ("9 Dec ", 800), ("in ", 1600), ("Dec 9 ", 800), ("1", 5000), ("12/12/", 800), ("by ", 1600)]
    subjects = [
        repeated("#", 10_000),
        repeated("1/", 5_000),
        repeated("Level ", 2_000),
        ("'Mosaic' + ' :' * k + 'x'", lambda n: "Mosaic" + " :" * n + "x", 5_000),
        repeated("J.", 5_000),
        repeated("Amy and ", 1_250),
        repeated("9 Dec ", 1_700),
        repeated("a-", 5_000),
        repeated("1", 10_000),
        repeated("[ESC-", 2_000),
        repeated("(J", 5_000),
        repeated("e\u0301", 5_000),
        repeated("Level 1 escalation - Jane Doe - Mosaic 123456 - 05/12/2026 ", 170),
    ]
    replies = [
        ("('word ' * 200 + '\\n') * k + 'Resolved'", lambda n: ("word " * 200 + "\n") * n + "Resolved", 2_000),
        repeated("x", 1_000_000),
        repeated("Extend ", 200_000),
        ("'\\n' * k + 'Resolved'", lambda n: "\n" * n + "Resolved", 100_000),
    ]
    out: list[Case] = [("find_date", *repeated(unit, k)) for unit, k in dates]
    out += [("parse_subject", *case) for case in subjects]
    out += [(family, *case) for family in ("read_command", "read_response") for case in replies]
    return out


def parser_of(family: str) -> Callable[[str], object]:
    return {
        "find_date": lambda text: find_date(text, RECEIVED),
        "parse_subject": lambda text: parse_subject(text, RECEIVED),
        "read_command": lambda text: read_command(text, RECEIVED),
        "read_response": lambda text: read_response(text, RECEIVED),
    }[family]


def times(parse: Callable[[str], object], small: str, large: str, seconds: float) -> tuple[float, float, float, float]:
    """Parser and baseline per call at n and at 4n."""
    return (
        per_call(lambda: parse(small), seconds),
        per_call(lambda: parse(large), seconds),
        per_call(lambda: WORDS.findall(small), seconds),
        per_call(lambda: WORDS.findall(large), seconds),
    )


def ratio(value: float) -> str:
    return f"{value:.0f}x" if value >= 10 else f"{value:.2g}x"


def row(family: str, label: str, chars: int, measured: tuple[float, float, float, float]) -> str:
    ours_n, ours_4n, base_n, base_4n = measured
    return (
        f"{family:<14} {label:<46} {chars:>9,} {ratio(ours_n / base_n):>8} {ratio(ours_4n / base_4n):>8}"
        f" {ours_4n / ours_n:>8.1f} {base_4n / base_n:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings, noisier ratios")
    seconds = 0.04 if parser.parse_args().quick else 0.15

    print(NOTE)
    print(f"{'family':<14} {'input':<46} {'n chars':>9} {'ratio@n':>8} {'ratio@4n':>8} {'growth':>8} {'baseline':>8}")
    for family, label, make, k in cases():
        small, large = make(k // 4), make(k)
        print(row(family, label, len(small), times(parser_of(family), small, large, seconds)), flush=True)

    raw = gzip.decompress((ROOT / "tests" / "fixtures" / "mail" / "huge_body.eml.gz").read_bytes())
    mail = parse_message(raw)
    quarter = len(mail.text) // 4
    small_mail = dataclasses.replace(mail, text=mail.text[:quarter], new_text=mail.new_text[:quarter])
    measured = (
        per_call(lambda: classify(small_mail, RECEIVED), seconds),
        per_call(lambda: classify(mail, RECEIVED), seconds),
        per_call(lambda: WORDS.findall(small_mail.text), seconds),
        per_call(lambda: WORDS.findall(mail.text), seconds),
    )
    print(row("classify", "huge_body.eml.gz body, first n chars", quarter, measured))


if __name__ == "__main__":
    main()
