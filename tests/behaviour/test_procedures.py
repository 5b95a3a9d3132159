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

        s.says(IRO, "Cafcass referral", at(10, 12), to=[a("dop")])  # the end of the ladder: 4.1
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
