"""The digest from a real store: records made by the Ingestor from realistic mails, then figures, text, HTML, CSV,
template overrides and queueing."""

from __future__ import annotations

import csv
import inspect
import io
import logging
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import Config, parse_config
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.digest import (
    CSV_COLUMNS,
    build_digest,
    csv_rows,
    digest_key,
    queue_digest,
    render_digest,
)
from rules.digest import RecordSnapshot, StageSnapshot, compute_digest, period_ending
from store.repositories import OutboxRepository
from store.uow import Store
from tests.botsetup import TRIAL_SECURITY, Clock
from tests.mailfactory import BOT, IRO, QA, TM, Thread, outlook_escalation, outlook_reply, plain_reply

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=LONDON)  # Monday: the digest of the week 30 Nov - 6 Dec 2026



def _config(tmp_path: Path, **extra: object) -> Config:
    data: dict[str, object] = {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "security": TRIAL_SECURITY,
        "mailbox": {"address": BOT, "maildir": "mail"},
        "store": {"url": "sqlite:///bot.db"},
        "directory": {"qa_managers": [QA]},
        **extra,
    }
    return parse_config(data, source="test", base=tmp_path)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return _config(tmp_path)


SUBJECTS = {
    "overdue": "Action - Level 1 escalation - Jane Doe - MOSAIC 111111 - response by 01/12/2026",
    "soon": "Action - Level 1 escalation - Sam Smith - MOSAIC 222222",
    "resolved": "Action - Level 1 escalation - Amy Brown - MOSAIC 333333 - response by 04/12/2026",
    "escalated": "Action - Level 1 escalation - Ben Green - MOSAIC 444444 - response by 03/12/2026",
}


@pytest.fixture()
def store(config: Config) -> Store:
    """Four escalations and one stray mail, made through the Ingestor as they would arrive."""
    s = Store(config.store.url)
    s.upgrade()
    clock = Clock(datetime(2026, 11, 24, 9, 15, tzinfo=UTC))
    bot = Ingestor(s, config, clock)

    def mail(when: datetime, raw_of) -> str | None:
        clock.now = when
        result = bot.ingest(raw_of(when))
        return result.reference

    threads = {k: Thread(v, seed=k) for k, v in SUBJECTS.items()}
    # Tue 24 Nov: due Tue 1 Dec, never answered -> 4 working days overdue on Mon 7 Dec
    mail(datetime(2026, 11, 24, 9, 15, tzinfo=UTC),
         lambda w: outlook_escalation(threads["overdue"], subject=SUBJECTS["overdue"], when=w))
    # Thu 26 Nov: due Thu 3 Dec; the IRO escalates on Fri 4 Dec -> level 2, due Fri 11 Dec (due soon)
    mail(datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
         lambda w: outlook_escalation(threads["escalated"], subject=SUBJECTS["escalated"], when=w))
    # Mon 30 Nov: answered Tue 1 Dec, resolved by the IRO Thu 3 Dec
    mail(datetime(2026, 11, 30, 11, 0, tzinfo=UTC),
         lambda w: outlook_escalation(threads["resolved"], subject=SUBJECTS["resolved"], when=w))
    mail(datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
         lambda w: outlook_reply(threads["resolved"], sender=TM, to=[IRO], cc=[QA, BOT],
                                 text="The plan is signed off today.", when=w))
    mail(datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
         lambda w: plain_reply(threads["resolved"], sender=IRO, to=[TM], cc=[BOT], text="Resolved - plan signed off",
                               when=w))
    # Wed 2 Dec: no date in the subject -> Dorset's 5 working days: Wed 9 Dec (due soon)
    mail(datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
         lambda w: outlook_escalation(threads["soon"], subject=SUBJECTS["soon"], when=w))
    mail(datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
         lambda w: plain_reply(threads["escalated"], sender=IRO, to=[TM], cc=[BOT], text="Escalate", when=w))
    # a stray mail for a person to look at
    mail(datetime(2026, 12, 4, 16, 0, tzinfo=UTC),
         lambda w: plain_reply(Thread("Lunch on Friday?", seed="lunch"), sender=TM, to=[IRO], cc=[BOT],
                               text="Shall we?", when=w))
    yield s
    s.dispose()


def _refs(store: Store) -> dict[str, str]:
    """Scenario name -> reference, from the case numbers."""
    with store.unit_of_work() as uow:
        by_case = {e.case_number_values[0]: e.reference for e in uow.escalations.list()}
    return {"overdue": by_case["111111"], "soon": by_case["222222"], "resolved": by_case["333333"],
            "escalated": by_case["444444"]}


def _figures(store: Store, config: Config, period: str = "week"):
    with store.unit_of_work() as uow:
        return build_digest(uow, config, period, NOW)


# ------------------------------------------------------------------------------------------------- figures


def test_figures_match_the_records(store: Store, config: Config) -> None:
    refs = _refs(store)
    figures = _figures(store, config)
    assert (figures.period.start, figures.period.end) == (date(2026, 11, 30), date(2026, 12, 7))
    assert figures.open_count == 3
    assert {g.number: sorted(ln.reference for ln in g.lines) for g in figures.open_by_level} == {
        1: sorted([refs["overdue"], refs["soon"]]), 2: [refs["escalated"]]}
    (overdue,) = figures.overdue
    assert (overdue.reference, overdue.overdue_working_days, overdue.addressee) == (refs["overdue"], 4,
                                                                                    "Tom Manager")
    assert overdue.children == ("Jane Doe",)
    assert [(ln.reference, ln.due_on) for ln in figures.due_soon] == [(refs["soon"], date(2026, 12, 9)),
                                                                       (refs["escalated"], date(2026, 12, 11))]
    escalated = figures.due_soon[1]
    assert (escalated.level, escalated.role, escalated.addressee) == (2, "Service Manager", "not known")
    assert sorted(ln.reference for ln in figures.opened) == sorted([refs["resolved"], refs["soon"]])
    (closed,) = figures.closed
    assert (closed.reference, closed.outcome, closed.closed_on, closed.working_days_open) == (
        refs["resolved"], "resolved", date(2026, 12, 3), 3)
    assert (figures.closed_within_total, figures.closed_share_within_total) == (1, 1.0)
    (level1,) = figures.response_times
    assert (level1.level, level1.period_median, level1.period_count) == (1, 1.0, 1)  # Mon 30 Nov -> Tue 1 Dec
    assert (figures.themes, figures.unthemed) == ((), 2)
    assert figures.attention_count == 1
    assert figures.attention_oldest[0].subject == "Re: Lunch on Friday?"
    assert len(figures.rows) == 4


def test_month_digest_covers_november(store: Store, config: Config) -> None:
    figures = _figures(store, config, "month")
    assert figures.period.label == "November 2026"
    assert len(figures.opened) == 3  # 24, 26 and 30 November
    assert figures.closed == ()


# ------------------------------------------------------------------------------------------------- rendering


def test_subject_and_text_carry_the_figures(store: Store, config: Config) -> None:
    refs = _refs(store)
    rendered = render_digest(_figures(store, config), config)
    assert rendered.subject == "IRO escalations digest — week to 6 Dec 2026 — 3 open, 1 overdue"
    text = rendered.text
    assert "IRO escalations — Example Council" in text
    overdue_part = text.split("OVERDUE (1)")[1].split("DUE IN THE NEXT")[0]
    assert refs["overdue"] in overdue_part and "Jane Doe" in overdue_part
    assert "4 working days overdue" in overdue_part and "Tom Manager" in overdue_part
    soon_part = text.split("DUE IN THE NEXT 5 WORKING DAYS (2)")[1].split("OPEN ESCALATIONS")[0]
    assert refs["soon"] in soon_part and refs["escalated"] in soon_part and "due 9 Dec 2026" in soon_part
    assert "Closed: 1 (resolved 1)" in text
    assert "Closed within 20 working days: 1 of 1 (100%)" in text
    assert "Level 1 (Team Manager): 1 from 1 response" in text
    assert "no theme recorded: 2" in text
    assert "from Tom Manager <tom.manager@example.test>: Re: Lunch on Friday?" in text
    assert "Sent from the IRO escalations mailbox, Example Council." in text


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_outlook_safe(store: Store, config: Config) -> None:
    refs = _refs(store)
    html = render_digest(_figures(store, config), config).html
    parser = _Html()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "<script" not in html.lower()
    assert not re.search(r"https?://", html), "no external resources or links"
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert "<link" not in html and "<style" not in html and "@import" not in html
    assert all("class" not in attrs for _, attrs in parser.tags), "no class= styling"
    cells = [attrs for tag, attrs in parser.tags if tag in ("td", "th")]
    assert len(cells) > 30
    assert all(attrs.get("style") for attrs in cells), "every table cell is styled inline"
    assert not re.search(r"display\s*:\s*(flex|grid)", html)
    assert "IRO escalations — Example Council" in html
    assert "Sent from the IRO escalations mailbox, Example Council. To answer, reply to all" in html
    assert refs["overdue"] in html and "Jane Doe" in html
    widths = [attrs.get("width") for tag, attrs in parser.tags if tag == "table"]
    assert "680" in widths


def test_html_escapes_what_came_from_mails(config: Config) -> None:
    now = NOW
    opened = datetime(2026, 12, 1, 10, tzinfo=UTC)
    record = RecordSnapshot(
        reference="ESC-0001", status="open", opened_at=opened, current_level=1,
        stages=(StageSnapshot(level=1, role="Team Manager", started_at=opened, started_on=date(2026, 12, 1),
                              due_on=date(2026, 12, 8), addressee_name="<img src=x>"),),
        children=("<script>alert(1)</script> & Co",),
    )
    figures = compute_digest((record,), (), period_ending("week", now), now, config.policy,
                             config.calendar.calendar())
    rendered = render_digest(figures, config)
    assert "<script>alert" not in rendered.html and "<img src=x>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in rendered.html
    assert "<script>alert(1)</script> & Co" in rendered.text  # plain text is not escaped


def test_csv_parses_back_to_the_rows(store: Store, config: Config) -> None:
    refs = _refs(store)
    figures = _figures(store, config)
    data = render_digest(figures, config).csv_bytes
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM so Excel reads it as UTF-8"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == csv_rows(figures)
    assert tuple(rows[0]) == CSV_COLUMNS
    by_ref = {r[0]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert set(by_ref) == set(refs.values())
    overdue = by_ref[refs["overdue"]]
    assert (overdue["status"], overdue["level"], overdue["children"], overdue["case numbers"], overdue["due"],
            overdue["overdue working days"]) == ("open", "Level 1", "Jane Doe", "111111", "2026-12-01", "4")
    resolved = by_ref[refs["resolved"]]
    assert (resolved["status"], resolved["outcome"], resolved["closed"], resolved["responded"],
            resolved["working days open"]) == ("closed", "resolved", "2026-12-03", "2026-12-01", "3")


def test_csv_defuses_spreadsheet_formulas(config: Config) -> None:
    opened = datetime(2026, 12, 1, 10, tzinfo=UTC)
    record = RecordSnapshot(reference="ESC-0001", status="open", opened_at=opened, current_level=1,
                            children=("=HYPERLINK(\"x\")",))
    figures = compute_digest((record,), (), period_ending("week", NOW), NOW, config.policy,
                             config.calendar.calendar())
    rows = list(csv.reader(io.StringIO(render_digest(figures, config).csv_bytes.decode("utf-8-sig"))))
    assert rows[1][5] == "'=HYPERLINK(\"x\")"


def test_a_template_in_the_council_folder_wins(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "digest.txt.j2").write_text("Our own digest: {{ figures.open_count }} open in {{ council }}.\n",
                                          encoding="utf-8")
    config = _config(tmp_path, mail_out={"templates": "templates"})
    rendered = render_digest(_figures(store, config), config)
    assert rendered.text == "Our own digest: 3 open in Example Council.\n"
    assert "Overdue (1)" in rendered.html  # the HTML template was not overridden: the built-in one is used


def test_the_layout_is_generic(config: Config) -> None:
    from mailbot.mail_out.digest import environment

    env = environment(config)
    html = env.from_string('{% extends "_layout.html.j2" %}{% block body %}<p style="margin:0">Hello</p>'
                           '{% endblock %}').render(council="Example Council")
    assert "IRO escalations — Example Council" in html and "Hello" in html
    assert "Sent from the IRO escalations mailbox, Example Council." in html


# ------------------------------------------------------------------------------------------------- queueing


def _outbox_takes_attachments() -> bool:
    return "attachments" in inspect.signature(OutboxRepository.add).parameters


def test_no_qa_managers_means_no_digest(tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    config = _config(tmp_path, directory={})
    with caplog.at_level(logging.WARNING, logger="mailbot.mail_out.digest"), store.unit_of_work() as uow:
        assert queue_digest(uow, config, "week", NOW) is None
    assert "directory.qa_managers" in caplog.text


@pytest.mark.skipif(not _outbox_takes_attachments(), reason="OutboxRepository.add(attachments=...) not merged yet")
def test_queue_digest_once_per_period(store: Store, config: Config, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), store.unit_of_work() as uow:
        row = queue_digest(uow, config, "week", NOW)
        assert row is not None
        assert row.key == "digest.week.2026-12-06" == digest_key(period_ending("week", NOW))
        assert (row.kind, row.to_emails, row.status) == ("digest", [QA], "pending")
        assert row.subject.startswith("IRO escalations digest — week to 6 Dec 2026")
        assert "Jane Doe" in row.body_text and row.body_html and "Jane Doe" in row.body_html
        ((filename, content_type, data),) = row.attachment_list()
        assert (filename, content_type) == ("iro-escalations-week-2026-12-06.csv", "text/csv")
        assert data.startswith(b"\xef\xbb\xbf") and b"Jane Doe" in data
    assert "Jane Doe" not in caplog.text, "children's names stay out of the logs"
    later = NOW + timedelta(hours=3)
    with store.unit_of_work() as uow:
        again = queue_digest(uow, config, "week", later)
        assert again is not None and again.id == row.id
        assert len([m for m in uow.outbox.pending(later) if m.kind == "digest"]) == 1
        next_week = queue_digest(uow, config, "week", NOW + timedelta(days=7))
        assert next_week is not None and next_week.key == "digest.week.2026-12-13"


# ------------------------------------------------------------------------------------------------- the command


def _cli(tmp_path: Path, *args: str):
    from click.testing import CliRunner

    from mailbot.cli import cli

    (tmp_path / "config.toml").write_text(
        '[council]\nname = "Example Council"\ndomains = ["example.test"]\n'
        f'[mailbox]\naddress = "{BOT}"\nmaildir = "mail"\n'
        '[store]\nurl = "sqlite:///bot.db"\n'
        f'[directory]\nqa_managers = ["{QA}"]\n', encoding="utf-8")
    return CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "digest", *args],
                              env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})


def test_command_prints_the_text(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path, "--now", "2026-12-07")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: IRO escalations digest — week to 6 Dec 2026 — 3 open, 1 overdue\n")
    assert "OVERDUE (1)" in result.output and "Jane Doe" in result.output
    month = _cli(tmp_path, "--period", "month", "--now", "2026-12-15T12:00")
    assert "Monthly digest — November 2026" in month.output


def test_command_writes_a_preview(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "preview.html"
    result = _cli(tmp_path, "--now", "2026-12-07T08:00:00+00:00", "--preview", str(out))
    assert result.exit_code == 0, result.output
    assert "written to" in result.output and "OVERDUE" not in result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_command_rejects_a_bad_now(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path, "--now", "next monday")
    assert result.exit_code == 2
    assert "is not an ISO date" in result.output


def test_command_sends_once(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path, "--now", "2026-12-07", "--send")
    assert result.exit_code == 0, result.output
    assert f"Queued digest.week.2026-12-06 to {QA}." in result.output
    with store.unit_of_work() as uow:
        row = uow.outbox.get("digest.week.2026-12-06")
        assert row is not None
        delivered = row.status == "sent"
    if delivered:  # mailbot.mail_out.delivery is there: written to the local sent folder (mail_out.transport = maildir)
        assert "Sent" in result.output
        sent = [f.read_bytes() for f in (tmp_path / "var" / "sent" / "new").iterdir()]
        digests = [m for m in sent if b"X-IRO-Mailbot-Key: digest.week.2026-12-06" in m]
        assert len(digests) == 1 and b"text/csv" in digests[0]
    again = _cli(tmp_path, "--now", "2026-12-07T10:00", "--send")
    assert again.exit_code == 0, again.output
    assert "was queued before" in again.output


def test_mail_the_bot_could_not_send_needs_attention_in_the_digest(tmp_path: Path) -> None:
    from mailbot.config import parse_config
    from mailbot.mail_out.digest import build_digest
    from mailbot.mail_out.outbox import queue_mail

    config = parse_config({"council": {"name": "Example Council", "domains": ["example.test"]},
                           "store": {"url": "sqlite:///bot.db"}}, source="test", base=tmp_path)
    store = Store(config.store.url)
    store.upgrade()
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with store.unit_of_work() as uow:
        refused = queue_mail(uow, config, key="x.refused", kind="note", to=["someone@elsewhere.example"],
                             subject="Note", text="t", now=now)
        failed = queue_mail(uow, config, key="x.failed", kind="note", to=["tm@example.test"], subject="Chaser",
                            text="t", now=now)
        assert refused is not None and failed is not None
        uow.outbox.mark_failed(failed, "SendConnectionError: 421 try later")
        queue_mail(uow, config, key="x.pending", kind="note", to=["tm@example.test"], subject="Fine", text="t", now=now)
        uow.commit()
    with store.unit_of_work() as uow:
        figures = build_digest(uow, config, "week", now)
    assert figures.attention_count == 2
    reasons = sorted(m.reason or "" for m in figures.attention_oldest)
    assert reasons == ["the bot could not send this mail, given up after repeated failures: SendConnectionError: 421 "
                       "try later", "the bot could not send this mail, refused: no recipient inside council.domains"]
