"""The local Maildir source: drop, fetch, settle, wait."""

from __future__ import annotations

import mailbox
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.transports.maildir import MaildirSource
from mailbot.transports.source import FetchedMail, MailSource, TransportError


def mail(n: int) -> bytes:
    return f"From: iro@example.test\nSubject: mail {n}\nMessage-ID: <{n}@example.test>\n\nbody {n}\n".encode()


@pytest.fixture
def source(tmp_path: Path) -> MaildirSource:
    return MaildirSource(tmp_path / "inbox", poll_interval=0.01)


def test_it_is_a_mail_source_and_creates_the_maildir(source: MaildirSource, tmp_path: Path) -> None:
    assert isinstance(source, MailSource)
    assert source.key == f"maildir:{tmp_path / 'inbox'}"
    assert all((tmp_path / "inbox" / sub).is_dir() for sub in ("new", "cur", "tmp"))


def test_drop_then_fetch_returns_the_bytes_oldest_first(source: MaildirSource) -> None:
    keys = [source.drop(mail(n)) for n in range(5)]
    fetched = list(source.fetch(None))
    assert [f.raw for f in fetched] == [mail(n) for n in range(5)]
    assert [f.ref for f in fetched] == keys
    assert {f.cursor for f in fetched} == {""}  # no cursor: settle() is what removes mail from the inbox


def test_fetch_orders_by_file_time(source: MaildirSource, tmp_path: Path) -> None:
    late = source.drop(mail(1))
    early = source.drop(mail(2))
    os.utime(tmp_path / "inbox" / "new" / late, (2_000_000_000, 2_000_000_000))
    os.utime(tmp_path / "inbox" / "new" / early, (1_000_000_000, 1_000_000_000))
    assert [f.ref for f in source.fetch(None)] == [early, late]


def test_fetch_ignores_the_cursor_and_honours_the_limit(source: MaildirSource) -> None:
    for n in range(4):
        source.drop(mail(n))
    assert [f.raw for f in source.fetch("anything", limit=2)] == [mail(0), mail(1)]
    assert len(list(source.fetch(None, limit=0))) == 0


def test_mail_read_by_a_mail_client_is_still_new(source: MaildirSource, tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "inbox")
    msg = mailbox.MaildirMessage(mail(7))
    msg.set_subdir("cur")
    msg.add_flag("S")
    key = md.add(msg)
    assert [(f.ref, f.raw) for f in source.fetch(None)] == [(key, mail(7))]


@pytest.mark.parametrize("outcome", ["processed", "attention"])
def test_settle_moves_the_mail_into_a_subfolder(source: MaildirSource, tmp_path: Path, outcome: str) -> None:
    keep = source.drop(mail(1))
    settle = source.drop(mail(2))
    source.settle(settle, outcome)
    assert [f.ref for f in source.fetch(None)] == [keep]
    folder = mailbox.Maildir(tmp_path / "inbox").get_folder(outcome)
    [moved] = list(folder)
    assert moved.get_subdir() == "cur"
    assert "S" in moved.get_flags()
    assert moved.as_bytes() == mail(2)
    assert (tmp_path / "inbox" / f".{outcome}" / "maildirfolder").exists()  # a Maildir++ folder


def test_settle_renames_the_file_and_keeps_the_flags_a_mail_client_set(source: MaildirSource, tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "inbox")
    msg = mailbox.MaildirMessage(mail(3))
    msg.set_subdir("cur")
    msg.add_flag("F")  # flagged by someone in their mail client, not yet read
    key = md.add(msg)
    [fetched] = source.fetch(None)
    [before] = (tmp_path / "inbox" / "cur").iterdir()
    inode = before.stat().st_ino
    source.settle(fetched.ref, "processed")
    [after] = (tmp_path / "inbox" / ".processed" / "cur").iterdir()
    assert after.name == f"{key}:2,FS"
    assert after.stat().st_ino == inode  # moved, not read and written again
    assert after.read_bytes() == mail(3)


def test_settle_is_idempotent_and_checks_the_outcome(source: MaildirSource) -> None:
    key = source.drop(mail(1))
    with pytest.raises(ValueError, match="outcome must be one of"):
        source.settle(key, "deleted")
    source.settle(key, "processed")
    source.settle(key, "processed")  # already gone: left alone
    source.settle("no-such-key", "attention")
    assert list(source.fetch(None)) == []


def test_wait_is_true_before_the_first_fetch(source: MaildirSource) -> None:
    assert source.wait(0) is True


def test_wait_times_out_without_new_mail(source: MaildirSource) -> None:
    source.drop(mail(1))
    [fetched] = list(source.fetch(None))
    started = time.monotonic()
    assert source.wait(0.1) is False
    assert time.monotonic() - started >= 0.09
    source.settle(fetched.ref, "processed")  # removing mail from new/ is not new mail
    assert source.wait(0.05) is False


def test_wait_wakes_when_mail_is_dropped(source: MaildirSource, tmp_path: Path) -> None:
    list(source.fetch(None))
    other = MaildirSource(tmp_path / "inbox")  # another process, e.g. the CLI's drop command
    timer = threading.Timer(0.1, other.drop, args=(mail(9),))
    started = time.monotonic()
    timer.start()
    try:
        assert source.wait(5) is True
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2
    assert [f.raw for f in source.fetch(None)] == [mail(9)]


def test_wait_sees_mail_dropped_between_fetch_and_wait(source: MaildirSource) -> None:
    list(source.fetch(None))
    source.drop(mail(3))
    assert source.wait(0) is True


def test_wait_uses_the_injected_sleep(tmp_path: Path) -> None:
    naps: list[float] = []
    src = MaildirSource(tmp_path / "inbox", sleep=naps.append, clock=iter([0.0, 0.0, 0.5, 1.0, 1.5]).__next__)
    list(src.fetch(None))
    assert src.wait(1.2) is False
    assert naps == [0.5, 0.5, pytest.approx(0.2)]


def test_a_path_that_cannot_be_a_maildir_is_a_transport_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TransportError, match="cannot open the Maildir"):
        MaildirSource(blocker / "inbox")


def test_fetched_mail_repr_hides_the_body() -> None:
    shown = repr(FetchedMail(raw=b"Jane Doe is at risk", ref="k", cursor=""))
    assert "Jane" not in shown and "size=19" in shown


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5))
def test_any_bytes_survive_drop_and_fetch(
    tmp_path_factory: pytest.TempPathFactory, bodies: list[bytes]
) -> None:
    src = MaildirSource(tmp_path_factory.mktemp("md") / "inbox")
    for body in bodies:
        src.drop(body)
    assert [f.raw for f in src.fetch(None)] == bodies
