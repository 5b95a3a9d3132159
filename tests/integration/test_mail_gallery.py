"""Every mail the bot sends, as a person sees it: ``mailbot preview-mails`` drives made-up escalations through the
real flow and writes each mail; headless Chromium renders every HTML mail at 900 and 600 px and the test checks the
layout — nothing spills sideways, no text is cut off by a box that hides overflow, no page is blank.

All the mails are measured in one Chromium run per width: one page holds each mail in an ``<iframe srcdoc>`` of
that width (same origin, so a script can measure inside them) and writes what it measured into the page, which
``--dump-dom`` gives back. Needs Debian's ``chromium``: skipped without it, failed under ``CI=true``.

``MAILBOT_GALLERY_SHOTS=/tmp/gallery`` also writes a 900 px screenshot of each mail there (one Chromium run per
mail: slow, for looking at them, not part of the check).
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli.main import cli
from tests.render import chromium, dump_dom, screenshot

pytestmark = pytest.mark.integration

NOW = "2027-01-11"  # a Monday: the made-up escalations run from here into February, no bank holiday on the way
WIDTHS = (900, 600)
FRAME_HEIGHT = 1600
BACKGROUND = (0xEE, 0xF1, 0xF5)  # the mail layout's page colour, around the white card
NAVY = (0x1F, 0x3A, 0x5F)  # its header band

#: What the scenario must at least make the bot send (new kinds are welcome: the gallery takes whatever is queued).
KINDS = {"acknowledgement", "chaser", "escalation", "refused", "not_counted", "extension", "ask_iro",
         "directory_gap", "budget", "referral", "digest", "closure", "extension_agreed", "bypass", "away"}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("preview") / "mails"
    result = CliRunner().invoke(cli, ["--now", NOW, "preview-mails", str(folder)],
                                env={"MAILBOT_CONFIG": "", "MAILBOT_NOW": ""})
    assert result.exit_code == 0, result.output
    return folder, result.output


def _pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.html") if p.name != "index.html")


def test_preview_writes_every_mail_the_story_queues(gallery: tuple[Path, str]) -> None:
    folder, output = gallery
    pages = _pages(folder)
    kinds = {re.sub(r"^\d+-", "", p.stem) for p in pages}
    assert kinds >= KINDS, f"missing: {sorted(KINDS - kinds)}; written: {sorted(kinds)}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    index = (folder / "index.html").read_text(encoding="utf-8")
    for page in pages:
        for suffix in (".eml", ".html", ".txt"):
            path = page.with_suffix(suffix)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert f'href="{page.name}"' in index and page.stem in output
        mail = email.message_from_bytes(page.with_suffix(".eml").read_bytes(), policy=email.policy.default)
        assert mail["From"] and mail["To"] and mail["Subject"] and mail["Message-ID"], page
        shown = page.read_text(encoding="utf-8")
        subject = str(mail["Subject"]).strip()
        assert 'id="preview-headers"' in shown and html.escape(subject) in shown, page
        text = page.with_suffix(".txt").read_text(encoding="utf-8")
        assert text.startswith("From: ") and f"Subject: {subject}" in text, page
    assert f"{len(pages)} mail(s) written to {folder}" in output
    # a record resolved at the Cafcass stage says so, not "Level 5 escalation"
    closures = [str(email.message_from_bytes(p.with_suffix(".eml").read_bytes(), policy=email.policy.default)
                    ["Subject"]) for p in pages if p.stem.endswith("-closure")]
    assert any("Closed (resolved): Level 5 (Cafcass referral stage) - " in s for s in closures), closures


_MEASURE = """<script>
function measure(doc) {
  var view = doc.defaultView, root = doc.documentElement, body = doc.body;
  var out = {scroll: root.scrollWidth, client: root.clientWidth, right: 0, clipped: [], spilled: [],
             text: (body.innerText || "").trim().length, height: root.scrollHeight};
  var hides = function (v) { return v === "hidden" || v === "clip"; };
  var all = body.getElementsByTagName("*");
  for (var i = 0; i < all.length; i++) {
    var el = all[i], style = view.getComputedStyle(el), box = el.getBoundingClientRect();
    if (!el.getClientRects().length || style.visibility === "hidden" || style.opacity === "0") { continue; }
    if (box.width === 0 || box.height === 0) { continue; }  // a hidden preheader, an empty cell
    out.right = Math.max(out.right, box.right);
    var words = (el.textContent || "").trim().slice(0, 60);
    if (words && ((hides(style.overflowX) && el.scrollWidth > el.clientWidth + 1) ||
                  (hides(style.overflowY) && el.scrollHeight > el.clientHeight + 1) ||
                  (style.textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth + 1))) {
      out.clipped.push(el.tagName + ": " + words);
    }
    if ((el.tagName === "TD" || el.tagName === "TH") && el.scrollWidth > el.clientWidth + 1) {
      out.spilled.push(words);
    }
  }
  return out;
}
window.addEventListener("load", function () {
  var frames = document.getElementsByTagName("iframe"), results = {};
  for (var i = 0; i < frames.length; i++) { results[frames[i].id] = measure(frames[i].contentDocument); }
  document.getElementById("measured").textContent = JSON.stringify(results);
});
</script>"""


def _measure_all(browser: str, pages: list[Path], probe: Path, width: int) -> dict[str, dict[str, object]]:
    """Every page in an iframe ``width`` px wide, measured in one Chromium run."""
    frames = "\n".join(
        f'<iframe id="{page.stem}" style="display:block;border:0;width:{width}px;height:{FRAME_HEIGHT}px;" '
        f'srcdoc="{html.escape(page.read_text(encoding="utf-8"), quote=True)}"></iframe>' for page in pages)
    probe.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0;">{frames}'
                     f'<pre id="measured"></pre>{_MEASURE}</body></html>', encoding="utf-8")
    dom = dump_dom(browser, probe, width + 40, FRAME_HEIGHT, wait_ms=500)
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1).strip(), f"the measuring script wrote nothing into {probe}"
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def _broken_pages(folder: Path) -> list[Path]:
    """Two pages the measuring must catch: a table cell wider than any window, and text cut off by a box."""
    words = "a care plan that nobody has read " * 40
    wide = folder / "broken-wide.html"
    wide.write_text('<html><body><table style="width:100%;table-layout:fixed;"><tr><td>'
                    f'<div style="width:1200px;">{words}</div></td></tr></table></body></html>', encoding="utf-8")
    cut = folder / "broken-cut.html"
    cut.write_text(f'<html><body><div style="height:40px;overflow:hidden;">{words}</div></body></html>',
                   encoding="utf-8")
    return [wide, cut]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_mail_renders_cleanly(gallery: tuple[Path, str], tmp_path: Path, width: int) -> None:
    browser = chromium("the mail gallery test needs it")
    folder, _output = gallery
    pages = [*_pages(folder), folder / "index.html"]
    measured = _measure_all(browser, [*pages, *_broken_pages(tmp_path)], tmp_path / f"probe-{width}.html", width)
    assert set(measured) == {p.stem for p in pages} | {"broken-wide", "broken-cut"}
    # the measuring sees what it must: a page wider than the window, and text cut off by a box
    wide, cut = measured.pop("broken-wide"), measured.pop("broken-cut")
    assert wide["scroll"] > wide["client"] < wide["right"] and wide["spilled"], wide  # type: ignore[operator]
    assert cut["clipped"] and not cut["spilled"], cut
    problems = []
    for name, m in measured.items():
        if m["scroll"] > m["client"] or m["right"] > m["client"] + 0.5:  # type: ignore[operator]
            problems.append(f"{name}: spills sideways (content {m['scroll']} px, right edge {m['right']:.0f} px, "
                            f"page {m['client']} px)")
        if m["clipped"]:
            problems.append(f"{name}: text cut off: {m['clipped']}")
        if m["spilled"]:
            problems.append(f"{name}: text spills out of its cell: {m['spilled']}")
        if m["text"] < 200 or m["height"] < 300:  # type: ignore[operator]
            problems.append(f"{name}: next to blank ({m['text']} characters, {m['height']} px high)")
    assert not problems, f"at {width} px, in {folder}:\n" + "\n".join(problems)

    # and as a picture: one mail, the escalation, has its header, text and page colour where they belong
    page = next((p for p in pages if p.stem.endswith("-escalation")), pages[0])
    out = tmp_path / f"{page.stem}-{width}.png"
    picture = screenshot(browser, page, out, width, 1200)
    area = picture.width * picture.height
    assert picture.dark() / area > 0.01 and picture.colours() > 20, f"{out}: blank, or no text"
    assert any(picture.pixel(x, y)[:3] == NAVY for y in range(0, 500, 10) for x in range(0, width, 8)), \
        f"{out}: no header band"
    assert picture.pixel(2, 600)[:3] == picture.pixel(width - 3, 600)[:3] == BACKGROUND, \
        f"{out}: the page colour does not show at both sides: the card does not fit"

    shots = os.environ.get("MAILBOT_GALLERY_SHOTS")
    if shots and width == 900:
        target = Path(shots)
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        for page in pages:
            screenshot(browser, page, target / f"{page.stem}.png", width, 1400)
