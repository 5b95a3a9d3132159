"""The escalation tracker as a spreadsheet (XLSX, openpyxl): the shape a council's own tracker has, filled in.

    data = tracker_xlsx(figures, policy, calendar)      # bytes of an .xlsx workbook

Sheet "Tracker": one row per escalation in the figures (open now, or opened or closed in the period), with the
columns of :func:`tracker_columns` — reference, IRO/CC, child, case number, level now, opened, then *one column
group per level of the policy* (started, due, responded, working days to respond), working days in all, outcome,
the IRO's words, date concluded, themes. The header row is frozen (with the reference column), every column has
a width, dates are real Excel dates shown ``dd/mm/yyyy``, and the header carries an autofilter.

Sheet "Themes": how many escalations opened in the period carry each theme (an escalation may have several), with a
column for each month of a quarter or quarter of a year when the period has them.

Text from mail (a child's name, a theme, the IRO's words) never becomes a formula: a cell that begins with ``=``,
``+``, ``-`` or ``@`` is written as text with Excel's quote prefix (the CSV's defence, done the spreadsheet's way),
and characters a workbook cannot hold are dropped. The workbook names children: it goes to QA and performance
staff by mail and nothing of it is logged.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from rules.calendar import WorkingCalendar, london_date
from rules.digest import DigestFigures, EscalationLine, StageSnapshot, outcome_words
from rules.policy import Level, Policy

#: The content type of the attachment.
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How dates show (they are real dates: sorting and filtering work).
DATE_FORMAT = "dd/mm/yyyy"
#: Text that a spreadsheet would read as a formula.
FORMULA_START = ("=", "+", "-", "@")

_FONT_NAME = "Calibri"  # Excel's own; LibreOffice shows its metric twin (Carlito) or a sans serif
_HEADER_FONT = Font(name=_FONT_NAME, size=11, bold=True, color="FFFFFF")
_NOTE_FONT = Font(name=_FONT_NAME, size=11, italic=True, color="5F6B7A")
_HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
_GROUP_FILLS = (PatternFill("solid", fgColor="2F5F8A"), PatternFill("solid", fgColor="4A6B8F"))
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
_TEXT_ALIGN = Alignment(vertical="top", wrap_text=False)
_WRAP_ALIGN = Alignment(vertical="top", wrap_text=True)
_CENTRE_ALIGN = Alignment(vertical="top", horizontal="center")
_THIN = Side(style="thin", color="C9D1DB")
_BORDER = Border(bottom=_THIN)
_MAX_WIDTH, _MIN_WIDTH = 48, 8
_WRAP_AT = 36  # a wrapped column is at most this many characters wide; its rows grow instead
_DATE_WIDTH = 11.5
_LINE_HEIGHT = 15.0  # points, one line of 11-point text


@dataclass(frozen=True)
class Column:
    """One column of the tracker: its header, what kind of value it holds and how to get it from a line."""

    header: str
    kind: str  # "text" | "date" | "number" | "long" (wrapped text)
    value: Callable[[EscalationLine], Any]
    group: int | None = None  # the level's place in the ladder, for the header's colour


# ------------------------------------------------------------------------------------------------- values


def _stages_at(line: EscalationLine, level: Level) -> list[StageSnapshot]:
    return [s for s in line.stages if s.level == level.number]


def _responded(line: EscalationLine, level: Level, now: datetime) -> datetime | None:
    answers = [s.responded_at for s in _stages_at(line, level) if s.responded_at is not None and s.responded_at <= now]
    return min(answers) if answers else None


def _level_columns(level: Level, index: int, now: datetime, calendar: WorkingCalendar) -> list[Column]:
    name = level.label

    def started(line: EscalationLine) -> date | None:
        stages = _stages_at(line, level)
        return stages[0].started_on if stages else None

    def due(line: EscalationLine) -> date | None:
        stages = _stages_at(line, level)
        return stages[-1].due_on if stages else None

    def responded(line: EscalationLine) -> date | None:
        at = _responded(line, level, now)
        return london_date(at) if at is not None else None

    def days(line: EscalationLine) -> int | None:
        begun, answered = started(line), responded(line)
        return calendar.working_days_between(begun, answered) if begun and answered else None

    if level.terminal:
        return [Column(f"{name} {level.role}", "date", started, index)]
    columns = [
        Column(f"{name} started", "date", started, index),
        Column(f"{name} due", "date", due, index),
        Column(f"{name} responded", "date", responded, index),
        Column(f"{name} working days to respond", "number", days, index),
    ]
    return [c for c in columns if not (level.informal and c.header == f"{name} due")]


def tracker_columns(policy: Policy, now: datetime, calendar: WorkingCalendar) -> list[Column]:
    """The tracker's columns: the record, one group per level of ``policy`` — started, due, responded, working days
    to respond (an informal level has no due date; a terminal level, such as a Cafcass referral, is one column: the
    day it was referred) — then how it ended."""
    head = [
        Column("Reference", "text", lambda ln: ln.reference),
        Column("IRO/CC", "text", lambda ln: ln.iro or ""),
        Column("Child", "long", lambda ln: "; ".join(ln.children)),
        Column("Case number", "text", lambda ln: "; ".join(ln.case_numbers)),
        Column("Level now", "text", lambda ln: ln.level_label),
        Column("Opened", "date", lambda ln: ln.opened_on),
    ]
    groups = [c for i, lvl in enumerate(policy.levels) for c in _level_columns(lvl, i, now, calendar)]
    tail = [
        Column("Working days in all", "number", lambda ln: ln.working_days_open),
        Column("Outcome", "text", lambda ln: "open" if ln.status == "open" else outcome_words(ln.outcome)),
        Column("Outcome in the IRO's words", "long", lambda ln: ln.outcome_text or ""),
        Column("Date concluded", "date", lambda ln: ln.closed_on),
        Column("Themes", "long", lambda ln: "; ".join(ln.themes)),
    ]
    return [*head, *groups, *tail]


# ------------------------------------------------------------------------------------------------- cells


def clean_text(value: str) -> str:
    """Text a workbook can hold: control characters (other than tab and line breaks) dropped."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def put(ws: Worksheet, row: int, column: int, value: Any, kind: str = "text") -> None:
    """Write one cell: a date as a date (``dd/mm/yyyy``), a number as a number, text as text — text that looks
    like a formula stays text (data type ``s`` and Excel's quote prefix), so a name from a mail never runs."""
    cell = ws.cell(row=row, column=column)
    if value is None or value == "":
        cell.value = None
    elif kind == "date":
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif kind == "number" or isinstance(value, int | float):
        cell.value = value
    else:
        text = clean_text(str(value))
        cell.value = text
        if text.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True
    cell.alignment = {"long": _WRAP_ALIGN, "date": _CENTRE_ALIGN, "number": _CENTRE_ALIGN}.get(kind, _TEXT_ALIGN)
    cell.border = _BORDER


def _width(column: Column, values: Sequence[Any]) -> float:
    if column.kind == "date":
        return max(_DATE_WIDTH, _header_width(column.header))
    longest = max((len(str(v)) for v in values if v not in (None, "")), default=0)
    if column.kind == "long":
        longest = min(longest, _WRAP_AT)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, longest + 2, _header_width(column.header))))


def _lines(text: str, width: float) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` characters wide (words kept whole)."""
    room = max(1, int(width * 1.15) - 1)  # a width unit is a digit; text runs a little narrower
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, 0
        used += len(word) if not used else len(word) + 1
        while used > room:  # a word longer than the line
            lines, used = lines + 1, used - room
    return lines


def _header_width(header: str) -> float:
    """Wide enough for the header wrapped on at most three lines, and for its longest word."""
    words = header.split()
    return float(max(max(len(w) for w in words) + 2, len(header) / 3 + 2))


def _header(ws: Worksheet, headers: Sequence[tuple[str, int | None]]) -> None:
    for i, (text, group) in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i, value=text)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL if group is None else _GROUP_FILLS[group % 2]
        cell.alignment = _HEADER_ALIGN
    ws.row_dimensions[1].height = 48
    ws.freeze_panes = "B2"


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


# ------------------------------------------------------------------------------------------------- sheets


def _tracker_sheet(ws: Worksheet, figures: DigestFigures, policy: Policy, calendar: WorkingCalendar) -> None:
    columns = tracker_columns(policy, figures.now, calendar)
    _header(ws, [(c.header, c.group) for c in columns])
    values: list[list[Any]] = [[c.value(line) for c in columns] for line in figures.rows]
    for r, row in enumerate(values, start=2):
        for c, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            put(ws, r, c, value, column.kind)
    widths = [_width(column, [row[c] for row in values]) for c, column in enumerate(columns)]
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    for r, row in enumerate(values, start=2):  # a wrapped cell's row grows (neither Excel nor LibreOffice does it)
        lines = max((_lines(str(v), w) for v, col, w in zip(row, columns, widths, strict=True)
                     if col.kind == "long" and v), default=1)
        if lines > 1:
            ws.row_dimensions[r].height = _LINE_HEIGHT * lines
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(values)) + 1}"
    _print_setup(ws)


def _themes_sheet(ws: Worksheet, figures: DigestFigures) -> None:
    parts = figures.breakdown
    headers: list[tuple[str, int | None]] = [("Theme", None)]
    headers += [(p.period.label, None) for p in parts]
    headers += [(f"Escalations opened in {figures.period.label}", None), ("Share of those opened", None)]
    _header(ws, headers)
    opened = len(figures.opened)
    themes = [t.theme for t in figures.themes]
    rows: list[list[Any]] = []
    for t in figures.themes:
        by_part = [next((x.count for x in p.themes if x.theme == t.theme), 0) for p in parts]
        rows.append([t.theme, *by_part, t.count, t.count / opened if opened else None])
    if figures.unthemed:
        rows.append(["No theme recorded", *(p.unthemed for p in parts), figures.unthemed,
                     figures.unthemed / opened if opened else None])
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            put(ws, r, c, value, "text" if c == 1 else "number")
            if c == len(row) and value is not None:
                ws.cell(row=r, column=c).number_format = "0%"
    note_row = len(rows) + 3
    note = (f"{opened} escalation(s) opened in {figures.period.long_label} ({figures.period.span}); "
            "an escalation may carry more than one theme." if opened else
            f"No escalation was opened in {figures.period.long_label} ({figures.period.span}).")
    ws.cell(row=note_row, column=1, value=note).font = _NOTE_FONT
    ws.column_dimensions["A"].width = float(min(_MAX_WIDTH, max([20, *(len(t) + 2 for t in themes)])))
    for c in range(2, len(headers) + 1):  # a part's label ("Apr–Jun 2026") on one line, in bold
        ws.column_dimensions[get_column_letter(c)].width = max(12.0, _header_width(headers[c - 1][0]),
                                                               len(headers[c - 1][0]) + 4.0 if c <= len(parts) + 1
                                                               else 0.0)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(rows)) + 1}"
    _print_setup(ws)


def tracker_xlsx(figures: DigestFigures, policy: Policy, calendar: WorkingCalendar, *, title: str = "") -> bytes:
    """The tracker workbook (sheets "Tracker" and "Themes") for the figures' escalations and period."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Tracker"
    _tracker_sheet(ws, figures, policy, calendar)
    _themes_sheet(wb.create_sheet("Themes"), figures)
    props = wb.properties
    props.title = clean_text(title or f"IRO escalations tracker — {figures.period.label}")
    props.creator = props.lastModifiedBy = "iro-mailbot"
    props.created = props.modified = figures.now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


__all__ = ["DATE_FORMAT", "XLSX_TYPE", "Column", "clean_text", "put", "tracker_columns", "tracker_xlsx"]
