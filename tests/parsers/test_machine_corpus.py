"""parsers.machine on real machine mail: every mail of ../shared/corpus/sisimai and ../shared/corpus/mailman-bounces.

Read in place, never copied (skipped, saying why, where the folders are absent). The figures are printed (``-s``
shows them) and asserted: a regression below them fails.

* ``sisimai`` (sisimai/set-of-emails, BSD-2): ``bsd/`` holds ~630 bounces, auto-replies and abuse reports from some
  sixty servers and providers, ``not/`` a few mails that are not bounces. Told apart: machine mail is never read as
  a person's (``kind != "human"``), and a person's mail is. One mail of ``not/`` is machine mail all the same:
  ``rb-issue-368-bug.eml`` is a postmaster's "email bounce notification" (Auto-Submitted, Return-Path ``<>``) that
  sisimai keeps there because its own parsers cannot read that format (its issue 368), not because a person wrote
  it. ``bsd/lhost-sendmail-14.eml`` is read as a person's, as it is: someone forwarding a bounce with a note of
  their own ("Forward the message.").
* ``mailman-bounces`` (GNU Mailman 2.1.39's tests/bounces, GPL-2.0+): 111 delivery reports and delay warnings from
  some twenty formats (1999-2020). :data:`MAILMAN` is what each says: a failure naming these recipients, a delay
  warning (machine mail, not a failure), an auto-reply, or a person's mail. The recipients are those of Mailman's
  own table of these files (tests/test_bounces.py), checked against each mail; Mailman reads a DSN's
  Original-Recipient before its Final-Recipient, the address the mail was sent to, as we do. ``dumbass_01`` and
  ``bounce_01`` are failures that name no address to read.

The expectations are data about those files (names and what they say), not the mails themselves.
bench/machine_mail.py prints the same figures for our rules alone and for flufl.bounce alone beside ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

import parsers.machine as machine
from parsers.machine import MachineVerdict, classify
from parsers.message import parse_message

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
SISIMAI = CORPUS / "sisimai"
MAILMAN_DIR = CORPUS / "mailman-bounces"
RECEIVED = date(2026, 12, 1)

needs_sisimai = pytest.mark.skipif(not SISIMAI.is_dir(), reason=f"corpus folder {SISIMAI} is absent")
needs_mailman = pytest.mark.skipif(not MAILMAN_DIR.is_dir(), reason=f"corpus folder {MAILMAN_DIR} is absent")

#: The targets of issue 13: machine mail told apart, a report's kind, and its failed recipients exactly.
SISIMAI_TOLD_APART = 0.99
MAILMAN_KIND = 0.99
MAILMAN_RECIPIENTS = 0.95
#: Our own rules, without flufl.bounce: the fallback must stay good enough to stand on its own.
MAILMAN_RECIPIENTS_RULES_ALONE = 0.90

#: Mails of ``sisimai/not/`` that are machine mail nonetheless (see the module docstring).
SISIMAI_NOT_BUT_MACHINE = frozenset({"rb-issue-368-bug.eml"})

FAILED, DELAYED, AUTO_REPLY, HUMAN = "failed", "delayed", "auto_reply", "human"

#: mailman-bounces: file stem -> (what the mail is, the failed recipients it names).
MAILMAN: dict[str, tuple[str, tuple[str, ...]]] = {
    # Postfix, Exim, sendmail and the simple formats Mailman's SimpleMatch reads
    "postfix_01": (FAILED, ("xxxxx@local.ie",)),
    "postfix_02": (FAILED, ("yyyyy@digicool.com",)),
    "postfix_03": (FAILED, ("ttttt@ggggg.com",)),
    "postfix_04": (FAILED, ("userx@mail1.example.com",)),
    "postfix_05": (FAILED, ("userx@example.net",)),
    "exim_01": (FAILED, ("userx@its.example.nl",)),
    "sendmail_01": (FAILED, ("zzzzz@shaft.coal.nl", "zzzzz@nfg.nl")),
    "simple_01": (FAILED, ("bbbsss@example.com",)),
    "simple_02": (FAILED, ("userx@example.net",)),
    "simple_04": (FAILED, ("userx@example.com",)),
    "newmailru_01": (FAILED, ("zzzzz@newmail.ru",)),
    "hotpop_01": (FAILED, ("userx@example.com",)),
    "microsoft_03": (FAILED, ("userx@example.com",)),
    "simple_05": (FAILED, ("userx@example.net",)),
    "simple_06": (FAILED, ("userx@example.com",)),
    "simple_07": (FAILED, ("userx@example.net",)),
    "simple_08": (FAILED, ("userx@example.de",)),
    "simple_09": (FAILED, ("userx@example.de",)),
    "simple_10": (FAILED, ("userx@example.com",)),
    "simple_11": (FAILED, ("userx@example.com",)),
    "simple_12": (FAILED, ("userx@example.ac.jp",)),
    "simple_13": (FAILED, ("userx@example.fr",)),
    "simple_14": (FAILED, ("userx@example.com", "usery@example.com")),
    "simple_15": (FAILED, ("userx@example.be",)),
    "simple_16": (FAILED, ("userx@example.com",)),
    "simple_17": (FAILED, ("userx@example.com",)),
    "simple_18": (FAILED, ("userx@example.com",)),
    "simple_19": (FAILED, ("userx@example.com.ar",)),
    "simple_20": (FAILED, ("userx@example.com",)),
    "simple_23": (FAILED, ("userx@example.it",)),
    "simple_24": (FAILED, ("userx@example.com",)),
    "simple_25": (FAILED, ("userx@example.com",)),
    "simple_26": (FAILED, ("userx@example.it",)),
    "simple_27": (FAILED, ("userx@example.net.py",)),
    "simple_29": (FAILED, ("userx@example.com",)),
    "simple_30": (FAILED, ("userx@example.com",)),
    "simple_31": (FAILED, ("userx@example.fr",)),
    "simple_32": (FAILED, ("userx@example.com",)),
    "simple_33": (FAILED, ("userx@example.com",)),
    "simple_34": (FAILED, ("roland@example.com",)),
    "simple_36": (FAILED, ("userx@example.com",)),
    "simple_37": (FAILED, ("user@example.edu",)),
    "simple_38": (FAILED, ("userx@example.com",)),
    "simple_39": (FAILED, ("userx@example.ru",)),
    "simple_41": (FAILED, ("userx@example.com",)),
    "simple_44": (FAILED, ("user@example.com",)),
    "bounce_02": (FAILED, ("userx@example.com",)),
    "bounce_03": (FAILED, ("userx@example.uk",)),
    "yahoo_12": (FAILED, ("user@yahoo.com",)),
    # delay warnings: machine mail, nothing failed yet
    "simple_03": (DELAYED, ()),
    "simple_21": (DELAYED, ()),
    "simple_22": (DELAYED, ()),
    "simple_28": (DELAYED, ()),
    "simple_35": (DELAYED, ()),
    "simple_40": (DELAYED, ()),
    # GroupWise and Exchange
    "groupwise_01": (FAILED, ("userx@example.edu",)),
    "groupwise_02": (FAILED, ("userx@example.com",)),
    "groupwise_03": (HUMAN, ()),  # a person's reply (Outlook 2003) that once confused Mailman's GroupWise reader
    "microsoft_01": (FAILED, ("userx@example.com",)),
    "microsoft_02": (FAILED, ("userx@example.com",)),
    "yale_01": (FAILED, ("userx@cs.yale.edu", "userx@yale.edu")),
    # RFC 3464 delivery status notifications
    "dsn_01": (FAILED, ("userx@example.com",)),
    "dsn_02": (FAILED, ("zzzzz@example.uk",)),
    "dsn_03": (FAILED, ("userx@example.be",)),
    "dsn_04": (FAILED, ("userx@example.ch",)),  # Original-Recipient, not Final-Recipient HAASM@yogi.urz.example.ch
    "dsn_05": (DELAYED, ()),
    "dsn_06": (DELAYED, ()),
    "dsn_07": (DELAYED, ()),
    "dsn_08": (DELAYED, ()),
    "dsn_09": (FAILED, ("userx@example.com",)),
    "dsn_10": (FAILED, ("anne.person@dom.ain",)),
    "dsn_11": (FAILED, ("joem@example.com",)),
    "dsn_12": (FAILED, ("userx@example.jp",)),
    "dsn_13": (FAILED, ("userx@example.com",)),
    "dsn_14": (FAILED, ("userx@example.com.dk",)),
    "dsn_15": (FAILED, ("userx@example.com",)),
    "dsn_16": (FAILED, ("userx@example.com",)),
    "dsn_17": (DELAYED, ()),
    "dsn_18": (FAILED, ("email@replaced.net",)),  # OpenSMTPD's "Action: error"
    # SMTP32 ("Delivery failed 20 attempts: user@…", "Unknown user: …")
    "smtp32_01": (FAILED, ("userx@example.ph",)),
    "smtp32_02": (FAILED, ("userx@example.com",)),
    "smtp32_03": (FAILED, ("userx@example.com",)),
    "smtp32_04": (FAILED, ("after_another@example.net", "one_bad_address@example.net")),
    "smtp32_05": (FAILED, ("userx@example.com",)),
    "smtp32_06": (FAILED, ("absolute_garbage_addr@example.net",)),
    "smtp32_07": (FAILED, ("userx@example.com",)),
    # qmail
    "qmail_01": (FAILED, ("userx@example.de",)),
    "qmail_02": (FAILED, ("userx@example.com",)),
    "qmail_03": (FAILED, ("userx@example.jp",)),
    "qmail_04": (FAILED, ("userx@example.au",)),
    "qmail_05": (FAILED, ("userx@example.com",)),
    "qmail_06": (FAILED, ("ntl@xxx.com",)),
    "qmail_07": (FAILED, ("user@example.net",)),
    "qmail_08": (AUTO_REPLY, ()),  # "Subject: Auto reply", Precedence: auto_reply
    # LLNL's sendmail, Netscape's server, Yahoo's own format (never read past "Below this line is a copy…")
    "llnl_01": (FAILED, ("user1@example.gov",)),
    "netscape_01": (FAILED, ("aaaaa@corel.com", "bbbbb@corel.com")),
    "yahoo_01": (FAILED, ("userx@example.com",)),
    "yahoo_02": (FAILED, ("userx@example.es",)),
    "yahoo_03": (FAILED, ("userx@example.com",)),
    "yahoo_04": (FAILED, ("userx@example.es", "usery@example.uk")),
    "yahoo_05": (FAILED, ("userx@example.com", "usery@example.com")),
    "yahoo_06": (FAILED, ("userx@example.com", "usery@example.com", "userz@example.com", "usera@example.com")),
    "yahoo_07": (FAILED, ("userw@example.com", "userx@example.com", "usery@example.com", "userz@example.com")),
    "yahoo_08": (FAILED, ("usera@example.com", "userb@example.com", "userc@example.com", "userd@example.com",
                          "usere@example.com", "userf@example.com")),
    "yahoo_09": (FAILED, ("userx@example.com", "usery@example.com")),
    "yahoo_10": (FAILED, ("userx@example.com", "usery@example.com", "userz@example.com")),
    "yahoo_11": (FAILED, ("bad_user@aol.com",)),
    "sina_01": (FAILED, ("userx@sina.com", "usery@sina.com")),
    "aol_01": (FAILED, ("screenname@aol.com",)),  # AOL names only the screen name
    # failures that name no address to read
    "dumbass_01": (FAILED, ()),
    "bounce_01": (FAILED, ()),  # "dylan (0), ErrMsg=mail box space not enough": a local name, no domain
}


def verdict_kind(verdict: MachineVerdict) -> str:
    """What a verdict says a mail is, in the words of :data:`MAILMAN`: failed, delayed, auto_reply or human."""
    if verdict.kind == "bounce":
        return FAILED if verdict.delivery in (FAILED, None) else DELAYED if verdict.delivery == DELAYED else "other"
    return verdict.kind


def sisimai_files() -> list[tuple[Path, bool]]:
    """Every mail of the sisimai folder, with whether it is machine mail."""
    found = [(path, True) for path in sorted((SISIMAI / "bsd").glob("*.eml"))]
    found += [(path, path.name in SISIMAI_NOT_BUT_MACHINE) for path in sorted((SISIMAI / "not").glob("*.eml"))]
    return found


def mailman_files() -> list[Path]:
    return sorted(MAILMAN_DIR.glob("*.txt"))


@dataclass
class Figures:
    """How many mails a detector got right, of how many, and which it got wrong."""

    right: int = 0
    total: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, ok: bool, what: str) -> None:
        self.total += 1
        self.right += ok
        if not ok:
            self.wrong.append(what)

    @property
    def ratio(self) -> float:
        return self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.right}/{self.total} = {self.ratio:.1%}"


#: A detector: raw mail bytes -> (failed, delayed, auto_reply or human; the lower-cased failed recipients).
Detector = Callable[[bytes], tuple[str, tuple[str, ...]]]


def ours(raw: bytes) -> tuple[str, tuple[str, ...]]:
    verdict = classify(parse_message(raw), RECEIVED)
    return verdict_kind(verdict), verdict.failed_recipients


@contextmanager
def rules_alone() -> Iterator[None]:
    """parsers.machine without flufl.bounce: our own rules only (what is left when the library finds nothing)."""
    saved = machine._library_failures
    machine._library_failures = lambda mail: ((), ())
    try:
        yield
    finally:
        machine._library_failures = saved


def sisimai_figures(detector: Detector) -> Figures:
    figures = Figures()
    for path, is_machine in sisimai_files():
        kind, _ = detector(path.read_bytes())
        figures.add((kind != HUMAN) == is_machine, f"{path.parent.name}/{path.name}: read as {kind}")
    return figures


def mailman_figures(detector: Detector) -> tuple[Figures, Figures]:
    """(the kind right, of every mail; the failed recipients exact, of the failures that name some)."""
    kinds, recipients = Figures(), Figures()
    for path in mailman_files():
        want_kind, want = MAILMAN[path.stem]
        kind, failed = detector(path.read_bytes())
        kinds.add(kind == want_kind, f"{path.stem}: {want_kind} read as {kind}")
        if want_kind == FAILED and want:
            expected = sorted(address.lower() for address in want)
            recipients.add(sorted(failed) == expected, f"{path.stem}: {expected} read as {sorted(failed)}")
    return kinds, recipients


def _report(title: str, figures: Figures) -> None:
    print(f"\n{title}: {figures}")
    for what in figures.wrong:
        print(f"  {what}")


# --- sisimai ----------------------------------------------------------------------------------------------


@needs_sisimai
def test_sisimai_machine_mail_is_told_apart() -> None:
    figures = sisimai_figures(ours)
    _report("sisimai, told apart (machine mail never human, people's mail human)", figures)
    assert figures.total >= 632, "every mail of the folder is read"
    assert figures.ratio >= SISIMAI_TOLD_APART, figures.wrong


@needs_sisimai
def test_sisimai_people_are_never_machine() -> None:
    people = [path for path, is_machine in sisimai_files() if not is_machine]
    assert people, "sisimai/not holds people's mail"
    assert {path.name: ours(path.read_bytes())[0] for path in people} == {path.name: HUMAN for path in people}


@needs_sisimai
@pytest.mark.parametrize(("prefix", "kind"), [
    ("lhost-dragonfly-", FAILED),  # From: MAILER-DAEMON <> (an empty address)
    ("arf-", AUTO_REPLY),  # abuse reports: ARF, and Microsoft's JMRP "complaint about message from …"
    ("rfc3834-", AUTO_REPLY),  # RFC 3834 automatic replies
    ("lhost-fml-", AUTO_REPLY),  # the fml list server's notices
    ("lhost-verizon-", FAILED),
])  # fmt: skip
def test_sisimai_families(prefix: str, kind: str) -> None:
    paths = sorted((SISIMAI / "bsd").glob(f"{prefix}*.eml"))
    assert paths
    kinds = {path.name: ours(path.read_bytes())[0] for path in paths}
    if kind == FAILED:  # a report: a failure or, for some, a delay warning; never a person or an auto-reply
        assert {name: k for name, k in kinds.items() if k not in (FAILED, DELAYED)} == {}
    else:
        assert kinds == dict.fromkeys(kinds, kind)


# --- mailman-bounces --------------------------------------------------------------------------------------


@needs_mailman
def test_mailman_table_covers_every_file() -> None:
    assert {path.stem for path in mailman_files()} == set(MAILMAN)


@needs_mailman
def test_mailman_reports_kind_and_failed_recipients() -> None:
    kinds, recipients = mailman_figures(ours)
    _report("mailman-bounces, kind right (failed / delayed / auto-reply / human)", kinds)
    _report("mailman-bounces, failed recipients exact (reports that name some)", recipients)
    assert kinds.total == len(MAILMAN)
    assert kinds.ratio >= MAILMAN_KIND, kinds.wrong
    assert recipients.ratio >= MAILMAN_RECIPIENTS, recipients.wrong


@needs_mailman
def test_mailman_failed_recipients_by_our_rules_alone() -> None:
    with rules_alone():
        kinds, recipients = mailman_figures(ours)
    _report("mailman-bounces, our rules alone: kind right", kinds)
    _report("mailman-bounces, our rules alone: failed recipients exact", recipients)
    assert kinds.ratio >= MAILMAN_KIND, kinds.wrong
    assert recipients.ratio >= MAILMAN_RECIPIENTS_RULES_ALONE, recipients.wrong


@needs_mailman
@pytest.mark.parametrize(("stem", "expected"), [
    ("smtp32_01", ("userx@example.ph",)),  # "Delivery failed 20 attempts: userx@example.ph"
    ("smtp32_04", ("after_another@example.net", "one_bad_address@example.net")),  # "Unknown user: …"
    ("yahoo_11", ("bad_user@aol.com",)),  # not <bogus@dont.find.me.invalid>, below "Below this line is a copy…"
    ("dsn_04", ("userx@example.ch",)),  # Original-Recipient before Final-Recipient
    ("dsn_18", ("email@replaced.net",)),  # OpenSMTPD's "Action: error"
    ("qmail_01", ("userx@example.de",)),
    ("exim_01", ("userx@its.example.nl",)),
    ("postfix_01", ("xxxxx@local.ie",)),
    ("sendmail_01", ("zzzzz@nfg.nl", "zzzzz@shaft.coal.nl")),
    ("microsoft_01", ("userx@example.com",)),  # Exchange's X.400 "dda:SMTP=userx@example.COM"
    ("groupwise_01", ("userx@example.edu",)),
])  # fmt: skip
def test_mailman_formats_by_our_rules_alone(stem: str, expected: tuple[str, ...]) -> None:
    """The common formats are read by our own rules too, should flufl.bounce find nothing."""
    with rules_alone():
        kind, failed = ours((MAILMAN_DIR / f"{stem}.txt").read_bytes())
    assert (kind, sorted(failed)) == (FAILED, sorted(expected))


@needs_mailman
@pytest.mark.parametrize("stem", sorted(stem for stem, (kind, _) in MAILMAN.items() if kind == DELAYED))
def test_mailman_delay_warnings_are_machine_mail_but_not_failures(stem: str) -> None:
    verdict = classify(parse_message((MAILMAN_DIR / f"{stem}.txt").read_bytes()), RECEIVED)
    assert verdict.kind == "bounce" and verdict.delayed and not verdict.failed
    assert verdict.failed_recipients == ()
