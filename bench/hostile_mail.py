"""What one hostile mail costs parse_message, as ratios to the standard library merely reading the same mail.

    .venv/bin/python bench/hostile_mail.py [--quick] [name ...]

The mails are those of tests/parsers/test_hostile_mail.py (generated there, read from there), after a normal mail
(tests/fixtures/mail/outlook_desktop_reply.eml) for the usual ratio. Each mail is written to a file and read by a
child process that imports the parsers and then: does nothing more (idle); or runs the baseline on the mail; or
runs parse_message on it (ours), again and again for a fraction of a second. The baseline is the stdlib's
BytesParser(policy=policy.default).parsebytes(mail, headersonly=True): it reads every byte once (the body as one
payload) and decodes nothing, so it costs what reading that many bytes costs, whatever they say. Each child runs
under a measuring process of its own, which reports resource.getrusage(RUSAGE_CHILDREN): the child's CPU time and
peak RSS. Prints ratios, not seconds: CPU per parse, (ours - idle) / (baseline - idle); extra peak RSS, (ours - idle)
/ (baseline - idle), the baseline's counted as 1 MB when it is less. Not a test; nothing fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.parsers.test_hostile_mail import HOSTILE  # noqa: E402

NORMAL = ROOT / "tests" / "fixtures" / "mail" / "outlook_desktop_reply.eml"
NOTE = (
    "cpu = CPU per parse, parse_message / the stdlib parser reading the same mail headers only (every byte once, "
    "nothing decoded), child start-up taken off both; rss = extra peak RSS, the same ratio (baseline at least 1 MB)"
)

# The child: reads the mail, imports the parsers, then runs one reader on it for at least `seconds` of CPU.
CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
raw = open(sys.argv[3], "rb").read()
from email import policy
from email.parser import BytesParser
from parsers.message import parse_message
readers = {
    "idle": None,
    "baseline": lambda: BytesParser(policy=policy.default).parsebytes(raw, headersonly=True),
    "ours": lambda: parse_message(raw),
}
reader, calls, start = readers[sys.argv[2]], 0, time.process_time()
while reader is not None and (calls == 0 or time.process_time() - start < float(sys.argv[4])):
    reader()
    calls += 1
print(calls)
"""


def measure(mode: str, path: Path, seconds: float) -> dict[str, float]:
    """Run the child under this process's own child (the measurer), so RUSAGE_CHILDREN is the child's alone."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(path), str(seconds)], capture_output=True, check=True
    )
    return json.loads(done.stdout)


def measurer(mode: str, path: str, seconds: str) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, path, seconds], capture_output=True)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    calls = int(child.stdout or 0) if child.returncode == 0 else 0
    print(json.dumps({"cpu": used.ru_utime + used.ru_stime, "rss": used.ru_maxrss * 1024, "calls": calls,
                      "returncode": child.returncode}))


def ratio(value: float) -> str:
    return f"{value:.0f}x" if value >= 10 else f"{value:.2g}x"


def row(name: str, size: int, idle: dict[str, float], base: dict[str, float], ours: dict[str, float]) -> str:
    if ours["returncode"] or base["returncode"]:
        return f"{name:<32} {size:>12,} {'failed (exit ' + str(ours['returncode'] or base['returncode']) + ')':>18}"
    cpu_ours = max(ours["cpu"] - idle["cpu"], 0.0) / ours["calls"]
    cpu_base = max(base["cpu"] - idle["cpu"], 1e-6) / base["calls"]
    rss_ours = max(ours["rss"] - idle["rss"], 0.0)
    rss_base = max(base["rss"] - idle["rss"], float(1 << 20))
    return f"{name:<32} {size:>12,} {ratio(cpu_ours / cpu_base):>8} {ratio(rss_ours / rss_base):>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings, noisier ratios")
    parser.add_argument("names", nargs="*", help="only these mails (names as in tests/parsers/test_hostile_mail.py)")
    args = parser.parse_args()
    seconds = 0.1 if args.quick else 0.5
    mails = {"normal mail (outlook_desktop_reply.eml)": NORMAL.read_bytes}
    mails.update((name, make) for name, make in HOSTILE.items() if not args.names or name in args.names)

    print(NOTE)
    print(f"{'mail':<32} {'bytes':>12} {'cpu':>8} {'rss':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in mails.items():
            raw = make()
            path = Path(folder) / "mail.eml"
            path.write_bytes(raw)
            idle, base, ours = (measure(mode, path, seconds) for mode in ("idle", "baseline", "ours"))
            print(row(name[:32], len(raw), idle, base, ours), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        measurer(*sys.argv[2:])
    else:
        main()
