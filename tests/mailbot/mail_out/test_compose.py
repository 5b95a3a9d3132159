"""The words of the bot's mails: every built-in mail has its three templates, subjects render on one line, a
council's folder overrides single files, a missing variable is an error, the date filters, the digest subject."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest

from mailbot.config import Config
from mailbot.mail_out.compose import BUILT_IN, Composer, long_date, short_date, working_day
from mailbot.mail_out.digest import build_digest, digest_subject, render_digest
from rules.calendar import WorkingCalendar, working_date
from rules.policy import Level
from store.uow import Store
from tests.botsetup import example_config

MAILS = ("escalation", "directory_gap", "referral", "chaser", "chase_nobody", "ask_iro", "budget", "extension",
         "refused", "not_counted", "closure", "extension_agreed", "bypass", "away",
         "acknowledgement", "case_record", "procedure_notice", "procedure_gap", "ask_fact", "meeting_convene",
         "meeting_request", "referral_continues", "bounced")
PARTS = ("subject", "txt", "html")
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # the digest of the week to Sunday 29 November

CHASER = {"ref": "ESC-0042", "children": "Jane Doe", "case": "MOSAIC 123456", "level_label": "Level 1",
          "due": date(2026, 12, 1), "today": False, "overdue": False, "manager_name": "Tom Manager",
          "concern": "The plan.", "iro_name": "Jane Reviewer", "iro": "Jane Reviewer <jane.iro@example.test>",
          "child_word": "child", "next_level": Level(2, "Service Manager", 5, label="Level 2"),
          "history": [{"when": date(2026, 11, 24), "time": "09:15", "who": "Jane Reviewer",
                       "what": "raised the concern at Level 1 (Team Manager) with Tom Manager"}],
          "to_people": ["Tom Manager <tom.manager@example.test>"],
          "copied_people": ["Quinn QA <quinn.qa@example.test>"]}
ENGLAND = WorkingCalendar("england")


def with_templates(tmp_path: Path, files: dict[str, str]) -> Config:
    folder = tmp_path / "templates"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return example_config(tmp_path, mail_out={"maildir": "sent", "templates": "templates"})


@pytest.mark.parametrize("name", MAILS)
def test_every_built_in_mail_has_a_subject_text_and_html_template(name: str) -> None:
    for part in PARTS:
        assert (BUILT_IN / f"{name}.{part}.j2").is_file(), f"{name}.{part}.j2"
    assert (BUILT_IN / f"{name}.subject.j2").read_text(encoding="utf-8").strip()


def test_no_subject_template_without_its_mail() -> None:
    subjects = {p.name.removesuffix(".subject.j2") for p in BUILT_IN.glob("*.subject.j2")}
    assert subjects == {*MAILS, "digest", "report"}
    for name in subjects:
        assert all((BUILT_IN / f"{name}.{part}.j2").is_file() for part in PARTS)


def test_render_gives_subject_text_and_html(config: Config) -> None:
    rendered = Composer(config).render("chaser", **CHASER)
    assert rendered.subject == ("Reminder: Level 1 escalation - Jane Doe - MOSAIC 123456 - response by "
                                "01/12/2026")
    assert "\n" not in rendered.subject
    assert rendered.text.startswith("Dear Tom Manager,\n")
    assert "is due by Tuesday 1 December 2026" in rendered.text
    assert "Example Council's process" in rendered.text  # ``council`` is always in the context
    assert "the escalation goes to Level 2 (Service Manager)" in rendered.text
    assert "\nThe plan.\n" in rendered.text
    assert "24/11/2026 09:15  Jane Reviewer: raised the concern" in rendered.text
    assert ("Sent to: Tom Manager <tom.manager@example.test>\nCopied to: Quinn QA <quinn.qa@example.test>"
            in rendered.text)
    assert rendered.text.endswith("IRO escalations mailbox, Example Council\n") and not rendered.text.endswith("\n\n")
    assert "<html" in rendered.html.lower() and "Tom Manager" in rendered.html
    today = Composer(config).render("chaser", **{**CHASER, "today": True})
    assert today.subject.startswith("Response due today: Level 1 escalation")
    late = Composer(config).render("chaser", **{**CHASER, "overdue": True})
    assert late.subject.startswith("Response overdue: Level 1 escalation")
    assert "was due by Tuesday 1 December 2026, and none is recorded yet" in late.text


def test_line_breaks_in_a_subject_template_collapse_to_one_line(tmp_path: Path) -> None:
    config = with_templates(tmp_path, {
        "chaser.subject.j2": "{% if today %}Due today{% else %}Reminder{% endif %}:\n\n"
                             "   {{ ref }}\r\n\t- {{ case }}\n",
    })
    rendered = Composer(config).render("chaser", **CHASER)
    assert rendered.subject == "Reminder: ESC-0042 - MOSAIC 123456"


def test_a_council_folder_can_override_just_the_subject(tmp_path: Path, config: Config) -> None:
    built_in = Composer(config).render("chaser", **CHASER)
    council = with_templates(tmp_path / "council", {
        "chaser.subject.j2": "{{ council }} asks {{ manager_name }}: {{ ref }} due {{ due | long_date }}",
    })
    rendered = Composer(council).render("chaser", **CHASER)
    assert rendered.subject == "Example Council asks Tom Manager: ESC-0042 due Tuesday 1 December 2026"
    assert (rendered.text, rendered.html) == (built_in.text, built_in.html)  # the rest is still the built-in


def test_a_council_folder_can_override_the_text_and_keep_the_subject(tmp_path: Path, config: Config) -> None:
    council = with_templates(tmp_path / "council", {"chaser.txt.j2": "Hello {{ manager_name }}\n\n\n"})
    rendered = Composer(council).render("chaser", **CHASER)
    assert rendered.text == "Hello Tom Manager\n"
    assert rendered.subject == Composer(config).render("chaser", **CHASER).subject


@pytest.mark.parametrize("missing", ["case", "ref", "manager_name"])
def test_a_missing_context_variable_raises(config: Config, missing: str) -> None:
    context: dict[str, Any] = {k: v for k, v in CHASER.items() if k != missing}
    with pytest.raises(jinja2.UndefinedError, match=missing):
        Composer(config).render("chaser", **context)


def test_a_missing_variable_in_a_councils_subject_raises(tmp_path: Path) -> None:
    config = with_templates(tmp_path, {"referral.subject.j2": "Cafcass? {{ case }} ({{ no_such_thing }})"})
    with pytest.raises(jinja2.UndefinedError, match="no_such_thing"):
        Composer(config).render("referral", **CHASER)


def test_the_date_filters() -> None:
    assert long_date(date(2026, 12, 1)) == "Tuesday 1 December 2026"
    assert long_date(datetime(2027, 1, 4, 9, 30, tzinfo=UTC)) == "Monday 4 January 2027"
    assert long_date(None) == "—"
    assert short_date(date(2026, 12, 1)) == "01/12/2026"
    assert short_date(datetime(2027, 1, 4, 9, 30, tzinfo=UTC)) == "04/01/2027"
    assert short_date(None) == ""


def test_a_due_date_that_is_not_a_working_day_reads_as_the_day_it_means() -> None:
    christmas = working_date(ENGLAND, date(2026, 12, 25))
    assert long_date(christmas) == "Tuesday 29 December 2026 (the date given, 25 December, is a bank holiday)"
    assert short_date(christmas) == "29/12/2026"
    assert working_day(christmas) == date(2026, 12, 29) and working_day(date(2026, 12, 25)) == date(2026, 12, 25)
    ordinary = working_date(ENGLAND, date(2026, 12, 1))
    assert (long_date(ordinary), short_date(ordinary)) == ("Tuesday 1 December 2026", "01/12/2026")


def test_a_chaser_on_the_day_a_christmas_date_means_says_that_day(config: Config) -> None:
    due = working_date(ENGLAND, date(2026, 12, 25))
    rendered = Composer(config).render("chaser", **{**CHASER, "due": due, "today": True})
    assert rendered.subject.endswith("response by 29/12/2026")
    for part in (rendered.text, rendered.html):
        assert "due today, Tuesday 29 December 2026 (the date given, 25 December, is a bank holiday)" in part
        assert "Friday 25 December" not in part


def test_the_digest_subject_comes_from_its_template(store: Store, config: Config, tmp_path: Path) -> None:
    with store.unit_of_work() as uow:
        figures = build_digest(uow, config, "week", MONDAY)
    subject = digest_subject(figures, config)
    assert subject == "IRO escalations digest — week to 29 Nov 2026 — 0 open, 0 overdue"
    assert render_digest(figures, config).subject == subject
    council = with_templates(tmp_path / "council", {
        "digest.subject.j2": "Escalations\n{{ period.label }}:\n {{ figures.open_count }} open",
    })
    assert digest_subject(figures, council) == "Escalations week to 29 Nov 2026: 0 open"
    assert render_digest(figures, council).subject == "Escalations week to 29 Nov 2026: 0 open"
