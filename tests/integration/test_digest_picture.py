"""The digest as a person sees it: the preview HTML rendered by headless Chromium, checked as a picture.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package). Without it the test is skipped, except under
``CI=true`` where it fails. The PNG is read with the small decoder of ``tests/render.py`` (zlib + the five PNG
filters), so no imaging library is needed. Screenshots are kept under pytest's tmp_path (the path is printed when a
check fails).
"""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import Config, parse_config
from mailbot.mail_out.digest import render_digest
from rules.digest import AttentionMail, RecordSnapshot, StageSnapshot, compute_digest, period_ending
from tests.render import Picture, read_png, run, screenshot
from tests.render import chromium as find_chromium

pytestmark = pytest.mark.integration

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=LONDON)


def test_png_decoder_reads_what_zlib_wrote() -> None:
    """A 3x2 RGB picture, one row with filter 'none' and one with 'sub'."""
    rows = [b"\x00" + bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), b"\x01" + bytes([10, 10, 10, 5, 5, 5, 1, 1, 1])]
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    picture = read_png(data)
    assert (picture.width, picture.height) == (3, 2)
    assert [picture.pixel(x, 1) for x in range(3)] == [(10, 10, 10), (15, 15, 15), (16, 16, 16)]
    assert picture.pixel(1, 0) == (0, 255, 0)


# ------------------------------------------------------------------------------------------------- the digest


LONG_CHILDREN = ("Olivia-Grace Worthington-Smythe", "Alexander Worthington-Smythe")
MANAGER = "Dr Christopher Montgomery-Fitzgerald"


def _at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=LONDON)


def _stage(level: int, role: str, start: date, due: date | None, *, responded: date | None = None,
           who: str | None = None) -> StageSnapshot:
    return StageSnapshot(level=level, role=role, started_at=_at(start), started_on=start, due_on=due,
                         responded_at=_at(responded, 15) if responded else None,
                         addressee_email="manager@example.gov.uk" if who else None, addressee_name=who)


def _records() -> list[RecordSnapshot]:
    themes = ("Drift or delay in care planning", "Placement concerns")
    rows = [
        ("ESC-0101", date(2026, 11, 3), _stage(2, "Service Manager", date(2026, 11, 17), date(2026, 11, 24),
                                               who=MANAGER), LONG_CHILDREN, themes, None),
        ("ESC-0102", date(2026, 11, 24), _stage(1, "Team Manager", date(2026, 11, 24), date(2026, 12, 1),
                                                who="Tom Manager"), ("Jane Doe",), (), None),
        ("ESC-0103", date(2026, 12, 2), _stage(1, "Team Manager", date(2026, 12, 2), date(2026, 12, 9),
                                               who="Priya Raman"), ("Sam Smith",), ("Education",), None),
        ("ESC-0104", date(2026, 12, 1), _stage(3, "Head of Locality", date(2026, 12, 3), date(2026, 12, 10),
                                               who="Aoife O'Sullivan"), ("Kacper Nowak", "Zofia Nowak"),
         ("Health",), None),
        ("ESC-0105", date(2026, 11, 30), _stage(1, "Team Manager", date(2026, 11, 30), date(2026, 12, 4),
                                                responded=date(2026, 12, 1), who="Tom Manager"),
         ("Amy Brown",), ("Incomplete or inadequate care plans",), _at(date(2026, 12, 3))),
    ]
    return [
        RecordSnapshot(reference=ref, status="closed" if closed else "open", opened_at=_at(opened),
                       current_level=stage.level, stages=(stage,), children=children,
                       case_numbers=("MOSAIC 1234567",), themes=theme, closed_at=closed,
                       outcome="resolved" if closed else None, process_started_on=opened)
        for ref, opened, stage, children, theme, closed in rows
    ]


def _attention() -> list[AttentionMail]:
    return [
        AttentionMail(received_at=datetime(2026, 12, 4, 16, tzinfo=UTC),
                      from_email="christopher.montgomery-fitzgerald@childrens-services.example.gov.uk",
                      from_name=MANAGER,
                      subject="RE: Level 2 escalation – Olivia-Grace Worthington-Smythe and siblings – "
                              "MOSAIC 1234567 – placement stability and contact arrangements"),
        AttentionMail(received_at=datetime(2026, 12, 5, 9, tzinfo=UTC),
                      from_email="thisaddresshasnowheretobreakatallwhatsoever@childrensservicesdepartment.example",
                      from_name=None, subject="Lunch on Friday?"),
    ]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return parse_config({"council": {"name": "Royal Borough of Example-upon-Thames",
                                     "domains": ["example.gov.uk"]}}, source="test", base=tmp_path)


@pytest.fixture()
def preview(tmp_path: Path, config: Config) -> Path:
    figures = compute_digest(_records(), _attention(), period_ending("week", NOW), NOW, config.policy,
                             config.calendar.calendar())
    assert (figures.open_count, len(figures.overdue), len(figures.due_soon)) == (4, 2, 2)
    path = tmp_path / "digest.html"
    path.write_text(render_digest(figures, config).html, encoding="utf-8")
    return path


def _chromium() -> str:
    return find_chromium("the digest picture test needs it")


def _run(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(chromium, *args)


def _screenshot(chromium: str, page: Path, out: Path, width: int, height: int) -> Picture:
    return screenshot(chromium, page, out, width, height)


_MEASURE = """<script>
(function () {
  var doc = document.documentElement, spilled = [];
  var cells = document.querySelectorAll("td, th");
  for (var i = 0; i < cells.length; i++) {
    if (cells[i].scrollWidth > cells[i].clientWidth + 1) { spilled.push(cells[i].textContent.slice(0, 40)); }
  }
  var right = 0, all = document.body.getElementsByTagName("*");
  for (var j = 0; j < all.length; j++) { right = Math.max(right, all[j].getBoundingClientRect().right); }
  document.title = JSON.stringify({scroll: doc.scrollWidth, client: doc.clientWidth, right: right,
                                   spilled: spilled});
})();
</script></body>"""


def _layout(chromium: str, page: Path, tmp_path: Path, width: int) -> dict[str, object]:
    """Measure the page in Chromium (a copy of it with a measuring script; the mail itself has none)."""
    probe = tmp_path / f"measure-{width}.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _MEASURE), encoding="utf-8")
    result = _run(chromium, "--dump-dom", f"--window-size={width},1400", probe.as_uri())
    start = result.stdout.find("<title>")
    assert start >= 0, f"chromium gave no DOM: {result.stderr[-2000:]}"
    title = result.stdout[start + 7:result.stdout.find("</title>", start)]
    return json.loads(title.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.mark.parametrize("width", [800, 600])
def test_the_digest_renders_cleanly(preview: Path, tmp_path: Path, width: int) -> None:
    chromium = _chromium()
    out = tmp_path / f"digest-{width}.png"
    picture = _screenshot(chromium, preview, out, width, 1400)
    assert (picture.width, picture.height) == (width, 1400), out
    area = picture.width * picture.height
    covered, ink = picture.non_white() / area, picture.dark() / area
    # a grey frame, a navy header and tinted table heads around a white card full of dark text
    assert 0.15 < covered < 0.7, f"{out}: {covered:.0%} of the page is not white: blank, or no white card"
    assert ink > 0.02, f"{out}: only {ink:.1%} of the page is dark: no text?"
    assert picture.colours() > 20, f"{out}: too few colours for text and tables"
    # the navy header band is there, and the page background shows at both sides (the card fits the width)
    assert any(picture.pixel(x, 40)[:3] == (0x1F, 0x3A, 0x5F) for x in range(0, width, 4)), out
    assert picture.pixel(2, 700)[:3] == picture.pixel(width - 3, 700)[:3] == (0xEE, 0xF1, 0xF5), out

    measured = _layout(chromium, preview, tmp_path, width)
    assert measured["scroll"] <= measured["client"], f"{out}: the page scrolls sideways: {measured}"
    assert measured["right"] <= measured["client"], f"{out}: something sticks out on the right: {measured}"
    assert measured["spilled"] == [], f"{out}: text spills out of its cell: {measured['spilled']}"
