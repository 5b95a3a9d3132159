"""Reading the people of the directory from a CSV file (as council IT exports it from Excel or an HR system).

The file has a header row naming the columns ``email``, ``name``, ``role`` (required), ``reports_to`` and
``team`` (optional), in any order and any case (``Reports To`` and ``reports-to`` are ``reports_to``, ``E-mail``
is ``email``). Any other column is an error naming it and the fix (``manager``: "rename it reports_to — the line
manager's email address"), as an unknown key in the TOML file is: a column the bot silently ignored could be the
reporting line everything depends on. Excel's ways of saving are tolerated: UTF-8 with or without a byte-order mark,
Windows-1252 ("CSV (Comma delimited)" on a UK PC), UTF-16 with a byte-order mark, semicolon or tab
separators (detected from the header row), and blank rows. Emails are trimmed and lower-cased.

Every problem is one :class:`~mailbot.errors.ConfigError` line naming the file, the row as Excel numbers it
(the header is row 1) and the column, the problem and the fix, e.g.::

    people.csv row 7, column email: 'jane.smith' is not an email address — write e.g. jane.smith@council.gov.uk
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections import Counter
from pathlib import Path

from rules.directory import EMAIL_RE, Person

from .errors import ConfigError

REQUIRED_COLUMNS = ("email", "name", "role")
OPTIONAL_COLUMNS = ("reports_to", "team")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Refuse anything larger: a directory of a council's managers is a few hundred rows.
MAX_BYTES = 10 * 1024 * 1024

_HEADER_SPACES = re.compile(r"[\s\-]+")
#: Other spellings of the columns, read as them.
_SPELLINGS = {"e_mail": "email", "reportsto": "reports_to", "reports": "reports_to"}
#: Columns HR exports often have for the ones the directory reads: not read (their content may differ), but named in
#: the error as the likely meaning.
_LIKELY = {
    **dict.fromkeys(("manager", "line_manager", "manager_email", "line_manager_email", "managers_email",
                     "line_managers_email", "manager_e_mail", "reports_to_email", "supervisor", "boss",
                     "line_manager_e_mail", "manager_s_email", "line_manager_s_email"), "reports_to"),
    **dict.fromkeys(("email_address", "e_mail_address", "mail", "work_email", "address"), "email"),
    **dict.fromkeys(("full_name", "display_name", "staff_name", "person", "employee", "employee_name"), "name"),
    **dict.fromkeys(("job_title", "title", "position", "job_role", "post", "job"), "role"),
    **dict.fromkeys(("team_name", "department", "service", "unit", "locality"), "team"),
}
_MEANING = {"email": "the person's email address", "name": "the person's name",
            "role": "their role as the policy names it", "reports_to": "the line manager's email address",
            "team": "the team's name"}
_EXAMPLE_DOMAIN = "council.gov.uk"


def load_people_csv(path: Path, *, label: str | None = None) -> tuple[Person, ...]:
    """The people listed in the CSV file at ``path``, in file order.

    ``label`` is how messages name the file (default: its file name, e.g. ``people.csv``). Raises
    :class:`ConfigError` for an unreadable file, a missing header or required column, an empty required
    value, a value that is not an email address where one is needed, or an email listed twice."""
    label = label or path.name
    text = _read_text(path, label)
    rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text)))
    header_at = next((i for i, row in enumerate(rows) if not _blank(row)), None)
    if header_at is None:
        raise ConfigError(f"{label}: has no header row — the first row must name the columns "
                          f"{','.join(COLUMNS)}")
    columns = _columns(rows[header_at], label, header_at + 1)
    domain = _likely_domain(rows[header_at + 1:], columns.get("email"))
    people: list[Person] = []
    first_row: dict[str, int] = {}
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        if _blank(row):
            continue
        number = i + 1
        values = {name: (row[at].strip() if at < len(row) else "") for name, at in columns.items()}
        for name in REQUIRED_COLUMNS:
            if not values[name]:
                raise ConfigError(f"{label} row {number}, column {name}: is empty — {_fill_in(name, domain)}")
        email = values["email"].lower()
        if not EMAIL_RE.match(email):
            raise ConfigError(f"{label} row {number}, column email: {values['email']!r} is not an email address "
                              f"— write e.g. {_suggest(values['email'], domain)}")
        if email in first_row:
            raise ConfigError(f"{label} row {number}, column email: {email} is listed twice (first on row "
                              f"{first_row[email]}) — keep one row per person")
        first_row[email] = number
        reports_to = values.get("reports_to", "").lower() or None
        if reports_to is not None and not EMAIL_RE.match(reports_to):
            raise ConfigError(f"{label} row {number}, column reports_to: {values['reports_to']!r} is not an email "
                              f"address — write the line manager's email, e.g. {_suggest(values['reports_to'], domain)}"
                              ", or leave it blank at the top of the chain")
        people.append(Person(email=email, name=values["name"], role=values["role"], reports_to=reports_to,
                             team=values.get("team", "")))
    return tuple(people)


# --------------------------------------------------------------------------------------------- reading


def _read_text(path: Path, label: str) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{label}: cannot be read ({reason}) — check the path given as directory.csv") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{label}: is larger than {MAX_BYTES // (1024 * 1024)} MB — is it the right file? "
                          "The directory needs only the managers, QA and IRO staff")
    if data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "cp1252")  # Excel's "CSV (Comma delimited)" on a UK PC writes Windows-1252
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError(f"{label}: is not UTF-8 or Windows-1252 text — in Excel, save it as \"CSV UTF-8 (Comma "
                      "delimited)\"")


def _dialect(text: str) -> type[csv.Dialect]:
    """Comma-separated unless the first non-blank line has no comma but semicolons or tabs (Excel in some
    locales, or "Unicode Text")."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        if "\t" in first:
            return csv.excel_tab
        if ";" in first:
            return _Semicolon
    return csv.excel


class _Semicolon(csv.excel):
    delimiter = ";"


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _header_name(cell: str) -> str:
    name = _HEADER_SPACES.sub("_", cell.strip().lstrip("\ufeff").strip().lower()).replace("'", "_").replace("’", "_")
    return _SPELLINGS.get(name, name)


def _columns(header: list[str], label: str, number: int) -> dict[str, int]:
    """Column name → position for the columns the directory uses; any other named column is an error."""
    at: dict[str, int] = {}
    present = {_header_name(cell) for cell in header}
    for i, cell in enumerate(header):
        name = _header_name(cell)
        if not name:
            continue  # Excel's empty cells after the last column
        if name not in COLUMNS:
            raise ConfigError(f"{label} row {number}, column {cell.strip().lstrip(chr(0xFEFF))!r}: is not a column "
                              f"the directory reads — {_unknown_fix(name, present)}")
        if name in at:
            raise ConfigError(f"{label} row {number}, column {name}: is named twice (columns {at[name] + 1} and "
                              f"{i + 1}) — keep one {name} column")
        at[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in at]
    if missing:
        found = ", ".join(repr(c.strip()) for c in header if c.strip()) or "nothing"
        what = f"column {missing[0]} is" if len(missing) == 1 else f"columns {', '.join(missing)} are"
        raise ConfigError(f"{label} row {number}: the {what} missing (the header row has {found}) — the header "
                          f"row must name the columns {','.join(COLUMNS)} (reports_to and team may be left out)")
    return at


# --------------------------------------------------------------------------------------------- wording


def _unknown_fix(name: str, present: set[str]) -> str:
    likely = _LIKELY.get(name) or next(iter(difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.6)), None)
    columns = ",".join(COLUMNS)
    if likely is not None and likely not in present:
        return (f"if it holds {_MEANING[likely]}, rename it {likely}; otherwise delete the column (the columns are "
                f"{columns})")
    return f"delete the column, or rename it to one of {columns}"


def _likely_domain(rows: list[list[str]], email_at: int | None) -> str:
    """The most common mail domain in the file, to make the examples in messages look like the council's."""
    if email_at is None:
        return _EXAMPLE_DOMAIN
    domains = Counter(
        row[email_at].strip().lower().rpartition("@")[2]
        for row in rows
        if email_at < len(row) and EMAIL_RE.match(row[email_at].strip())
    )
    return domains.most_common(1)[0][0] if domains else _EXAMPLE_DOMAIN


def _suggest(value: str, domain: str) -> str:
    local = value.strip().split("@")[0].strip().lower().replace(" ", ".")
    if local and re.fullmatch(r"[a-z0-9._%+-]+", local):
        return f"{local}@{domain}"
    return f"jane.smith@{domain}"


def _fill_in(column: str, domain: str) -> str:
    return {
        "email": f"write the person's email address, e.g. jane.smith@{domain}",
        "name": "write the person's name, e.g. Jane Smith",
        "role": "write their role as the policy names it, e.g. Team Manager",
    }[column]
