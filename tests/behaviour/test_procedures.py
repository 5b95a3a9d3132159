"""Each seed council's procedure walked through the real bot (Ingestor + Ticker, SQLite, no servers): the mails the
procedure asks for — their kind, recipients and dates — against the seed's text, quoted in each test's docstring.
Seeds: /work/shared/seeds/ (000 Hull, 001 Dorset, 002 South West, 003 Rotherham, 004 Birmingham)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from mailbot.clock.tick import Ticker
from mailbot.mail_in.ingest import Ingestor
from store.uow import Store
from tests.botsetup import Clock, at, example_config, migrated_store
from tests.mailbot.clock.test_notices import Row, a, person, rows
from tests.mailfactory import BOT, IRO, QA, Thread, outlook_escalation, outlook_reply

LONDON = ZoneInfo("Europe/London")
OPENED = at(24, 11, 9, 15)  # Tuesday 24 November 2026
#: What the notices copy: the IRO and the QA manager (mailbot/clock/procedure.py, ``_notice``).
NOTICE_CC = [IRO, QA]
#: The ask-a-question, refusal and referral-continues mails: to the IRO, the QA manager copied.
TO_IRO = ([IRO], [QA])

class Story:
    """One council's bot: the ingestor, the ticker, the clock, and one escalation's thread."""

    def __init__(self, store: Store, bot: Ingestor, ticker: Ticker, clock: Clock) -> None:
        self.store, self.bot, self.ticker, self.clock = store, bot, ticker, clock
        self.thread: Thread | None = None
        self.ref = ""

    def open(self, subject: str, to: str, when: datetime = OPENED, *, seed: str = "thread") -> str:
        self.clock.now = when
        self.thread = Thread(subject, seed=seed)
        result = self.bot.ingest(outlook_escalation(self.thread, subject=subject, when=when, to=to, cc=(QA, BOT)))
        assert result.outcome == "opened", result
        self.ref = result.reference or ""
        return self.ref

    def says(self, sender: str, text: str, when: datetime, to: Sequence[str] = ()) -> None:
        assert self.thread is not None
        self.clock.now = when
        result = self.bot.ingest(outlook_reply(self.thread, sender=sender, to=list(to) or [BOT], cc=[BOT, QA],
                                               text=text, when=when, quoted_from=IRO))
        assert result.outcome == "threaded", result

    def tick(self, *moments: datetime) -> list[tuple[str, str]]:
        done: list[tuple[str, str]] = []
        for moment in moments:
            self.clock.now = moment
            done += [(i.kind, i.key) for i in self.ticker.tick(moment)]
        return done

    def mails(self, kind: str | None = None) -> list[Row]:
        return rows(self.store, self.ref, kind)

    def notices(self) -> dict[str, tuple[list[str], list[str]]]:
        """The procedure notices by key (without the reference): (to, cc)."""
        return {r.key.removeprefix(f"{self.ref}."): (r.to, r.cc) for r in self.mails("procedure_notice")}

    def stages(self) -> list[tuple[int, str | None, date | None, bool]]:
        """Every stage so far, oldest first: (level, manager, due date, answered)."""
        with self.store.unit_of_work() as uow:
            return [(st.level, st.addressee_email, st.due_on, st.responded_at is not None)
                    for st in uow.escalations.get(self.ref).stages]

    def invite(self) -> icalendar.Event:
        """The VEVENT of the (first) meeting request's .ics, parsed with icalendar."""
        with self.store.unit_of_work() as uow:
            [row, *_] = [r for r in uow.outbox.for_escalation(uow.escalations.get(self.ref))
                         if r.kind == "meeting_request"]
            [(_name, content_type, data)] = row.attachment_list()
        assert content_type.startswith("text/calendar")
        cal = icalendar.Calendar.from_ical(data)
        assert str(cal.get("METHOD")) == "REQUEST"
        [event] = cal.walk("VEVENT")
        return event

    def record(self) -> tuple[str, str | None, int, date | None, date | None]:
        with self.store.unit_of_work() as uow:
            esc = uow.escalations.get(self.ref)
            stage = esc.current_stage
            return esc.status, esc.outcome, esc.current_level, stage.due_on, esc.process_started_on


@contextmanager
def council(tmp_path: Path, base: str, people: Sequence[dict[str, str]], *, case_record: bool = False,
            iro_team_managers: Sequence[str] = ()) -> Iterator[Story]:
    policy: dict[str, object] = {"base": base}
    if not case_record:
        policy["case_record"] = False
    config = example_config(tmp_path, policy=policy, directory={
        "qa_managers": [QA], "people": list(people), "iro_team_managers": list(iro_team_managers)})
    clock = Clock(OPENED)
    store = migrated_store(config, clock)
    try:
        yield Story(store, Ingestor(store, config, clock), Ticker(store, config), clock)
    finally:
        store.dispose()


# ---- Hull (seed 000) -------------------------------------------------------------------------------------------

HULL_PEOPLE = (
    person("tm", "Toni Manager", "Team Manager", "gm"),
    person("gm", "Gene Group", "Group Manager", "hos"),
    person("hos", "Hana Service", "Head of Service", "ad"),
    person("ad", "Ada Assistant", "Assistant Director", "dcsc"),
    person("dcsc", "Dee Director", "Director of Children's Social Care"),
    person("legal", "Lee Legal", "Legal"),
)
GUARDIAN = "gill.green@example.test"


def test_hull_guardian_and_legal_told_in_proceedings_and_cafcass_closes(tmp_path: Path) -> None:
    """Seed 000, Hull City Council, IRO Escalation Process.

    §6: "To advise the court appointed Guardian and Hull City Council Legal of the issuing and resolution of any
    representation/escalation if the child or young person is subject of court proceedings (IROS only)".
    §4: "In respect of looked after children only, the IRO has the discretion to refer matters to CAFCASS at any
    time. They will inform their manager if they are considering this. The IRO Team Manager will inform the
    Director of CSC and the Head of Service." §4: "Brief details of the escalation should be recorded on
    LiquidLogic as a case note 'IRO - escalation'" (the IRO Escalation Form, Appendix 1).
    """
    with council(tmp_path, "hull", HULL_PEOPLE, case_record=True, iro_team_managers=[a("irotm")]) as s:
        s.open("Action - Level 1 escalation - Jane Doe - LCS 123456 - response by 08/12/2026", a("tm"))
        assert s.record()[:4] == ("open", None, 1, date(2026, 12, 8))
        # the Guardian/Legal rule waits on a fact nobody gave: the IRO is asked, once
        [ask] = s.mails("ask_fact")
        assert (ask.to, ask.cc) == TO_IRO
        assert "Is Jane Doe subject of court proceedings?" in ask.text
        assert "Proceedings: yes" in ask.text and "Proceedings: no" in ask.text
        assert s.notices() == {}
        [opened_note] = s.mails("case_record")
        assert (opened_note.to, opened_note.cc) == ([IRO], [])
        assert "LiquidLogic" in opened_note.text and "IRO - escalation" in opened_note.text
        assert "IRO Escalation Form" in opened_note.text

        s.says(IRO, f"Proceedings: yes\nGuardian: {GUARDIAN}", at(25, 11), to=[a("tm")])
        assert s.notices() == {"notify.opened.0": ([GUARDIAN, a("legal")], NOTICE_CC)}
        assert len(s.mails("ask_fact")) == 1  # asked once
        [opened] = s.mails("procedure_notice")
        assert "6" in opened.subject and "Jane Doe" in opened.text

        s.says(IRO, "Cafcass referral", at(26, 11), to=[a("tm")])
        assert s.notices() == {
            "notify.opened.0": ([GUARDIAN, a("legal")], NOTICE_CC),
            "notify.cafcass_considered.2": ([a("irotm")], NOTICE_CC),  # "inform their manager"
            "notify.cafcass.3": ([a("dcsc"), a("hos")], NOTICE_CC),  # "the Director of CSC and the Head of Service"
            "notify.closed.1": ([GUARDIAN, a("legal")], NOTICE_CC),  # 6: "... and resolution" (in proceedings)
        }
        assert s.record()[:2] == ("closed", "cafcass")  # early="close" (the bot's choice, presets.py)
        [closure] = s.mails("closure")
        assert closure.to == [a("tm")] and a("irotm") in closure.cc  # §4: always copied to the IRO Team Manager
        assert "referred to Cafcass" in closure.subject
        opened_note, closed_note = s.mails("case_record")
        assert (closed_note.to, closed_note.key) == ([IRO], f"{s.ref}.record.closed")
        assert "IRO - escalation" in closed_note.text and "Referred to Cafcass" in closed_note.text
        assert "Thursday 26 November 2026" in closed_note.text  # date concluded


def test_hull_walks_the_procedure_end_to_end(tmp_path: Path) -> None:
    """Seed 000, Hull City Council, IRO Escalation Process, end to end.

    §4: "They will aim to address any issues at as low and informal a level as possible"; "The Team Manager
    contacted should respond to the IRO within the time-scale set by the IRO or at least within 10 working days.
    If the IRO is not satisfied with the response or does not receive a reply at all, they will escalate the
    concern to the Group Manager. Responses from the Group Manager should be returned within 5 working days ...
    Head of Service ... within 3 working days ... the Assistant Director ... within 2 working days. The whole
    process should take no longer than 20 working days. The IRO may, at their discretion, bypass any of the above
    stages"; "The e-mail should always be copied to the IRO Team Manager"; "brief details recorded on a
    LiquidLogic note with type of note chosen as 'IRO - escalation'"; "In respect of looked after children only,
    the IRO has the discretion to refer matters to CAFCASS at any time. They will inform their manager if they
    are considering this. The IRO Team Manager will inform the Director of CSC and the Head of Service."
    §6: "To advise the court appointed Guardian and Hull City Council Legal of the issuing and resolution of any
    representation/escalation if the child or young person is subject of court proceedings".
    """
    with council(tmp_path, "hull", HULL_PEOPLE, case_record=True, iro_team_managers=[a("irotm")]) as s:
        # 1. informal, with the Team Manager: recorded (a LiquidLogic note), no timescale, nobody chased
        s.open("Action - Informal escalation - Jane Doe - LCS 123456", a("tm"))
        assert s.record() == ("open", None, 0, None, None)
        assert [r.key.removeprefix(f"{s.ref}.") for r in s.mails("case_record")] == ["record.opened.L0"]
        assert s.mails("ask_fact") == [] and s.notices() == {}  # §6 is about the formal escalation
        assert s.tick(at(1, 12), at(8, 12)) == []
        s.says(a("tm"), "Action plan: the social worker will complete the care plan and I will sign it off at "
                        "panel.", at(9, 12), to=[IRO])
        assert s.stages() == [(0, a("tm"), None, True)]  # the action plan is the informal step's response

        # not satisfied: "Escalate" on Monday 14 December starts the formal process at Level 1 (Team Manager, 10):
        # 15-18 Dec (4), 21-24 (8), [25 Christmas, 28 Boxing Day substitute], 29 (9), 30 (10) -> Wed 30 December
        s.says(IRO, "Escalate", at(14, 12), to=[a("tm")])
        assert s.record() == ("open", None, 1, date(2026, 12, 30), date(2026, 12, 14))
        [level1] = s.mails("escalation")
        assert (level1.to, level1.cc) == ([a("tm")], [QA, a("irotm"), IRO])  # "always copied to the IRO TM"
        assert level1.subject.endswith("Level 1 escalation - Jane Doe - LIQUIDLOGIC 123456 - response by 30/12/2026")
        [ask] = s.mails("ask_fact")  # §6 waits on a fact: asked at the formal start, not at the informal one
        assert (ask.to, ask.cc) == TO_IRO
        s.says(IRO, f"Proceedings: yes\nGuardian: {GUARDIAN}", at(14, 12, 11), to=[a("tm")])
        assert s.notices() == {"notify.opened.0": ([GUARDIAN, a("legal")], NOTICE_CC)}  # "of the issuing"
        # the budget counts from 14 December: 15 working days from the informal opening (24 November) would be
        # Tuesday 15 December; from the formal start they are Thursday 7 January
        assert s.tick(at(15, 12)) == []

        # 2. Level 1 unanswered: reminded 24 December (-2: 29 Dec, 24 Dec) and 30 December; on 31 December the clock
        # takes it to Level 2, the Group Manager above the Team Manager, 5 working days running on from the missed
        # date: 31 Dec (1), [1 Jan New Year's Day], 4 (2), 5 (3), 6 (4), 7 (5) -> Thu 7 January (day 15 of 20)
        assert s.tick(at(24, 12), at(30, 12), at(31, 12)) == [
            ("chase", "L1.chase.-2@2026-12-30"), ("chase", "L1.chase.0@2026-12-30"), ("escalate", "L1.escalate")]
        assert s.record()[2:4] == (2, date(2027, 1, 7))
        level2 = s.mails("escalation")[-1]
        assert (level2.to, level2.cc) == ([a("gm")], [QA, a("irotm"), IRO, a("tm")])
        assert level2.subject.endswith("Level 2 escalation - Jane Doe - LIQUIDLOGIC 123456 - response by 07/01/2027")
        # Level 2 reminded 5 January (-2: 6, 5) and 7 January; the 15-day warning on 7 January, to the IRO
        assert s.tick(at(5, 1), at(7, 1)) == [
            ("chase", "L2.chase.-2@2027-01-07"), ("chase", "L2.chase.0@2027-01-07"), ("budget_warning", "budget.15")]
        [budget] = s.mails("budget")
        assert (budget.to, budget.cc) == ([IRO], [QA, a("irotm")])

        # 3. the IRO bypasses the Head of Service by role name: the Assistant Director, 2 working days from
        # Thursday 7 January: Fri 8 (1), Mon 11 (2) -> Monday 11 January; the Head of Service is told it passed them
        s.says(IRO, "Escalate to the AD", at(7, 1, 11), to=[a("gm")])
        assert s.record()[2:4] == (4, date(2027, 1, 11))
        level4 = s.mails("escalation")[-1]
        assert (level4.to, level4.cc) == ([a("ad")], [QA, a("irotm"), IRO, a("gm")])
        [bypass] = s.mails("bypass")
        assert (bypass.to, bypass.cc) == ([a("hos")], [QA, a("irotm"), IRO])
        assert "Level 3" in bypass.subject and "Level 4" in bypass.subject
        assert s.tick(at(8, 1)) == [("chase", "L4.chase.-1@2027-01-11")]  # a 2-day level: the day before

        # 4. a Cafcass referral (looked after: "at any time"): the IRO's manager, then the Director of CSC and the
        # Head of Service, are told; the record closes (early="close", the bot's choice)
        s.says(IRO, "Cafcass referral", at(8, 1, 14), to=[a("ad")])
        assert s.notices() == {
            "notify.opened.0": ([GUARDIAN, a("legal")], NOTICE_CC),
            "notify.cafcass_considered.2": ([a("irotm")], NOTICE_CC),
            "notify.cafcass.3": ([a("dcsc"), a("hos")], NOTICE_CC),
            "notify.closed.1": ([GUARDIAN, a("legal")], NOTICE_CC),  # §6: "... and resolution"
        }
        assert s.record()[:2] == ("closed", "cafcass")
        # 5. the closure notice to every manager it went to (not the Head of Service, passed over), the IRO TM copied
        [closure] = s.mails("closure")
        assert (closure.to, closure.cc) == ([a("tm"), a("gm"), a("ad")], [QA, a("irotm"), IRO])
        assert "referred to Cafcass" in closure.subject and "Friday 8 January 2027" in closure.text
        notes = {r.key.removeprefix(f"{s.ref}."): r for r in s.mails("case_record")}
        assert list(notes) == ["record.opened.L0", "record.L1", "record.L2", "record.L4", "record.closed"]
        assert all(r.to == [IRO] and r.cc == [] for r in notes.values())
        closed = notes["record.closed"].text
        assert "IRO - escalation" in closed and "Referred to Cafcass" in closed and "Friday 8 January 2027" in closed


# ---- Dorset (seed 001) -----------------------------------------------------------------------------------------

HQAP = "hqa@example.test"
DORSET_PEOPLE = (
    person("sw", "Sid Worker", "Social Worker", "tm"),
    person("tm", "Taylor East", "Team Manager", "sm"),
    person("sm", "Sam East", "Service Manager", "hol"),
    person("hol", "Hal Locality", "Head of Locality", "cd"),
    person("cd", "Cora Director", "Corporate Director for Care and Protection", "ed"),
    person("ed", "Ed Executive", "Executive Director People - Children"),
    person("hqa", "Hattie Quality", "Head of Quality Assurance and Partnerships"),
)


def test_dorset_informal_waits_then_formal_levels_bypass_and_no_cafcass_for_cp(tmp_path: Path) -> None:
    """Seed 001, Dorset Council, QARO IRO Resolution/Escalation Process, 3.1 Table 1.

    "Informal: Social Worker and/or Team manager — According to child's need" (no timescale); "Level 1: Team
    Manager — 5 working days ... copy in ... the responsible Service Manager"; "Stage 4: ... in consultation with
    the Head of Quality Assurance and Partnerships"; Stage 5: "the QARO may bypass ... in consultation with the QA
    manager and the Head of Quality Assurance and Partnerships"; "QAROs have the authority to refer the case of any
    looked after child to Cafcass".
    """
    with council(tmp_path, "dorset", DORSET_PEOPLE) as s:
        s.open("Action - Informal escalation - Jane Doe - MOSAIC 123456", a("sw"))
        assert s.record() == ("open", None, 0, None, None)  # informal: no due date, the budget not started
        assert s.tick(at(1, 12), at(8, 12), at(15, 12), at(22, 12), at(4, 1, 9)) == []  # no timescale: nothing
        assert {r.kind for r in s.mails()} <= {"acknowledgement"}

        s.says(IRO, "Escalate", at(4, 1, 10), to=[a("sw")])  # Monday 4 January 2027 (1 January: bank holiday)
        # formal from now: Level 1, 5 working days, the budget counted from 4 January
        assert s.record() == ("open", None, 1, date(2027, 1, 11), date(2027, 1, 4))
        [level1] = s.mails("escalation")
        assert level1.to == [a("tm")] and {QA, a("sm"), IRO} <= set(level1.cc)
        assert level1.subject.endswith("Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 11/01/2027")
        assert s.tick(at(8, 1), at(11, 1)) == [("chase", "L1.chase.-2@2027-01-11"), ("chase", "L1.chase.0@2027-01-11")]

        s.says(IRO, "Escalate to level 4", at(11, 1, 11), to=[a("tm")])
        assert s.record()[2:4] == (4, date(2027, 1, 18))
        level4 = s.mails("escalation")[-1]
        assert level4.to == [a("cd")] and {QA, a("ed"), IRO} <= set(level4.cc)  # Exec Director copied at Stage 4
        assert s.notices() == {"notify.level.0.L4": ([HQAP], NOTICE_CC), "notify.bypass.1.L4": ([HQAP], NOTICE_CC)}
        assert s.mails("procedure_gap") == []
        assert sorted(r.to[0] for r in s.mails("bypass")) == [a("hol"), a("sm")]  # the two passed over

        s.says(IRO, "Case type: CP", at(12, 1), to=[a("cd")])
        s.says(IRO, "Cafcass referral", at(12, 1, 11), to=[a("cd")])
        [refused] = s.mails("refused")
        assert (refused.to, refused.cc) == TO_IRO
        assert "looked after" in refused.text and "Case type: looked after" in refused.text
        assert s.record()[:3] == ("open", None, 4)
        assert len(s.notices()) == 2 and s.mails("closure") == [] and s.mails("referral") == []


def test_dorset_walks_the_procedure_end_to_end(tmp_path: Path) -> None:
    """Seed 001, Dorset Council, QARO IRO Resolution/Escalation Process, 3.1 Table 1, end to end.

    Table 1: "Informal: Social Worker and/or Team manager — According to child's need"; "Level 1: Team Manager and
    cc Service Manager — 5"; "Level 2: Service Manager and cc Head of Locality — 5"; "Level 3: Head of Locality and
    cc Corporate Director for Care and Protection — 5"; "Level 4: Corporate Director for Care and Protection and
    Executive Director People - Children — 5". Level 1: "copy in the QA Manager and responsible Service Manager".
    Stage 4: "raised directly with the Corporate Director ... in consultation with the Head of Quality Assurance
    and Partnerships". Stage 5: "The IRO may bypass any stage ... This needs to be in consultation with the QA
    manager and Head of Quality Assurance and Partnerships"; "The QARO has the discretion to refer matters to
    CAF/CASS at any time. They will inform their QA Manager if they are considering this. The QA manager will
    inform the Head of Quality Assurance and Partnerships who will advise the Corporate Director".
    """
    with council(tmp_path, "dorset", DORSET_PEOPLE) as s:
        # 1. informal, with the Social Worker: "According to child's need" — no date, no chaser, no budget
        s.open("Action - Informal escalation - Jane Doe - MOSAIC 123456", a("sw"))
        assert s.record() == ("open", None, 0, None, None)
        assert s.tick(at(1, 12), at(8, 12)) == []
        s.says(a("tm"), "Action plan: Sid will finish the care plan and I will sign it off at panel.", at(9, 12),
               to=[IRO])  # the Team Manager answers for the Social Worker (their line manager)
        assert s.stages() == [(0, a("sw"), None, True)]

        # "Escalate" on Monday 14 December: Level 1, the Team Manager above the Social Worker, 5 working days:
        # 15, 16, 17, 18, 21 -> Monday 21 December; the Service Manager and the QA Manager copied
        s.says(IRO, "Escalate", at(14, 12), to=[a("sw")])
        assert s.record() == ("open", None, 1, date(2026, 12, 21), date(2026, 12, 14))
        [level1] = s.mails("escalation")
        assert (level1.to, level1.cc) == ([a("tm")], [QA, a("sm"), IRO, a("sw")])
        assert level1.subject.endswith("Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 21/12/2026")
        # 15 working days from the informal opening (24 November) would be 15 December: no warning, the budget
        # counts from 14 December
        assert s.tick(at(15, 12)) == []

        # 3. the IRO bypasses Level 2 on Tuesday 15 December: Level 3, the Head of Locality, 5 working days:
        # 16, 17, 18, 21, 22 -> Tuesday 22 December; the Corporate Director copied; the Service Manager told it
        # passed them; the Head of QA and Partnerships told of the bypass (Stage 5)
        s.says(IRO, "Escalate to level 3", at(15, 12, 11), to=[a("tm")])
        assert s.record()[2:4] == (3, date(2026, 12, 22))
        level3 = s.mails("escalation")[-1]
        assert (level3.to, level3.cc) == ([a("hol")], [QA, a("cd"), IRO, a("tm")])
        [bypass] = s.mails("bypass")
        assert (bypass.to, bypass.cc) == ([a("sm")], [QA, a("hol"), IRO])  # Level 2's copy: the Head of Locality
        assert s.notices() == {"notify.bypass.1.L3": ([HQAP], NOTICE_CC)}
        assert s.mails("procedure_gap") == []

        # 2. Level 3 unanswered: reminded 18 December (-2: 21, 18) and 22 December; on 23 December the clock takes it
        # to Level 4, 5 working days on from the missed date: 23 (1), 24 (2), [25, 28 bank holidays], 29 (3),
        # 30 (4), 31 (5) -> Thursday 31 December; the Executive Director copied, the Head of QA and P. consulted
        assert s.tick(at(18, 12), at(22, 12), at(23, 12)) == [
            ("chase", "L3.chase.-2@2026-12-22"), ("chase", "L3.chase.0@2026-12-22"), ("escalate", "L3.escalate")]
        assert s.record()[2:4] == (4, date(2026, 12, 31))
        level4 = s.mails("escalation")[-1]
        assert (level4.to, level4.cc) == ([a("cd")], [QA, a("ed"), IRO, a("hol")])
        assert level4.subject.endswith("Level 4 escalation - Jane Doe - MOSAIC 123456 - response by 31/12/2026")
        assert s.notices()["notify.level.0.L4"] == ([HQAP], NOTICE_CC)

        # 4. a Cafcass referral before Level 4's date (a looked after child): the QA Manager and the Head of QA and
        # Partnerships told first; the record closes (early="close", the bot's choice)
        s.says(IRO, "Cafcass referral", at(29, 12), to=[a("cd")])
        notices = s.notices()
        assert notices["notify.cafcass_considered.2"] == ([QA, HQAP], [IRO])
        assert HQAP in notices["notify.cafcass.3"][0]  # the Corporate Director too: the test below
        assert s.record()[:2] == ("closed", "cafcass")
        [closure] = s.mails("closure")  # every manager it went to, the informal step's Social Worker included
        assert (closure.to, closure.cc) == ([a("sw"), a("tm"), a("hol"), a("cd")], [QA, a("ed"), IRO])
        assert "referred to Cafcass" in closure.subject and "Tuesday 29 December 2026" in closure.text
        assert s.mails("case_record") == []  # case records off


def test_dorset_cafcass_at_level_four_tells_the_corporate_director(tmp_path: Path) -> None:
    """Seed 001, 3.1 Stage 5: "The QA manager will inform the Head of Quality Assurance and Partnerships who will
    advise the Corporate Director for Care and Protection" (presets.py: Notify("cafcass", (HQAP, CD))) — at Level 4
    the Corporate Director is the level's own manager, and is told all the same."""
    with council(tmp_path, "dorset", DORSET_PEOPLE) as s:
        s.open("Action - Level 4 escalation - Jane Doe - MOSAIC 123456", a("cd"))
        s.says(IRO, "Cafcass referral", at(25, 11), to=[a("cd")])
        assert s.mails("procedure_gap") == []
        assert s.notices()["notify.cafcass.3"] == ([HQAP, a("cd")], NOTICE_CC)


# ---- South West (seed 002) -------------------------------------------------------------------------------------

SW_PEOPLE = (
    person("sw", "Sol Worker", "Social Worker", "tm"),
    person("tm", "Tia Manager", "Team Manager", "ssm"),
    person("ssm", "Sue Safe", "Safeguarding Service Manager", "svm"),
    person("svm", "Sam Service", "Service Manager", "hos"),
    person("hos", "Hugh Head", "Head of Service", "ad"),
    person("ad", "Abe Assistant", "Assistant Director"),
)


def test_south_west_stage_two_meeting_is_convened_invited_and_minuted(tmp_path: Path) -> None:
    """Seed 002, South West Safeguarding and Child Protection Procedures 5.2.6, Stage 2.

    "a formal Problem Resolution meeting ... chaired by the Safeguarding Service Manager and minuted by the IRO",
    attended by the Team Manager and the Social Worker; the meeting's minutes are the stage's response.
    """
    with council(tmp_path, "south-west", SW_PEOPLE) as s:
        s.open("Action - Stage 2 escalation - Jane Doe - MOSAIC 123456", a("ssm"))
        [convene] = s.mails("meeting_convene")
        assert convene.to == [a("ssm")] and IRO in convene.cc
        assert s.record()[2:4] == (2, date(2026, 12, 8))  # 10 working days (ASSUMPTION in presets.py)

        s.says(a("ssm"), "Meeting: 03/12/2026 14:00, Room 3", at(25, 11), to=[IRO])
        [request] = s.mails("meeting_request")
        assert set(request.to) == {a("ssm"), IRO, a("tm"), a("sw")}
        with s.store.unit_of_work() as uow:
            [row] = [r for r in uow.outbox.for_escalation(uow.escalations.get(s.ref)) if r.kind == "meeting_request"]
            [(_name, content_type, data)] = row.attachment_list()
        assert content_type.startswith("text/calendar")
        cal = icalendar.Calendar.from_ical(data)
        assert str(cal.get("METHOD")) == "REQUEST"
        [event] = cal.walk("VEVENT")
        start = event.decoded("DTSTART")
        assert start.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 12, 3, 14, 0)
        assert "Room 3" in str(event.get("LOCATION"))
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert {str(x).lower().removeprefix("mailto:") for x in attendees} >= {a("ssm"), IRO, a("tm"), a("sw")}

        s.says(a("ssm"), "Outcome: plan agreed", at(3, 12, 16), to=[IRO])
        # responded: no chaser on the due day, no escalation after it; the IRO is asked to decide instead
        assert [kind for kind, _ in s.tick(at(8, 12), at(9, 12))] == ["ask_iro"]
        assert s.record()[2] == 2


def test_south_west_iro_extends_the_twenty_day_budget(tmp_path: Path) -> None:
    """Seed 002, 5.2.6 Stage 2: "The problem resolution process should take no more than 20 working days ...
    this will be extended" by the IRO (presets.py: ``iro_may_extend_budget=True``). Opened at Stage 4 (the line
    management chain: Head of Service, the Assistant Director copied), which has no meeting step."""
    with council(tmp_path, "south-west", SW_PEOPLE) as s:
        s.open("Action - Stage 4 escalation - Jane Doe - MOSAIC 123456", a("hos"))
        assert s.record() == ("open", None, 4, date(2026, 12, 1), date(2026, 11, 24))
        s.says(IRO, "Extend to 15/01/2027", at(26, 11), to=[a("hos")])  # beyond working day 20 (22 December)
        [agreed] = s.mails("extension_agreed")
        assert agreed.to == [a("hos")] and a("ad") in agreed.cc
        assert s.record()[3] == date(2027, 1, 15)
        done = s.tick(at(1, 12), at(2, 12), at(15, 12), at(21, 12), at(22, 12), at(23, 12))
        assert all(kind not in ("budget_warning", "escalate") for kind, _ in done), done
        assert s.mails("budget") == [] and s.mails("referral") == []
        assert s.record()[:3] == ("open", None, 4)


def test_south_west_walks_the_procedure_end_to_end(tmp_path: Path) -> None:
    """Seed 002, South West Safeguarding and Child Protection Procedures 5.2.6, section 5, end to end.

    Stage 1 (Informal Resolution): "the IRO will attempt to resolve a problem concerning the child's care plan by
    negotiation with the Social Worker and Team Manager". Stage 2: "no more than 20 working days"; "a formal
    Problem Resolution Meeting will be called, chaired by the Safeguarding Service Manager and attended by relevant
    managers and front line staff and minuted by the IRO". Stage 3: "a further meeting ... chaired by the Service
    Manager, Safeguarding Service". Stage 4: "the IRO ... will refer the case through the line management chain
    through the Head of Service, Senior Officer that is an Assistant Director". Stage 5: "At the discretion of the
    IRO a referral can be made to CAFCASS at any of the stages"; "The IRO is to inform the Assistant Director that
    a referral will be made to CAFCASS"; "Where the IRO has reached a decision to stop the problem resolution
    process ... the IRO must explain the reasons for this to the senior officer". Stage days: ASSUMPTION
    (presets.py) 10/5/5, the chairs 5 and 3 working days to convene.
    """
    with council(tmp_path, "south-west", SW_PEOPLE) as s:
        # 1. Stage 1, informal, with the Social Worker and Team Manager: no timescale
        s.open("Action - Stage 1 escalation - Jane Doe - MOSAIC 123456", a("sw"))
        assert s.record() == ("open", None, 1, None, None)
        assert s.tick(at(1, 12), at(8, 12)) == []
        s.says(a("tm"), "Action plan: Sol will finish the care plan and I will sign it off at panel.", at(9, 12),
               to=[IRO])
        assert s.stages() == [(1, a("sw"), None, True)]

        # "Escalate" on Monday 14 December: Stage 2, the Safeguarding Service Manager, 10 working days:
        # 15-18 (4), 21-24 (8), [25, 28 bank holidays], 29 (9), 30 (10) -> Wednesday 30 December
        s.says(IRO, "Escalate", at(14, 12), to=[a("sw")])
        assert s.record() == ("open", None, 2, date(2026, 12, 30), date(2026, 12, 14))
        [stage2] = s.mails("escalation")
        assert (stage2.to, stage2.cc) == ([a("ssm")], [QA, IRO, a("sw")])
        assert stage2.subject.endswith("Stage 2 escalation - Jane Doe - MOSAIC 123456 - response by 30/12/2026")
        # 2. the chair is asked to convene the meeting within 5 working days: 15, 16, 17, 18, 21 -> 21 December
        [convene] = s.mails("meeting_convene")
        assert (convene.to, convene.cc) == ([a("ssm")], [IRO, QA])
        assert "by 21/12/2026" in convene.subject
        # the chair names the time: a meeting request to the chair, the IRO (minutes) and the attendees
        s.says(a("ssm"), "Meeting: 17/12/2026 14:00, Room 3", at(15, 12), to=[IRO])
        [request] = s.mails("meeting_request")
        assert (set(request.to), request.cc) == ({a("ssm"), IRO, a("tm"), a("sw")}, [])
        event = s.invite()
        assert event.decoded("DTSTART").astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 12, 17, 14, 0)
        assert "Room 3" in str(event.get("LOCATION"))
        # 15 working days from the informal opening (24 November) would be 15 December: the budget counts from 14th
        assert s.tick(at(15, 12, 12)) == []
        # the minutes are the response: no chaser, no escalation; after two quiet working days (18, 21) the IRO is
        # asked to decide
        s.says(a("ssm"), "Outcome: no agreement on the placement plan; the IRO to take it further", at(17, 12, 16),
               to=[IRO])
        assert s.stages()[-1] == (2, a("ssm"), date(2026, 12, 30), True)
        assert s.tick(at(18, 12), at(21, 12)) == [("ask_iro", "L2.ask_iro")]

        # 3. the IRO bypasses Stage 3 by role name on Monday 21 December: Stage 4, the Head of Service, 5 working
        # days: 22, 23, 24, [25, 28], 29, 30 -> Wednesday 30 December; the Assistant Director copied; the Stage 3
        # chair (the Service Manager) told it passed them; no meeting at Stage 4
        s.says(IRO, "Escalate to Head of Service", at(21, 12, 11), to=[a("ssm")])
        assert s.record()[2:4] == (4, date(2026, 12, 30))
        stage4 = s.mails("escalation")[-1]
        assert (stage4.to, stage4.cc) == ([a("hos")], [QA, a("ad"), IRO, a("ssm")])
        [bypass] = s.mails("bypass")
        assert (bypass.to, bypass.cc) == ([a("svm")], [QA, IRO])
        assert len(s.mails("meeting_convene")) == 1
        assert s.tick(at(24, 12)) == [("chase", "L4.chase.-2@2026-12-30")]  # -2: 29, 24

        # 4. a Cafcass referral before Stage 4's date: the Assistant Director told it will be made and why the
        # process stops; the record closes (the process "curtailed")
        s.says(IRO, "Cafcass referral", at(29, 12, 11), to=[a("hos")])
        assert s.notices() == {"notify.cafcass_considered.0": ([a("ad")], NOTICE_CC),
                               "notify.cafcass.1": ([a("ad")], NOTICE_CC)}
        assert s.record()[:2] == ("closed", "cafcass")
        [closure] = s.mails("closure")
        assert (closure.to, closure.cc) == ([a("sw"), a("ssm"), a("hos")], [QA, a("ad"), IRO])
        assert "referred to Cafcass" in closure.subject and "Tuesday 29 December 2026" in closure.text


# ---- Rotherham (seed 003) --------------------------------------------------------------------------------------

ROTHERHAM_PEOPLE = (
    person("tm", "Rae Manager", "Team Manager", "svm"),
    person("svm", "Sol Service", "Service Manager", "hos"),
    person("hos", "Hope Head", "Head of Service", "dd"),
    person("dd", "Dot Deputy", "Deputy Director", "dcs"),
    person("dcs", "Dan Director", "Director of Children's Services"),
    person("ddcs", "Del Deputy", "Deputy Director of Children's Services", "dcs"),
    person("ops", "Oli Ops", "Operations Manager (Safeguarding)"),
    person("qpt", "Pat Quality", "Quality and Performance Team"),
)


def test_rotherham_quality_alert_is_tracked_not_escalated(tmp_path: Path) -> None:
    """Seed 003, Rotherham MBC, Challenge and Escalation Process Guidance, 2.2: compliance issues are raised as a
    Quality Alert to the Team Manager, who responds with an action plan; "Quality Alerts will be tracked by the
    quality and performance team and reported to senior managers" — no formal timescale, no escalation."""
    with council(tmp_path, "rotherham", ROTHERHAM_PEOPLE) as s:
        s.open("Quality Alert - Ben Ray - Mosaic 333333", a("tm"))
        assert s.record() == ("open", None, 0, None, None)
        assert s.notices() == {"notify.informal_opened.0": ([a("qpt")], NOTICE_CC)}
        [notice] = s.mails("procedure_notice")
        assert "section 2.2" in notice.text and "Ben Ray" in notice.subject
        assert s.tick(at(8, 12), at(22, 12), at(15, 1), at(1, 2)) == []
        assert {r.kind for r in s.mails()} == {"acknowledgement", "procedure_notice"}
        assert s.record()[:3] == ("open", None, 0)


def test_rotherham_early_cafcass_tells_dcs_first_and_the_challenge_goes_on(tmp_path: Path) -> None:
    """Seed 003, 2.6: "The DCS and Deputy DCS would always be informed ... prior to any referral to Cafcass";
    the IRO may refer at any stage "whilst also continuing to follow the staged process" (early="continue")."""
    with council(tmp_path, "rotherham", ROTHERHAM_PEOPLE) as s:
        s.open("Formal Challenge - Ben Ray - Mosaic 333333", a("tm"))
        assert s.record() == ("open", None, 1, date(2026, 12, 1), date(2026, 11, 24))
        s.says(IRO, "Cafcass referral", at(25, 11), to=[a("tm")])
        assert s.notices() == {"notify.cafcass_considered.1": ([a("dcs"), a("ddcs")], NOTICE_CC)}
        [continues] = s.mails("referral")
        assert (continues.to, continues.cc) == TO_IRO
        assert "stays open" in continues.text
        assert s.record()[:3] == ("open", None, 1)
        assert s.mails("closure") == []


def test_rotherham_conference_chair_is_never_offered_cafcass(tmp_path: Path) -> None:
    """Seed 003, 1: the process "if required via CAFCASS and the Court process for IRO's" — a Conference Chair's
    challenge is about a child-protection plan, so at the end of the ladder nobody is invited to refer to Cafcass and
    nobody is told a referral is being considered."""
    chair = "casey.chair@example.test"
    people = (*ROTHERHAM_PEOPLE, {"email": chair, "name": "Casey Chair", "role": "Conference Chair"})
    with council(tmp_path, "rotherham", people) as s:
        s.clock.now = OPENED
        s.thread = Thread("Formal Challenge - Stage 4 - Ben Ray - Mosaic 333333", seed="cc")
        raw = outlook_escalation(s.thread, subject="Formal Challenge - Stage 4 - Ben Ray - Mosaic 333333",
                                 when=OPENED, to=a("dd"), cc=(QA, BOT), sender=chair)
        result = s.bot.ingest(raw)
        assert result.outcome == "opened", result
        s.ref = result.reference or ""
        s.tick(at(3, 12, 10))  # Stage 4 (5 working days) is due 1 December: the ladder is exhausted
        [end] = s.mails("referral")
        assert end.subject.startswith(f"[{s.ref}] End of the escalation process")
        assert "no Cafcass referral" in end.text and "Cafcass referral          (" not in end.text
        assert "cafcass_considered" not in " ".join(s.notices())


def test_rotherham_walks_the_procedure_end_to_end(tmp_path: Path) -> None:
    """Seed 003, Rotherham MBC, Challenge and Escalation Process Guidance, end to end.

    2.2: "Where there are compliance issues ... these will be recorded as Quality Alerts ... tracked by the quality
    and performance team ... Team Managers will be expected to respond to the IRO/CC with an action plan". 2.5:
    "raised via the formal Challenge and Escalation Process. The IRO or CC, in consultation with the Operations
    Manager's within Safeguarding is able to escalate the challenge to the level which she believes to be the most
    appropriate". 2.6: "the IRO can, at any stage in the process, make a referral to CAFCASS, whilst also
    continuing to follow the staged process. The DCS and Deputy DCS would always be informed ... prior to any
    referral to CAFCASS". 2.8: "the entire formal process should take no longer those 20 working days". 3.4: "the
    Team Manager, Service Manager, Head of Service or Deputy Director/Director should feedback a clear action
    plan". 4.1: "record once outcomes are achieved on the child's file". Stage days: ASSUMPTION (presets.py) 5 each.
    """
    with council(tmp_path, "rotherham", ROTHERHAM_PEOPLE, case_record=True) as s:
        # 1. the Quality Alert: tracked by the quality and performance team, no timescale
        s.open("Quality Alert - Ben Ray - Mosaic 333333", a("tm"))
        assert s.record() == ("open", None, 0, None, None)
        assert s.notices() == {"notify.informal_opened.0": ([a("qpt")], NOTICE_CC)}
        assert s.tick(at(1, 12), at(8, 12)) == []
        s.says(a("tm"), "Action plan: the PEP and the health assessment will be booked by the social worker this "
                        "week.", at(9, 12), to=[IRO])
        assert s.stages() == [(0, a("tm"), None, True)]

        # a formal Challenge on Monday 14 December: Stage 1 stays with the Team Manager, 5 working days:
        # 15, 16, 17, 18, 21 -> Monday 21 December; the Operations Manager (Safeguarding) copied
        s.says(IRO, "Escalate", at(14, 12), to=[a("tm")])
        assert s.record() == ("open", None, 1, date(2026, 12, 21), date(2026, 12, 14))
        [stage1] = s.mails("escalation")
        assert (stage1.to, stage1.cc) == ([a("tm")], [QA, a("ops"), IRO])
        assert stage1.subject.endswith("Stage 1 escalation - Ben Ray - MOSAIC 333333 - response by 21/12/2026")

        # 2. Stage 1 unanswered: reminded 17 December (-2: 18, 17) and 21 December; on 22 December the clock takes
        # it to Stage 2, the Service Manager, 5 working days on from the missed date: 22, 23, 24, [25, 28], 29,
        # 30 -> Wednesday 30 December (day 10 of 20); no budget warning (15 days from 24 November was 15 December)
        assert s.tick(at(15, 12), at(17, 12), at(21, 12), at(22, 12)) == [
            ("chase", "L1.chase.-2@2026-12-21"), ("chase", "L1.chase.0@2026-12-21"), ("escalate", "L1.escalate")]
        assert s.record()[2:4] == (2, date(2026, 12, 30))
        stage2 = s.mails("escalation")[-1]
        assert (stage2.to, stage2.cc) == ([a("svm")], [QA, a("ops"), IRO, a("tm")])

        # 4. an early Cafcass referral at Stage 2: the DCS and Deputy DCS told first; the challenge goes on (2.6)
        s.says(IRO, "Cafcass referral", at(23, 12), to=[a("svm")])
        assert s.notices()["notify.cafcass_considered.1"] == ([a("dcs"), a("ddcs")], NOTICE_CC)
        [continues] = s.mails("referral")
        assert (continues.to, continues.cc) == TO_IRO
        assert s.record()[:4] == ("open", None, 2, date(2026, 12, 30))
        assert s.mails("closure") == []

        # 3. the IRO takes it past the Head of Service on Thursday 24 December: Stage 4, the Deputy Director,
        # 5 working days: 29, 30, 31, [1 Jan], 4, 5 -> Tuesday 5 January 2027; the Head of Service told
        s.says(IRO, "Escalate to stage 4", at(24, 12), to=[a("svm")])
        assert s.record()[2:4] == (4, date(2027, 1, 5))
        stage4 = s.mails("escalation")[-1]
        assert (stage4.to, stage4.cc) == ([a("dd")], [QA, a("ops"), IRO, a("svm")])
        [bypass] = s.mails("bypass")
        assert (bypass.to, bypass.cc) == ([a("hos")], [QA, a("ops"), IRO])
        assert s.tick(at(31, 12), at(4, 1)) == [("chase", "L4.chase.-2@2027-01-05")]  # -2: 4 Jan, 31 Dec

        # 5. resolved: every manager it went to told, the Operations Manager copied; the outcome for the child's file
        s.says(IRO, "Resolved – the Deputy Director agreed the placement and the care plan is revised", at(4, 1, 14),
               to=[a("dd")])
        assert s.record()[:2] == ("closed", "resolved")
        [closure] = s.mails("closure")
        assert (closure.to, closure.cc) == ([a("tm"), a("svm"), a("dd")], [QA, a("ops"), IRO])
        assert "Closed (resolved)" in closure.subject
        assert "the Deputy Director agreed the placement" in closure.text and "Monday 4 January 2027" in closure.text
        assert len(s.notices()) == 2  # no "closed" rule in Rotherham's policy
        notes = {r.key.removeprefix(f"{s.ref}."): r for r in s.mails("case_record")}
        assert list(notes) == ["record.opened.L0", "record.L1", "record.L2", "record.L4", "record.closed"]
        assert notes["record.closed"].to == [IRO]
        assert "the Deputy Director agreed the placement" in notes["record.closed"].text


# ---- Birmingham (seed 004) -------------------------------------------------------------------------------------

BIRMINGHAM_PEOPLE = (
    person("tm", "Tam Manager", "Team Manager", "hos"),
    person("hos", "Hal Service", "Head of Service", "ad"),
    person("ad", "Ava Assistant", "Assistant Director", "dop"),
    person("dop", "Dee Practice", "Director of Practice", "ceo"),
    person("ceo", "Cy Chief", "Trust CEO"),
    person("ahos", "Ash Reviewer", "IRO Service AHoS", "ihos"),
    person("ihos", "Ivy Reviewer", "IRO Service HoS"),
)
BHAM_SUBJECT = "Action - Stage 1 escalation - Jane Doe - MOSAIC 123456"


def test_birmingham_day_ten_head_of_service_and_cafcass_at_the_end_closes(tmp_path: Path) -> None:
    """Seed 004, Birmingham Children's Trust, IRS Dispute Resolution and Escalation Procedure v8.

    3.5: the IRO "advises and consults the IRO Service AHoS" on raising a formal dispute; 3.8: "If the issue is not
    resolved at day 10 the IRO will consult with the IRO Service AHoS"; 3.9: Stage 2, Head of Service, 3 working
    days; 4.1: after Stage 4 the formal escalation "is closed and resolved as 'referral to Cafcass'".
    """
    with council(tmp_path, "birmingham", BIRMINGHAM_PEOPLE) as s:
        s.open(BHAM_SUBJECT, a("tm"))
        assert s.record() == ("open", None, 1, date(2026, 12, 8), date(2026, 11, 24))  # 10 working days
        assert s.notices() == {"notify.opened.0": ([a("ahos")], NOTICE_CC)}
        assert ("notify", "notify.day.10") not in s.tick(at(7, 12))
        assert ("notify", "notify.day.10") in s.tick(at(8, 12))  # working day 10
        assert s.notices()["notify.day.1"] == ([a("ahos")], NOTICE_CC)

        s.says(IRO, "Escalate to Head of Service", at(8, 12, 15), to=[a("tm")])  # a role, not a number
        assert s.record()[2:4] == (2, date(2026, 12, 11))  # Stage 2: 3 working days
        [stage2] = s.mails("escalation")
        assert stage2.to == [a("hos")] and a("ihos") in stage2.cc
        assert s.mails("refused") == []

        s.says(IRO, "Escalate to stage 4", at(9, 12), to=[a("hos")])
        assert s.record()[2:4] == (4, date(2026, 12, 15))  # Stage 4, Director of Practice: 4 working days
        assert s.mails("escalation")[-1].to == [a("dop")] and a("ceo") in s.mails("escalation")[-1].cc

        s.says(a("dop"), "I have reviewed the plan and cannot agree the placement change.", at(10, 12, 9),
               to=[IRO])  # the Director of Practice answers: the ladder is exhausted
        s.says(IRO, "Cafcass referral", at(10, 12), to=[a("dop")])  # 4.1: "the formal escalation is closed"
        assert s.notices()["notify.cafcass_considered.4"] == ([a("ihos")], NOTICE_CC)  # 4.3: line manager
        assert s.record()[:2] == ("closed", "cafcass")
        [closure] = s.mails("closure")
        assert closure.to == [a("tm"), a("hos"), a("dop")] and "referred to Cafcass" in closure.subject


def test_birmingham_the_clock_refers_at_the_end_of_stage_four_and_says_it_closes(tmp_path: Path) -> None:
    """Seed 004, 4.1: "If the dispute is not resolved at Stage 4 ... the formal escalation is closed and resolved
    as 'referral to Cafcass'": the clock's referral notice at the end of the ladder says the record closes."""
    with council(tmp_path, "birmingham", BIRMINGHAM_PEOPLE) as s:
        s.open("Action - Stage 4 escalation - Jane Doe - MOSAIC 123456", a("dop"))
        assert s.record()[2:4] == (4, date(2026, 11, 30))
        done = s.tick(at(26, 11), at(27, 11), at(30, 11), at(1, 12))
        assert ("referral_due", "L5.referral") in done, done
        [referral] = s.mails("referral")
        assert (referral.to, referral.cc) == TO_IRO
        assert "Consider a Cafcass referral" in referral.subject
        assert "Cafcass referral          (you are referring; the escalation is closed as referred)" in referral.text
        assert "Stage 4 (Director of Practice), with Dee Practice, was its last level" in referral.text
        assert s.record()[:3] == ("open", None, 5)  # open until the IRO replies
        s.says(IRO, "Cafcass referral", at(1, 12, 14), to=[BOT])
        assert s.record()[:2] == ("closed", "cafcass")


def test_birmingham_early_cafcass_at_stage_two_keeps_the_dispute_open(tmp_path: Path) -> None:
    """Seed 004, 4.4: after an earlier referral "the IRO should also continue to seek resolution of the dispute"
    (early="continue")."""
    with council(tmp_path, "birmingham", BIRMINGHAM_PEOPLE) as s:
        s.open(BHAM_SUBJECT, a("tm"))
        s.says(IRO, "Escalate to Head of Service", at(25, 11), to=[a("tm")])
        assert s.record()[2] == 2
        s.says(IRO, "Cafcass referral", at(26, 11), to=[a("hos")])
        assert s.notices()["notify.cafcass_considered.4"] == ([a("ihos")], NOTICE_CC)
        [continues] = s.mails("referral")
        assert (continues.to, continues.cc) == TO_IRO
        assert s.record()[:3] == ("open", None, 2)
        assert s.mails("closure") == []


def test_birmingham_walks_the_procedure_end_to_end(tmp_path: Path) -> None:
    """Seed 004, Birmingham Children's Trust, IRS Dispute Resolution and Escalation Procedure v8, end to end.

    3.1-3.2: "the IRO ... will seek to resolve the issue informally with the Social Worker and their Team
    Manager"; 3.5: "the IRO will advise and consult with the IRO Service AHoS"; 3.7: "The team manager is required
    to provide a written response within 10 working days"; 3.8: "If the matter is not resolved at day 10 ... the
    IRO should advise and consult with the IRO Service AHoS"; 3.9: "Stage Two ... the case holding Head of Service,
    who is required to respond within 3 working days (13 working days from start of escalation). The IRO should
    discuss and inform the escalation with the IRO Service HoS, and where involved, should make the BCT legal
    representative aware"; 3.11: "make the Court Leads Group aware of the dispute ... in cases that are due in
    court"; 3.12: "Stage Three ... Assistant Director ... 3 working days (Day 16)"; 3.13: "Stage Four ... the
    Director of Practice. The BCT Trust CEO should also be notified. (Day 20)"; 4.3: "discuss this course of action
    with their line manager"; 4.4: "In the event the IRO makes a referral to Cafcass prior to the completion of the
    dispute resolution and escalation process, the IRO should also continue to seek resolution of the dispute";
    9.1: the Eclipse "Resolution and Escalation" form.
    """
    people = (*BIRMINGHAM_PEOPLE, person("legal", "Lou Legal", "Legal"),
              person("clg", "Cal Court", "Court Leads Group"))
    with council(tmp_path, "birmingham", people, case_record=True) as s:
        # 1. informal resolution with the Team Manager: recorded, no timescale
        s.open("Action - Informal escalation - Jane Doe - MOSAIC 123456", a("tm"))
        assert s.record() == ("open", None, 0, None, None)
        assert s.notices() == {}  # 3.5 is about the formal dispute
        assert s.tick(at(1, 12), at(8, 12)) == []
        s.says(a("tm"), "Action plan: the care plan will be updated and the PEP held before Christmas.", at(9, 12),
               to=[IRO])
        assert s.stages() == [(0, a("tm"), None, True)]

        # the formal dispute on Monday 14 December: Stage 1 stays with the Team Manager, 10 working days:
        # 15-18 (4), 21-24 (8), [25, 28 bank holidays], 29 (9), 30 (10) -> Wednesday 30 December; AHoS consulted
        s.says(IRO, "Escalate", at(14, 12), to=[a("tm")])
        assert s.record() == ("open", None, 1, date(2026, 12, 30), date(2026, 12, 14))
        [stage1] = s.mails("escalation")
        assert (stage1.to, stage1.cc) == ([a("tm")], [QA, a("ahos"), IRO])
        assert stage1.subject.endswith("Stage 1 escalation - Jane Doe - MOSAIC 123456 - response by 30/12/2026")
        assert s.notices() == {"notify.opened.0": ([a("ahos")], NOTICE_CC)}
        # day 10 and day 15 from the informal opening (24 November) were 8 and 15 December: nothing yet
        assert s.tick(at(15, 12)) == []

        # 2. Stage 1 unanswered: reminders 24 December (-2: 29, 24) and 30 December; day 10 (30 December) the AHoS;
        # on 31 December Stage 2, the Head of Service, 3 working days: 31 (1), [1 Jan], 4 (2), 5 (3) -> Tuesday
        # 5 January 2027 = day 13 (11, 12, 13); the IRO Service HoS copied
        assert s.tick(at(24, 12), at(29, 12), at(30, 12), at(31, 12)) == [
            ("chase", "L1.chase.-2@2026-12-30"), ("chase", "L1.chase.0@2026-12-30"), ("notify", "notify.day.10"),
            ("escalate", "L1.escalate")]
        assert s.notices()["notify.day.1"] == ([a("ahos")], NOTICE_CC)
        assert s.record()[2:4] == (2, date(2027, 1, 5))
        stage2 = s.mails("escalation")[-1]
        assert (stage2.to, stage2.cc) == ([a("hos")], [QA, a("ihos"), IRO, a("tm")])
        assert stage2.subject.endswith("Stage 2 escalation - Jane Doe - MOSAIC 123456 - response by 05/01/2027")
        # Legal and the Court Leads Group wait on the proceedings: the IRO is asked, and told after "yes"
        [ask] = s.mails("ask_fact")
        assert (ask.to, ask.cc) == TO_IRO
        s.says(IRO, "Proceedings: yes", at(31, 12, 11), to=[a("hos")])
        assert s.notices() == {"notify.opened.0": ([a("ahos")], NOTICE_CC), "notify.day.1": ([a("ahos")], NOTICE_CC),
                               "notify.level.2.L2": ([a("legal")], NOTICE_CC),
                               "notify.level.3.L2": ([a("clg")], NOTICE_CC)}

        # 4. an early Cafcass referral at Stage 2: the line manager (IRO Service HoS) told first; it stays open (4.4)
        s.says(IRO, "Cafcass referral", at(4, 1), to=[a("hos")])
        assert s.notices()["notify.cafcass_considered.4"] == ([a("ihos")], NOTICE_CC)
        [continues] = s.mails("referral")
        assert (continues.to, continues.cc) == TO_IRO
        assert s.record()[:4] == ("open", None, 2, date(2027, 1, 5)) and s.mails("closure") == []

        # 3. the IRO bypasses the Assistant Director by role name on Tuesday 5 January: Stage 4, the Director of
        # Practice, 4 working days: 6, 7, 8, 11 -> Monday 11 January; the Trust CEO copied; the AD told
        s.says(IRO, "Escalate to the Director of Practice", at(5, 1, 11), to=[a("hos")])
        assert s.record()[2:4] == (4, date(2027, 1, 11))
        stage4 = s.mails("escalation")[-1]
        assert (stage4.to, stage4.cc) == ([a("dop")], [QA, a("ceo"), IRO, a("hos")])
        [bypass] = s.mails("bypass")
        assert (bypass.to, bypass.cc) == ([a("ad")], [QA, a("ihos"), IRO])  # Stage 3's copy: the IRO Service HoS
        # 15 working days from 14 December: 30 Dec (10), 31 (11), 4 (12), 5 (13), 6 (14), 7 (15) -> 7 January
        assert s.tick(at(7, 1)) == [("chase", "L4.chase.-2@2027-01-11"), ("budget_warning", "budget.15")]
        [budget] = s.mails("budget")
        assert (budget.to, budget.cc) == ([IRO], [QA, a("ceo")])

        # 5. resolved: every manager it went to told; the Eclipse form's text at closure
        s.says(IRO, "Resolved – the Director of Practice agreed the placement", at(8, 1, 14), to=[a("dop")])
        assert s.record()[:2] == ("closed", "resolved")
        [closure] = s.mails("closure")
        assert (closure.to, closure.cc) == ([a("tm"), a("hos"), a("dop")], [QA, a("ceo"), IRO])
        assert "Closed (resolved)" in closure.subject and "Friday 8 January 2027" in closure.text
        notes = {r.key.removeprefix(f"{s.ref}."): r for r in s.mails("case_record")}
        assert list(notes) == ["record.opened.L0", "record.L1", "record.L2", "record.L4", "record.closed"]
        assert "Resolution and Escalation" in notes["record.closed"].text
        assert "the Director of Practice agreed the placement" in notes["record.closed"].text


def test_a_guardian_outside_the_councils_domains_is_asked_of_the_iro_not_mailed(tmp_path: Path) -> None:
    """Seed 000, 6: the IRO advises "the court appointed Guardian" — at Cafcass, outside the council's mail domains:
    the mailbox never writes there (mail only goes to configured domains); the IRO is asked to tell them."""
    with council(tmp_path, "hull", HULL_PEOPLE) as s:
        s.open("Action - Level 1 escalation - Jane Doe - LCS 123456 - response by 08/12/2026", a("tm"))
        s.says(IRO, "Proceedings: yes\nGuardian: gill.green@cafcass.gov.uk", at(25, 11))
        assert s.notices() == {"notify.opened.0": ([a("legal")], NOTICE_CC)}
        [gap] = s.mails("procedure_gap")
        assert gap.to == [IRO] and "gill.green@cafcass.gov.uk is outside the council's mail domains" in gap.text
        assert all("cafcass.gov.uk" not in " ".join((*r.to, *r.cc)) for r in s.mails())


def test_the_guardian_given_after_the_first_notice_is_told_then_and_nobody_twice(tmp_path: Path) -> None:
    """Seed 000, 6: the IRO advises "the court appointed Guardian and Hull City Council Legal" — Legal is told when
    the IRO says the child is in proceedings; the Guardian when their address comes, in a second notice to them alone.
    """
    with council(tmp_path, "hull", HULL_PEOPLE) as s:
        s.open("Action - Level 1 escalation - Jane Doe - LCS 123456 - response by 08/12/2026", a("tm"))
        s.says(IRO, "Proceedings: yes", at(25, 11))
        assert s.notices() == {"notify.opened.0": ([a("legal")], NOTICE_CC)}
        assert [g.to for g in s.mails("procedure_gap")] == [[IRO]]  # who is the Guardian?
        s.says(IRO, f"Guardian: {GUARDIAN}", at(26, 11))
        assert s.notices() == {"notify.opened.0": ([a("legal")], NOTICE_CC),
                               "notify.opened.0.+1": ([GUARDIAN], NOTICE_CC)}
        s.says(IRO, "Note: spoke to the Guardian", at(27, 11))
        assert len(s.mails("procedure_notice")) == 2
