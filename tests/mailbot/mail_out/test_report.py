"""The policy's reports from a real (SQLite) store: who each goes to (the directory, [reports.audiences], and the QA
managers with a first line when nobody answers to a role), names, keys (once per report and period), the mail's
words and attachments, check-config's lines, the configuration's errors and the ``mailbot report`` command."""

from __future__ import annotations

import csv
import io
import logging
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from mailbot.config import Config, parse_config
from mailbot.errors import ConfigError
from mailbot.mail_in.ingest import Ingestor
from mailbot.mail_out.digest import (
    CSV_COLUMNS,
    ReportNotFound,
    build_report,
    csv_rows,
    find_report,
    queue_report,
    render_report,
    report_check_lines,
    report_key,
    report_names,
    report_period,
    report_recipients,
    resolve_audience,
)
from mailbot.mail_out.tracker import XLSX_TYPE
from rules.procedure import Report
from store.uow import Store
from tests.botsetup import TRIAL_SECURITY, Clock
from tests.mailfactory import BOT, IRO, QA, TM, Thread, outlook_escalation, plain_reply

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=LONDON)  # the first working day of December: November's monthly report
SMT = "smt@example.test"
OPS = "ops.manager@example.test"
REPORTS = [
    {"cadence": "weekly", "audience": ["Operations Manager (Safeguarding)", "Quality and Performance Team"],
     "kind": "tracker", "section": "4.1"},
    {"cadence": "monthly", "audience": ["SMT"], "kind": "themes", "section": "4.2"},
    {"cadence": "quarterly", "audience": ["RSCP"], "kind": "themes", "section": "4.2"},
    {"cadence": "annual", "audience": ["IRO Team Manager"], "kind": "annual"},
]
PEOPLE = [{"email": OPS, "name": "Olu Ops", "role": "Operations Manager (Safeguarding)"},
          {"email": TM, "name": "Tom Manager", "role": "Team Manager"}]


def make_config(tmp_path: Path, *, audiences: dict[str, object] | None = None, **extra: object) -> Config:
    data: dict[str, object] = {
        "council": {"name": "Example Council", "domains": ["example.test"]},
        "security": TRIAL_SECURITY,
        "mailbox": {"address": BOT, "maildir": "mail"},
        "store": {"url": "sqlite:///bot.db"},
        "policy": {"preset": "dorset", "reports": REPORTS},
        "directory": {"qa_managers": [QA], "people": PEOPLE},
        "reports": {"audiences": {"SMT": [SMT]} if audiences is None else audiences},
        **extra,
    }
    return parse_config(data, source="test", base=tmp_path)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


SUBJECTS = {
    "resolved": "Action - Level 1 escalation - Amy Brown - MOSAIC 333333 - response by 12/11/2026",
    "open": "Action - Level 1 escalation - Jane Doe - MOSAIC 111111",
}


@pytest.fixture()
def store(config: Config) -> Store:
    """Two escalations in November 2026: one resolved by the IRO, one still open."""
    s = Store(config.store.url)
    s.upgrade()
    clock = Clock(datetime(2026, 11, 5, 9, 15, tzinfo=UTC))
    bot = Ingestor(s, config, clock)
    threads = {k: Thread(v, seed=k) for k, v in SUBJECTS.items()}

    def mail(when: datetime, raw: bytes) -> None:
        clock.now = when
        bot.ingest(raw)

    when = datetime(2026, 11, 5, 9, 15, tzinfo=UTC)
    mail(when, outlook_escalation(threads["resolved"], subject=SUBJECTS["resolved"], when=when))
    when = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    mail(when, plain_reply(threads["resolved"], sender=IRO, to=[TM], cc=[BOT],
                           text="Resolved - plan signed off", when=when))
    when = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    mail(when, outlook_escalation(threads["open"], subject=SUBJECTS["open"], when=when))
    yield s
    s.dispose()


# ------------------------------------------------------------------------------------------------- names


def test_each_report_has_a_name_and_is_found_by_name_or_cadence(config: Config) -> None:
    names = [n for n, _ in report_names(config.policy)]
    assert names == ["weekly-tracker", "monthly-themes", "quarterly-themes", "annual"]
    assert find_report(config.policy, "monthly")[0] == "monthly-themes"
    assert find_report(config.policy, "tracker")[0] == "weekly-tracker"
    assert find_report(config.policy, "Quarterly-Themes")[0] == "quarterly-themes"
    with pytest.raises(ReportNotFound, match="use one of: weekly-tracker, monthly-themes, quarterly-themes, annual"):
        find_report(config.policy, "daily")
    with pytest.raises(ReportNotFound, match="fits 2 reports"):
        find_report(config.policy, "themes")


def test_two_reports_alike_are_told_apart_by_their_audience(tmp_path: Path) -> None:
    twins = [{"cadence": "monthly", "audience": ["SMT"]},
             {"cadence": "monthly", "audience": ["Corporate Parenting Panel"]}]
    config = make_config(tmp_path, policy={"preset": "dorset", "reports": twins})
    assert [n for n, _ in report_names(config.policy)] == ["monthly-themes-smt",
                                                           "monthly-themes-corporate-parenting-panel"]


def test_keys_are_the_report_and_its_period(config: Config) -> None:
    _, monthly = find_report(config.policy, "monthly")
    assert report_key("monthly-themes", report_period(monthly, NOW)) == "report.monthly-themes.2026-11-30"
    assert report_period(monthly, NOW, date(2026, 10, 15)).label == "October 2026"
    _, annual = find_report(config.policy, "annual")
    assert report_key("annual", report_period(annual, NOW)) == "report.annual.2026-03-31"


# ------------------------------------------------------------------------------------------------- audiences


def test_audiences_from_the_configuration_the_directory_and_the_lists(tmp_path: Path) -> None:
    config = make_config(tmp_path, directory={"qa_managers": [QA], "iro_team_managers": ["itm@example.test"],
                                              "people": [*PEOPLE, {"email": "slt@example.test", "name": "S L",
                                                                   "role": "SMT"}]})
    configured = resolve_audience("smt", config)  # roles are compared as the directory compares them
    assert (configured.addresses, configured.source) == ((SMT,), "reports.audiences")  # the configuration wins
    ops = resolve_audience("Operations Manager (Safeguarding)", config)
    assert (ops.addresses, ops.source) == ((OPS,), "directory")
    assert resolve_audience("IRO Team Manager", config).addresses == ("itm@example.test",)
    assert resolve_audience("QA Manager", config).addresses == (QA,)
    nobody = resolve_audience("RSCP", config)
    assert (nobody.found, nobody.addresses, nobody.source) == (False, (), "")


def test_a_role_nobody_answers_to_goes_to_the_qa_managers(config: Config) -> None:
    _, weekly = find_report(config.policy, "weekly")
    assert report_recipients(weekly, config) == ((OPS, QA), ("Quality and Performance Team",))
    _, monthly = find_report(config.policy, "monthly")
    assert report_recipients(monthly, config) == ((SMT,), ())
    _, quarterly = find_report(config.policy, "quarterly")
    assert report_recipients(quarterly, config) == ((QA,), ("RSCP",))


def test_check_config_lists_who_gets_each_report(tmp_path: Path) -> None:
    config = make_config(tmp_path, audiences={"SMT": [SMT], "Corporate Parenting": ["cp@example.test"],
                                              "RSCP": ["rscp@partners.example"]})
    lines = report_check_lines(config)
    assert lines[0] == "reports of the policy (4):"
    assert "  monthly-themes (monthly themes and outcomes, section 4.2) → SMT: smt@example.test" in lines
    assert any(line.startswith("  weekly-tracker (weekly tracker, section 4.1) → Operations Manager (Safeguarding): "
                               "ops.manager@example.test; Quality and Performance Team: nobody") for line in lines)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert ('warning: report weekly-tracker is for Quality and Performance Team; no address is configured — add '
            '"Quality and Performance Team" = ["…"] to [reports.audiences] in the configuration (or give someone in '
            "the directory that role); until then it goes to the QA managers") in warnings
    assert any("IRO Team Manager; no address is configured" in w for w in warnings)
    assert any("rscp@partners.example (RSCP) is outside council.domains" in w for w in warnings)
    assert any(w.startswith('warning: reports.audiences."Corporate Parenting": no report of policy') for w in warnings)


def test_check_config_prints_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mailbot.cli import cli

    path = tmp_path / "config.toml"
    path.write_text('[council]\nname = "Example Council"\ndomains = ["example.test"]\n'
                    '[policy]\npreset = "dorset"\n[[policy.reports]]\ncadence = "monthly"\naudience = ["SMT"]\n'
                    f'[directory]\nqa_managers = ["{QA}"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-config", str(path)], env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})
    assert "  monthly-themes (monthly themes and outcomes) → SMT: nobody — the QA managers get it" in result.output
    assert "  warning: report monthly-themes is for SMT; no address is configured" in result.output


# ------------------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("reports", "message"), [
    ({"audiences": "smt@example.test"},
     "test: reports.audiences: must be a table of roles and their addresses, got a text — write it as "
     '[reports.audiences] with one line a role, e.g. "SMT" = ["smt@council.gov.uk"]'),
    ({"audiences": {"SMT": ["not an address"]}},
     "test: reports.audiences.SMT: 'not an address' is not an email address — write e.g. "
     '"SMT" = ["name@council.gov.uk"]'),
    ({"audiences": {"Quality and Performance Team": []}},
     'test: reports.audiences."Quality and Performance Team": must be a list of email addresses, got [] — write '
     'e.g. "Quality and Performance Team" = ["name@council.gov.uk"]'),
    ({"audiences": {"SMT": ["a@example.test"], "smt": ["b@example.test"]}},
     "test: reports.audiences.smt: is the same role as 'SMT' — keep one line for it"),
    ({"audience": {"SMT": ["a@example.test"]}},
     "test: reports.audience: unknown key (allowed here: audiences) — did you mean 'audiences'?"),
])
def test_configuration_mistakes_name_the_key_and_the_fix(tmp_path: Path, reports: dict, message: str) -> None:
    data = {"council": {"name": "Example Council", "domains": ["example.test"]}, "reports": reports}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test", base=tmp_path)
    assert str(caught.value) == message


def test_a_single_address_may_be_written_without_a_list(tmp_path: Path) -> None:
    config = make_config(tmp_path, audiences={"SMT": "SMT@Example.test"})
    assert config.reports.addresses("smt") == ("smt@example.test",)
    assert config.reports.addresses("S.M.T.") == ("smt@example.test",)  # full stops do not matter, as for the directory
    assert config.reports.addresses("SLT") is None


# ------------------------------------------------------------------------------------------------- the mail


def test_the_monthly_report_counts_november(store: Store, config: Config) -> None:
    _, monthly = find_report(config.policy, "monthly")
    with store.unit_of_work() as uow:
        figures = build_report(uow, config, monthly, NOW)
    o = figures.outcome_summary
    assert figures.period.label == "November 2026"
    assert (o.opened, o.still_open, o.closed, o.resolved_by_level) == (2, 1, 1, (("Level 1", 1),))
    assert o.median_working_days_to_close == 3.0  # Thu 5 Nov -> Tue 10 Nov
    rendered = render_report(figures, config, monthly)
    assert rendered.subject == "IRO escalations: themes and outcomes — November 2026"
    text = rendered.text
    assert text.startswith("IRO escalations — Example Council\nMonthly themes and outcomes — November 2026\n")
    assert "For SMT (the procedure, section 4.2)." in text
    assert "    resolved at Level 1:           1\n" in text
    assert "  Opened:                          2 (still open now: 1)\n" in text
    assert "Median working days to close:    3\n" in text
    assert "Amy Brown" not in text and "Amy Brown" not in rendered.html, "counts only: the names are attached"
    assert "<script" not in rendered.html.lower() and "<style" not in rendered.html
    xlsx, csv_file = rendered.attachments
    assert (xlsx.filename, xlsx.content_type) == ("iro-escalations-monthly-themes-2026-11-30.xlsx", XLSX_TYPE)
    assert (csv_file.filename, csv_file.content_type) == ("iro-escalations-monthly-themes-2026-11-30.csv", "text/csv")
    rows = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    assert rows == csv_rows(figures) and tuple(rows[0]) == CSV_COLUMNS
    resolved = next(dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:] if r[6] == "333333")
    assert (resolved["IRO"], resolved["outcome text"]) == ("Jane Reviewer", "plan signed off")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data))["Tracker"]
    assert sorted(sheet.cell(row=r, column=3).value for r in (2, 3)) == ["Amy Brown", "Jane Doe"]
    # the retention purge reads attachments as text: the CSV beside the (zipped) XLSX carries every row it has, so a
    # purged child's name found there redacts the whole mail, XLSX included (store/retention.py)
    csv_text = csv_file.data.decode("utf-8-sig")
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert row[0] in csv_text and row[2] in csv_text and row[3] in csv_text


def test_the_html_is_outlook_safe(store: Store, config: Config) -> None:
    import re
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict[str, str | None]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append((tag, dict(attrs)))

    _, annual = find_report(config.policy, "annual")
    with store.unit_of_work() as uow:
        html = render_report(build_report(uow, config, annual, datetime(2027, 4, 1, 8, tzinfo=LONDON)), config,
                             annual, missing=("IRO Team Manager",)).html
    parser = Tags()
    parser.feed(html)
    assert not re.search(r"https?://|\b(src|href)\s*=|<style|<link|<script", html, re.I)
    assert all("class" not in attrs for _, attrs in parser.tags)
    cells = [attrs for tag, attrs in parser.tags if tag in ("td", "th")]
    assert len(cells) > 40 and all(attrs.get("style") for attrs in cells)
    assert "680" in [attrs.get("width") for tag, attrs in parser.tags if tag == "table"]


def test_a_report_for_nobody_says_so_in_its_first_line(store: Store, config: Config) -> None:
    _, quarterly = find_report(config.policy, "quarterly")
    with store.unit_of_work() as uow:
        figures = build_report(uow, config, quarterly, NOW)
    rendered = render_report(figures, config, quarterly, missing=("RSCP",))
    first = rendered.text.splitlines()[0]
    assert first == ("This report is for RSCP; no address is configured — add it to [reports.audiences] in the "
                     "configuration.")
    assert "This report is for RSCP; no address is configured" in rendered.html
    assert rendered.subject == "IRO escalations: themes and outcomes — Jul–Sep 2026"


def test_the_annual_summary_is_broken_down_by_quarter(store: Store, config: Config) -> None:
    _, annual = find_report(config.policy, "annual")
    moment = datetime(2027, 4, 1, 8, tzinfo=LONDON)
    with store.unit_of_work() as uow:
        rendered = render_report(build_report(uow, config, annual, moment), config, annual)
    assert rendered.subject == "IRO escalations: annual report summary — the financial year 2026–27"
    assert "Annual report summary — the financial year 2026–27" in rendered.text
    by_quarter = rendered.text.split("BY QUARTER")[1].split("WORKING DAYS")[0]
    assert "- Oct–Dec 2026: opened 2, closed 1 (resolved 1, withdrawn 0, Cafcass 0)" in by_quarter
    assert by_quarter.count("\n- ") == 4


# ------------------------------------------------------------------------------------------------- queueing


def test_queued_once_per_report_and_period(store: Store, config: Config, caplog: pytest.LogCaptureFixture) -> None:
    _, monthly = find_report(config.policy, "monthly")
    with caplog.at_level(logging.DEBUG), store.unit_of_work() as uow:
        row = queue_report(uow, config, monthly, NOW)
        assert row is not None
        assert (row.key, row.kind, row.to_emails, row.status) == ("report.monthly-themes.2026-11-30", "report",
                                                                   [SMT], "pending")
        assert [a[0] for a in row.attachment_list()] == ["iro-escalations-monthly-themes-2026-11-30.xlsx",
                                                         "iro-escalations-monthly-themes-2026-11-30.csv"]
    assert "Amy Brown" not in caplog.text and "Jane Doe" not in caplog.text
    with store.unit_of_work() as uow:
        again = queue_report(uow, config, monthly, datetime(2026, 12, 15, 12, tzinfo=LONDON))
        assert again is not None and again.id == row.id
        later = queue_report(uow, config, monthly, datetime(2027, 1, 4, 8, tzinfo=LONDON))
        assert later is not None and later.key == "report.monthly-themes.2026-12-31"


def test_queued_to_the_qa_managers_when_nobody_answers(store: Store, config: Config) -> None:
    _, weekly = find_report(config.policy, "weekly")
    with store.unit_of_work() as uow:
        row = queue_report(uow, config, weekly, NOW)
        assert row is not None and sorted(row.to_emails) == sorted([OPS, QA])
        assert row.body_text.startswith("This report is for Quality and Performance Team; no address is configured")
        assert row.subject == "IRO escalations tracker — week to 29 Nov 2026"


def test_an_address_outside_the_council_is_refused(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path, audiences={"SMT": [SMT], "RSCP": ["rscp@partners.example"]})
    _, quarterly = find_report(config.policy, "quarterly")
    with store.unit_of_work() as uow:
        row = queue_report(uow, config, quarterly, NOW)
        assert row is not None and row.status == "refused"


def test_nobody_at_all_means_no_report(tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(tmp_path, directory={})
    _, quarterly = find_report(config.policy, "quarterly")
    with caplog.at_level(logging.WARNING), store.unit_of_work() as uow:
        assert queue_report(uow, config, quarterly, NOW) is None
    assert "nobody to send it to" in caplog.text and "RSCP" in caplog.text


def test_a_catch_up_sends_no_report_of_a_time_before_the_store_held_anything(store: Store, config: Config) -> None:
    _, quarterly = find_report(config.policy, "quarterly")  # Jul–Sep 2026: before the first escalation (5 Nov)
    _, monthly = find_report(config.policy, "monthly")
    with store.unit_of_work() as uow:
        assert queue_report(uow, config, quarterly, NOW, catching_up=True) is None
        assert queue_report(uow, config, quarterly, NOW) is not None  # on its own moment, or by hand, it goes
        assert queue_report(uow, config, monthly, NOW, catching_up=True) is not None


# ------------------------------------------------------------------------------------------------- the command


def _cli(tmp_path: Path, *args: str):
    from click.testing import CliRunner

    from mailbot.cli import cli

    (tmp_path / "config.toml").write_text(
        '[council]\nname = "Example Council"\ndomains = ["example.test"]\n'
        f'[mailbox]\naddress = "{BOT}"\nmaildir = "mail"\n'
        '[store]\nurl = "sqlite:///bot.db"\n'
        '[policy]\npreset = "dorset"\n'
        '[[policy.reports]]\ncadence = "monthly"\naudience = ["SMT"]\nkind = "themes"\n'
        '[[policy.reports]]\ncadence = "annual"\naudience = ["QA Manager"]\nkind = "annual"\n'
        f'[directory]\nqa_managers = ["{QA}"]\n'
        f'[reports.audiences]\nSMT = ["{SMT}"]\n', encoding="utf-8")
    return CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "report", *args],
                              env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})


def test_command_lists_the_reports(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path)
    assert result.exit_code == 0, result.output
    assert "monthly-themes (monthly themes and outcomes) → SMT: smt@example.test" in result.output
    assert "annual (annual report summary) → QA Manager: quinn.qa@example.test" in result.output


def test_command_prints_one_report(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path, "monthly", "--now", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: IRO escalations: themes and outcomes — November 2026\n"
                                    f"To: {SMT}\nAttached: iro-escalations-monthly-themes-2026-11-30.xlsx, ")
    october = _cli(tmp_path, "monthly", "--now", "2026-12-01", "--period", "15/10/2026")
    assert "— October 2026" in october.output
    unknown = _cli(tmp_path, "weekly")
    assert unknown.exit_code == 2
    assert "has no report 'weekly' — use one of: monthly-themes, annual" in unknown.output


def test_command_writes_the_files_privately(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "reports"
    result = _cli(tmp_path, "annual", "--now", "2027-04-01", "--to-file", str(out))
    assert result.exit_code == 0, result.output
    assert "written to" in result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["iro-escalations-annual-2027-03-31.csv", "iro-escalations-annual-2027-03-31.html",
                     "iro-escalations-annual-2027-03-31.txt", "iro-escalations-annual-2027-03-31.xlsx"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert (out / files[2]).read_text(encoding="utf-8").startswith(
        f"Subject: IRO escalations: annual report summary — the financial year 2026–27\nTo: {QA}\n\n")
    with store.unit_of_work() as uow:
        assert uow.outbox.get("report.annual.2027-03-31") is None, "--to-file sends nothing"


def test_command_sends_once(tmp_path: Path, store: Store) -> None:
    result = _cli(tmp_path, "monthly", "--now", "2026-12-01", "--send")
    assert result.exit_code == 0, result.output
    assert f"Queued report.monthly-themes.2026-11-30 to {SMT}." in result.output
    again = _cli(tmp_path, "monthly", "--now", "2026-12-01T10:00", "--send")
    assert "was queued before" in again.output
    with store.unit_of_work() as uow:
        assert uow.outbox.get("report.monthly-themes.2026-11-30") is not None


def test_a_report_is_a_policy_report(config: Config) -> None:
    assert all(isinstance(r, Report) for _, r in report_names(config.policy))


def test_a_counts_only_report_attaches_no_record_of_a_child(tmp_path: Path) -> None:
    """Rotherham 4.2: the quarterly report is "shared with the RSCP" — partners outside the council get the figures
    and themes, never the tracker with children's names."""
    from rules.digest import compute_digest, period_ending
    from rules.presets import ROTHERHAM
    from tests.botsetup import example_config

    [rscp] = [r for r in ROTHERHAM.reports if "RSCP" in r.audience]
    assert rscp.counts_only
    config = example_config(tmp_path, policy={"preset": "rotherham"})
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    figures = compute_digest([], [], period_ending("quarter", now), now, config.policy, config.calendar.calendar())
    rendered = render_report(figures, config, rscp)
    assert rendered.attachments == ()
    assert "no record of a child is attached" in rendered.text
