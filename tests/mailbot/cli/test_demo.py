"""`mailbot demo [DIR]`: one made-up escalation through the real bot on the embedded default, told day by day, every
mail the bot sent written as .eml/.html/.txt with index.html — in DIR (or a new temporary folder, kept), the folder
0700 and its files 0600, nothing written anywhere else (the current directory and HOME are looked at before and
after). The run's time is printed (`pytest -s` shows it); it is not asserted."""

from __future__ import annotations

import email
import email.policy
import re
import stat
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import cli

NOW = "2026-12-01"  # a Tuesday: the story runs to the digest on Monday 14 December, no bank holiday on the way
FILE = re.compile(r"\[(\d{2}-[a-z0-9_-]+)\.html\]")

#: Each step of the story, as the printout tells it, in order.
STEPS = (
    'Tue 1 Dec 2026 09:30   Jo Whitfield (IRO) writes: "Action - Level 1 escalation - Alex Sample - Mosaic 900001 - '
    'response by 08/12/2026" to Tom Ashby (Team Manager)',
    "→ recorded as ESC-0001, Level 1, response due Tuesday 8 December 2026",
    "→ the text for the child's case record, to Jo Whitfield",
    "Fri 4 Dec 2026 09:05   → reminder to Tom Ashby (due in 2 working days)",
    "Tom Ashby's out-of-office replies: \"I am on leave and will be back on Thursday 10 December 2026.\"",
    "→ tells Jo Whitfield the manager is away until after the due date",
    "Tue 8 Dec 2026 09:05   → reminder to Tom Ashby (due today)",
    "Wed 9 Dec 2026 09:05   → escalated to Level 2: mail to Sara Okafor (Service Manager); response due Tuesday 15 "
    "December 2026",
    "Sara Okafor (Service Manager) replies to Jo Whitfield:",
    "→ counted as the Level 2 response",
    'Jo Whitfield (IRO) replies: "Resolved – ',
    "→ ESC-0001 closed (resolved) at Level 2",
    "→ closure notice to Tom Ashby and Sara Okafor",
    "→ the text for the child's case record, to Jo Whitfield",
    "Mon 14 Dec 2026 08:00  → weekly digest to the QA manager (Quinn Adeyemi)",
)
KINDS = ["case_record", "chaser", "away", "chaser", "escalation", "case_record", "closure", "case_record", "digest"]


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``roots``, and they, with its size and modification time."""
    seen: dict[str, tuple[int, int]] = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            info = path.lstat()
            seen[str(path)] = (info.st_size if path.is_file() else 0, info.st_mtime_ns)
    return seen


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A current directory, a HOME and a temporary-files folder of the test's own, each holding a file."""
    dirs = {name: tmp_path / name for name in ("cwd", "home", "tmp")}
    for folder in dirs.values():
        folder.mkdir()
        (folder / "keep.txt").write_text("untouched\n")
    monkeypatch.chdir(dirs["cwd"])
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(dirs["tmp"]))  # what mkdtemp uses (it caches $TMPDIR)
    return dirs


def run_demo(*args: str) -> tuple[int, str, str, float]:
    began = time.perf_counter()
    result = CliRunner().invoke(cli, list(args), prog_name="mailbot",
                                env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": "", "MAILBOT_DOMAINS": ""})
    took = time.perf_counter() - began
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr, took


def check_folder(folder: Path, output: str) -> list[str]:
    """Every mail the printout names is there as .eml, .html and .txt (0600), listed in index.html (0600); the
    folder is 0700 and holds nothing else. Returns the files' stems, in order."""
    stems = FILE.findall(output)
    assert stems, output
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    index = (folder / "index.html").read_text(encoding="utf-8")
    expected = {"index.html"}
    for stem in stems:
        for suffix in (".eml", ".html", ".txt"):
            path = folder / f"{stem}{suffix}"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            expected.add(path.name)
        assert f'href="{stem}.html"' in index and f'href="{stem}.eml"' in index, stem
        mail = email.message_from_bytes((folder / f"{stem}.eml").read_bytes(), policy=email.policy.default)
        assert mail["From"] and mail["To"] and mail["Subject"] and mail["Message-ID"], stem
        assert mail.get_body(("html",)) is not None, stem
        shown = (folder / f"{stem}.html").read_text(encoding="utf-8")
        assert 'id="preview-headers"' in shown, stem
    assert stat.S_IMODE((folder / "index.html").stat().st_mode) == 0o600
    assert {p.name for p in folder.iterdir()} == expected  # the throw-away store is gone
    assert f"{len(stems)} mails the bot sent, written to {folder}" in output
    return stems


def test_demo_tells_the_story_and_writes_every_mail(place: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "mails"
    before = snapshot(*place.values())
    code, out, err, took = run_demo("--now", NOW, "demo", str(folder))
    print(f"\nmailbot demo DIR took {took:.2f} s\n{out}")
    assert code == 0, out + err
    assert err == ""
    at = 0
    for step in STEPS:  # each step printed, in the story's order
        found = out.find(step, at)
        assert found >= 0, f"not found after position {at}: {step!r}\n{out}"
        at = found + len(step)
    stems = check_folder(folder, out)
    assert [re.sub(r"^\d+-", "", s) for s in stems] == KINDS
    assert f"Open {folder / 'index.html'} to read them." in out
    assert snapshot(*place.values()) == before  # cwd, HOME and the temporary-files folder untouched
    assert {p.name for p in tmp_path.iterdir()} == {*place, "mails"}


def test_demo_without_a_folder_makes_a_private_one_and_keeps_it(place: dict[str, Path], tmp_path: Path) -> None:
    code, out, err, took = run_demo("demo")  # today, by the real clock
    print(f"\nmailbot demo took {took:.2f} s")
    assert code == 0, out + err
    made = [p for p in place["tmp"].iterdir() if p.name.startswith("mailbot-demo-")]
    assert len(made) == 1, list(place["tmp"].iterdir())
    folder = made[0]
    check_folder(folder, out)
    assert out.rstrip().endswith(f"Open {folder / 'index.html'} to read them.")
    for step in ("Jo Whitfield (IRO) writes:", "→ recorded as ESC-0001", "→ reminder to Tom Ashby",
                 "out-of-office replies", "→ escalated to Level 2", 'replies: "Resolved – ', "closed (resolved)",
                 "→ closure notice", "→ weekly digest"):
        assert step in out, step
    assert {p.name for p in place["cwd"].iterdir()} == {"keep.txt"}
    assert {p.name for p in place["home"].iterdir()} == {"keep.txt"}


def test_demo_again_into_the_same_folder_replaces_its_files(place: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "mails"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / "99-old.html").write_text("an earlier run's mail\n")
    code, first, err, _took = run_demo("--now", NOW, "demo", str(folder))
    assert code == 0, first + err
    code, again, err, _took = run_demo("--now", NOW, "demo", str(folder))
    assert code == 0, again + err
    check_folder(folder, again)  # 0700 now, and the old mail gone
    assert FILE.findall(first) == FILE.findall(again)


def test_demo_reads_no_configuration(place: dict[str, Path], tmp_path: Path) -> None:
    """Even given a configuration (here one that does not exist), the demo runs on the embedded default and says so."""
    folder = tmp_path / "mails"
    code, out, err, _took = run_demo("--config", str(tmp_path / "council.toml"), "--now", NOW, "demo", str(folder))
    assert code == 0, out + err
    assert "the demo runs on the embedded default" in err and "council.toml is not read" in err
    check_folder(folder, out)


def test_demo_into_a_file_is_one_line(place: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "cwd" / "keep.txt"
    code, out, err, _took = run_demo("--now", NOW, "demo", str(target))
    assert code == 2 and out == ""
    assert err.strip() == f"mailbot: error: {target} is not a folder — name a folder to write the mails into"
    assert target.read_text() == "untouched\n"
