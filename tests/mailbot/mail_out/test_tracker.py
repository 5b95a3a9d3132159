"""The tracker spreadsheet read back with openpyxl: headers, one column group per level of the policy, real dates,
formula-looking text kept as text, the frozen header, widths, the autofilter and the Themes sheet."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from mailbot.config import Config
from mailbot.mail_out.tracker import DATE_FORMAT, tracker_columns, tracker_xlsx
from rules.calendar import WorkingCalendar
from rules.digest import RecordSnapshot, StageSnapshot, compute_digest, period_ending
from rules.presets import PRESETS
from tests.botsetup import example_config

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=LONDON)  # the quarterly report of Oct–Dec 2026
CAL = WorkingCalendar("england")


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=LONDON)


def stage(level: int, role: str, started: datetime, due: date | None = None, *,
          responded: datetime | None = None) -> StageSnapshot:
    return StageSnapshot(level=level, role=role, started_at=started, started_on=started.date(), due_on=due,
                         responded_at=responded)


RECORDS = (
    RecordSnapshot(
        reference="ESC-0001", status="closed", opened_at=at(2026, 11, 2), current_level=2,
        stages=(stage(1, "Team Manager", at(2026, 11, 2), date(2026, 11, 9), responded=at(2026, 11, 5)),
                stage(2, "Service Manager", at(2026, 11, 10), date(2026, 11, 17), responded=at(2026, 11, 12))),
        outcome="resolved", closed_at=at(2026, 11, 13), children=("Jane Doe",), case_numbers=("MOSAIC 111111",),
        themes=("Care plan", "Placement concerns"), iro="Ida Reviewer", outcome_text="Resolved – plan signed off"),
    RecordSnapshot(
        reference="ESC-0002", status="open", opened_at=at(2026, 12, 1), current_level=1,
        stages=(stage(1, "Team Manager", at(2026, 12, 1), date(2026, 12, 8)),),
        children=('=HYPERLINK("http://evil.example","Sam")',), case_numbers=("-123",),
        themes=("@SUM(1+1)",), iro="+Ivy Chair"),
    RecordSnapshot(
        reference="ESC-0003", status="closed", opened_at=at(2026, 10, 5), current_level=5,
        stages=(stage(1, "Team Manager", at(2026, 10, 5), date(2026, 10, 12)),
                stage(5, "Cafcass referral", at(2026, 11, 20))),
        outcome="cafcass", closed_at=at(2026, 11, 20), children=("Amy\x07 Brown",), case_numbers=("333333",)),
)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return example_config(tmp_path)


def figures(config: Config, records=RECORDS, kind: str = "quarter"):
    return compute_digest(records, (), period_ending(kind, NOW), NOW, config.policy, CAL)


def workbook(config: Config, records=RECORDS, kind: str = "quarter") -> openpyxl.Workbook:
    data = tracker_xlsx(figures(config, records, kind), config.policy, CAL)
    assert data[:2] == b"PK", "an XLSX is a zip file"
    return openpyxl.load_workbook(io.BytesIO(data))


def rows_by_ref(ws: Worksheet) -> dict[str, dict[str, object]]:
    header = [c.value for c in ws[1]]
    return {row[0].value: {h: c for h, c in zip(header, row, strict=True)} for row in ws.iter_rows(min_row=2)}


def test_the_headers_have_one_column_group_per_level(config: Config) -> None:
    ws = workbook(config)["Tracker"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["Reference", "IRO/CC", "Child", "Case number", "Level now", "Opened"]
    assert header[-5:] == ["Working days in all", "Outcome", "Outcome in the IRO's words", "Date concluded",
                           "Themes"]
    policy = config.policy  # Dorset: Informal, Levels 1 to 4, Level 5 Cafcass referral
    for level in policy.levels:
        group = [h for h in header if h.startswith(f"{level.label} ")]
        if level.terminal:
            assert group == [f"{level.label} {level.role}"]
        elif level.informal:
            assert group == [f"{level.label} started", f"{level.label} responded",
                             f"{level.label} working days to respond"]
        else:
            assert group == [f"{level.label} {w}" for w in ("started", "due", "responded", "working days to respond")]
    assert len(header) == len(tracker_columns(policy, NOW, CAL)) == 6 + 3 + 4 * 4 + 1 + 5


@pytest.mark.parametrize("preset", ["hull", "rotherham", "south-west"])
def test_every_policy_gets_its_own_groups(tmp_path: Path, preset: str) -> None:
    config = example_config(tmp_path, policy={"preset": preset})
    header = [c.value for c in workbook(config)["Tracker"][1]]
    timed = [lvl for lvl in PRESETS[preset].levels if lvl.timed]
    assert [h for h in header if h.endswith(" due")] == [f"{lvl.label} due" for lvl in timed]


def test_dates_are_real_dates_shown_day_first(config: Config) -> None:
    rows = rows_by_ref(workbook(config)["Tracker"])
    opened = rows["ESC-0001"]["Opened"]
    assert opened.is_date and opened.value == datetime(2026, 11, 2) and opened.number_format == DATE_FORMAT
    first = rows["ESC-0001"]
    assert first["Level 1 due"].value == datetime(2026, 11, 9)
    assert first["Level 1 responded"].value == datetime(2026, 11, 5)
    assert first["Level 1 working days to respond"].value == 3
    assert first["Level 2 started"].value == datetime(2026, 11, 10)
    assert first["Level 2 working days to respond"].value == 2
    assert first["Level 3 started"].value is None
    assert first["Date concluded"].value == datetime(2026, 11, 13)
    assert first["Date concluded"].number_format == DATE_FORMAT
    assert first["Working days in all"].value == 9 and first["Working days in all"].data_type == "n"
    assert (first["Outcome"].value, first["Outcome in the IRO's words"].value) == ("resolved",
                                                                                  "Resolved – plan signed off")
    assert (first["IRO/CC"].value, first["Child"].value, first["Case number"].value) == (
        "Ida Reviewer", "Jane Doe", "MOSAIC 111111")
    assert first["Themes"].value == "Care plan; Placement concerns"
    referred = rows["ESC-0003"]
    assert referred["Level 5 Cafcass referral"].value == datetime(2026, 11, 20)
    assert referred["Outcome"].value == "referred to Cafcass"
    assert rows["ESC-0002"]["Outcome"].value == "open"


def test_formula_looking_text_stays_text(config: Config) -> None:
    rows = rows_by_ref(workbook(config)["Tracker"])
    sam = rows["ESC-0002"]
    for column, text in (("Child", '=HYPERLINK("http://evil.example","Sam")'), ("Case number", "-123"),
                         ("Themes", "@SUM(1+1)"), ("IRO/CC", "+Ivy Chair")):
        cell = sam[column]
        assert (cell.value, cell.data_type) == (text, "s"), column
        assert cell.quotePrefix, f"{column}: Excel keeps it text when the cell is edited"
    assert rows["ESC-0003"]["Child"].value == "Amy Brown", "a control character from a mail is dropped"


def test_the_header_is_frozen_filtered_and_the_columns_sized(config: Config) -> None:
    ws = workbook(config)["Tracker"]
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=ws.max_column).column_letter}4"
    assert all(c.font.bold for c in ws[1])
    widths = {ws.cell(row=1, column=i).value: ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width
              for i in range(1, ws.max_column + 1)}
    assert all(8 <= w <= 48 for w in widths.values())
    assert widths["Opened"] >= 10.5  # dd/mm/yyyy fits
    assert widths["Child"] >= len('=HYPERLINK("http://evil.example","Sam")') * 0.9 or widths["Child"] == 48
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"


def test_the_themes_sheet_counts_the_period(config: Config) -> None:
    wb = workbook(config)
    assert wb.sheetnames == ["Tracker", "Themes"]
    ws = wb["Themes"]
    header = [c.value for c in ws[1]]
    assert header == ["Theme", "October 2026", "November 2026", "December 2026",
                      "Escalations opened in Oct–Dec 2026", "Share of those opened"]
    rows = {r[0]: r[1:] for r in ws.iter_rows(min_row=2, values_only=True) if r[1] is not None}
    assert rows["Care plan"] == (0, 1, 0, 1, pytest.approx(1 / 3))
    assert rows["@SUM(1+1)"][:4] == (0, 0, 1, 1)
    assert rows["No theme recorded"] == (1, 0, 0, 1, pytest.approx(1 / 3))  # ESC-0003, opened in October
    assert ws["F2"].number_format == "0%"
    assert ws.freeze_panes == "B2"


def test_a_month_has_no_columns_per_part_and_an_empty_period_is_still_a_workbook(config: Config) -> None:
    ws = workbook(config, kind="month")["Themes"]
    assert [c.value for c in ws[1]] == ["Theme", "Escalations opened in December 2026", "Share of those opened"]
    empty = workbook(config, records=())
    assert empty["Tracker"]["A1"].value == "Reference" and empty["Tracker"].max_row == 1
    assert "No escalation was opened" in str(empty["Themes"]["A3"].value)


def test_nothing_of_it_is_logged(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        workbook(config)
    assert "Jane Doe" not in caplog.text and "HYPERLINK" not in caplog.text
