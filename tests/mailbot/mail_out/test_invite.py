"""Outlook meeting requests: the iCalendar object read back with icalendar, field by field, and the mail
``build_message`` makes of an outbox row that carries one (text/plain, text/html, text/calendar; method=REQUEST)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar

from mailbot.config import Config
from mailbot.mail_out import invite
from mailbot.mail_out.delivery import build_message
from mailbot.mail_out.invite import (
    CALENDAR_CONTENT_TYPE,
    MeetingRequest,
    calendar_content_type,
    meeting_attachment,
    meeting_ics,
    meeting_uid,
    read_meeting,
)
from mailbot.mail_out.outbox import Attachment, queue_mail
from mailbot.transports.graph import mime_for_graph
from rules.calendar import LONDON
from store.models import Escalation, OutboxMail
from store.uow import Store
from tests.botsetup import Clock
from tests.mailbot.mail_out.test_delivery import FakeSender, deliverer, row
from tests.mailfactory import BOT, IRO, QA, SM, TM

CHILD = "Zoë Brontë-Ångström"  # on the mail's record, never in the calendar
SUMMER = datetime(2026, 7, 14, 10, 30, tzinfo=LONDON)  # BST: 09:30 UTC
WINTER = datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)  # GMT: 10:00 UTC
STAMP = datetime(2026, 11, 24, 9, 15, 42, 123456, tzinfo=UTC)


def request(start: datetime = WINTER, *, sequence: int = 0, minutes: int = 90) -> MeetingRequest:
    return MeetingRequest(
        uid=meeting_uid("ESC-0042", 2, "example.test"),
        sequence=sequence,
        summary="Problem Resolution Meeting — ESC-0042",
        description="Escalation ESC-0042, Stage 2: the formal Problem Resolution Meeting, chaired by the "
                    "Safeguarding Service Manager and minuted by the IRO.",
        start=start,
        end=start + timedelta(minutes=minutes),
        location="Microsoft Teams",
        organizer=(BOT, "IRO escalations"),
        attendees=((SM, "Sara Service", "CHAIR"), (TM, "Tom Manager", "REQ-PARTICIPANT"),
                   (IRO, "Jane Reviewer", "REQ-PARTICIPANT"), (QA, None, "OPT-PARTICIPANT")),
        stamp=STAMP,
    )


def unfolded(ics: bytes) -> str:
    return ics.decode("utf-8").replace("\r\n ", "")


def only_event(cal: Calendar):  # icalendar's Event
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


# ---- the iCalendar object -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "wall", "utc"), [
    (WINTER, "20261126T100000", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),  # GMT
    (SUMMER, "20260714T103000", datetime(2026, 7, 14, 9, 30, tzinfo=UTC)),  # BST
])
def test_a_request_reads_back_field_by_field(start: datetime, wall: str, utc: datetime) -> None:
    ics = meeting_ics(request(start))
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded as RFC 5545 says
    cal = Calendar.from_ical(ics)
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]) == invite.PRODID
    assert str(cal["METHOD"]) == "REQUEST"
    ev = only_event(cal)
    assert str(ev["UID"]) == "ESC-0042.L2.meeting@example.test"
    assert int(ev["SEQUENCE"]) == 0
    assert ev["DTSTAMP"].dt == STAMP.replace(microsecond=0) and "DTSTAMP:20261124T091542Z" in unfolded(ics)
    text = unfolded(ics)
    assert f"DTSTART;TZID=Europe/London:{wall}\r\n" in text  # London wall time, not UTC
    assert ev["DTSTART"].params["TZID"] == "Europe/London" and ev["DTEND"].params["TZID"] == "Europe/London"
    assert ev["DTSTART"].dt == utc and ev["DTEND"].dt == utc + timedelta(minutes=90)
    assert ev["DTSTART"].dt.astimezone(LONDON).replace(tzinfo=None) == start.replace(tzinfo=None)
    assert [tz.tz_name for tz in cal.timezones] == ["Europe/London"]  # every TZID has its VTIMEZONE
    assert cal.get_missing_tzids() == set()
    assert str(ev["SUMMARY"]) == "Problem Resolution Meeting — ESC-0042"
    assert "Zoë" not in text and "Brontë" not in text  # no child's name anywhere in a calendar
    assert str(ev["LOCATION"]) == "Microsoft Teams" and str(ev["STATUS"]) == "CONFIRMED"
    assert str(ev["TRANSP"]) == "OPAQUE"
    organizer = ev["ORGANIZER"]
    assert str(organizer) == f"mailto:{BOT}" and organizer.params["CN"] == "IRO escalations"
    attendees = ev["ATTENDEE"]
    assert [str(a) for a in attendees] == [f"mailto:{a}" for a in (SM, TM, IRO, QA)]
    assert [a.params["ROLE"] for a in attendees] == ["CHAIR", "REQ-PARTICIPANT", "REQ-PARTICIPANT",
                                                      "OPT-PARTICIPANT"]
    assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" and a.params["RSVP"] == "TRUE" for a in attendees)
    assert [a.params.get("CN") for a in attendees] == ["Sara Service", "Tom Manager", "Jane Reviewer", None]


def test_read_meeting_gives_back_the_request() -> None:
    sent = request(SUMMER)
    read = read_meeting(meeting_ics(sent))
    assert read.method == "REQUEST" and read.status == "CONFIRMED"
    assert read.tzids == ("Europe/London", "Europe/London")
    assert read.request == MeetingRequest(**{**sent.__dict__, "stamp": STAMP.replace(microsecond=0)})
    assert read.request.start.utcoffset() == timedelta(hours=1)  # aware, in London


def test_the_vtimezone_is_outlooks_rule_form_and_agrees_with_zoneinfo() -> None:
    """One STANDARD and one DAYLIGHT, each a yearly RRULE (what Exchange imports), and read on its own — not
    looked up by its name — it gives London's offset around every change of the clocks and mid-month, 2020-2040."""
    cal = Calendar.from_ical(meeting_ics(request()))
    (vtz,) = cal.timezones
    assert [c.name for c in vtz.subcomponents] == ["STANDARD", "DAYLIGHT"]
    assert {str(c["TZNAME"]) for c in vtz.subcomponents} == {"GMT", "BST"}
    assert all(c["RRULE"]["FREQ"] == ["YEARLY"] and c["RRULE"]["BYDAY"] == ["-1SU"] for c in vtz.subcomponents)
    assert "RDATE" not in vtz.subcomponents[0] and "RDATE" not in vtz.subcomponents[1]
    own = vtz.to_tz(lookup_tzid=False)
    moments = [datetime(year, month, 15, 12, tzinfo=UTC) for year in range(2020, 2041) for month in range(1, 13)]
    for year in range(2020, 2041):
        for month in (3, 10):
            change = invite._last_sunday(year, month)
            base = datetime(change.year, change.month, change.day, tzinfo=UTC) - timedelta(days=1)
            moments += [base + timedelta(minutes=30 * n) for n in range(2 * 24 * 2)]
    wrong = [m for m in moments if m.astimezone(own).utcoffset() != m.astimezone(LONDON).utcoffset()]
    assert wrong == []


def test_should_the_uk_rule_change_the_vtimezone_comes_from_zoneinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invite, "_uk_rule_offset", lambda moment: timedelta(hours=2))
    cal = Calendar.from_ical(meeting_ics(request(SUMMER)))
    (vtz,) = cal.timezones
    own = vtz.to_tz(lookup_tzid=False)
    assert SUMMER.astimezone(own).utcoffset() == timedelta(hours=1)
    assert WINTER.astimezone(own).utcoffset() == timedelta(0)


def test_a_change_of_time_keeps_the_uid_and_raises_the_sequence() -> None:
    first = read_meeting(meeting_ics(request(WINTER)))
    moved = read_meeting(meeting_ics(request(WINTER + timedelta(days=1), sequence=1)))
    assert moved.request.uid == first.request.uid
    assert moved.request.sequence == 1 and moved.request.start == WINTER + timedelta(days=1)


def test_a_cancellation() -> None:
    attachment = meeting_attachment(request(sequence=2), "cancel")
    assert attachment.content_type == "text/calendar; method=CANCEL; charset=UTF-8"
    cal = Calendar.from_ical(attachment.data)
    ev = only_event(cal)
    assert str(cal["METHOD"]) == "CANCEL" and str(ev["STATUS"]) == "CANCELLED"
    assert str(ev["UID"]) == "ESC-0042.L2.meeting@example.test" and int(ev["SEQUENCE"]) == 2
    assert [str(a) for a in ev["ATTENDEE"]] == [f"mailto:{a}" for a in (SM, TM, IRO, QA)]
    assert all("RSVP" not in a.params for a in ev["ATTENDEE"])  # nothing to answer
    read = read_meeting(attachment.data)
    assert (read.method, read.status) == ("CANCEL", "CANCELLED")


def test_content_types() -> None:
    assert CALENDAR_CONTENT_TYPE == calendar_content_type() == "text/calendar; method=REQUEST; charset=UTF-8"
    attachment = meeting_attachment(request())
    assert attachment.content_type == CALENDAR_CONTENT_TYPE and attachment.filename.endswith(".ics")
    with pytest.raises(ValueError, match="method"):
        calendar_content_type("PUBLISH")


def test_names_stay_one_quoted_parameter() -> None:
    odd = request()
    odd = MeetingRequest(**{**odd.__dict__, "attendees": (
        (TM, 'Tom "TJ" O\'Manager,\r\nBcc', "REQ-PARTICIPANT"),)})
    ev = only_event(Calendar.from_ical(meeting_ics(odd)))
    assert ev["ATTENDEE"].params["CN"] == "Tom 'TJ' O'Manager, Bcc"
    assert "^" not in unfolded(meeting_ics(odd))  # no RFC 6868 escape, which Outlook would show as it is


@pytest.mark.parametrize(("change", "words"), [
    ({"start": datetime(2026, 11, 26, 10, 0)}, "aware"),
    ({"stamp": datetime(2026, 11, 24, 9, 0)}, "aware"),
    ({"end": WINTER}, "end after"),
    ({"attendees": ()}, "attendee"),
    ({"attendees": ((TM, None, "Chair"),)}, "role"),
    ({"organizer": ("", None)}, "organizer"),
    ({"uid": "a\r\nMETHOD:CANCEL"}, "UID"),
    ({"sequence": -1}, "sequence"),
])
def test_what_outlook_could_not_take_is_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        meeting_ics(MeetingRequest(**{**request().__dict__, **change}))


def test_read_meeting_refuses_what_is_not_one_meeting() -> None:
    with pytest.raises(ValueError):
        read_meeting(b"not a calendar")
    with pytest.raises(ValueError, match="one VEVENT"):
        read_meeting(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n")


# ---- the mail -----------------------------------------------------------------------------------------------


def queue_meeting(store: Store, config: Config, key: str, *, html: str | None = "<p>Please accept.</p>",
                  attachments: tuple[Attachment, ...] = (), req: MeetingRequest | None = None,
                  method: str = "REQUEST") -> OutboxMail:
    with store.unit_of_work() as uow:
        esc = Escalation(policy_key="south-west", current_level=2, opened_at=STAMP, updated_at=STAMP,
                         children=[CHILD], case_numbers=[], themes=[])
        uow.escalations.add(esc)
        queue_mail(uow, config, key=key, kind="meeting", to=[SM, TM, IRO], cc=[QA],
                   subject="Problem Resolution Meeting — Thursday 26 November, 10:00",
                   text="The Problem Resolution Meeting is on Thursday 26 November at 10:00.\n", html=html,
                   escalation=esc, attachments=[meeting_attachment(req or request(), method), *attachments],
                   now=STAMP)
    return row(store, key)


def parse(msg: EmailMessage, raw: bytes | None = None) -> EmailMessage:
    back = email.message_from_bytes(raw if raw is not None else msg.as_bytes(), policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    return back


def calendar_part(msg: EmailMessage) -> EmailMessage:
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def test_build_message_makes_the_calendar_the_third_alternative(store: Store, config: Config) -> None:
    mail = queue_meeting(store, config, "ESC-0042.l2.meeting.0")
    msg = build_message(mail)
    raw = msg.as_bytes()
    assert raw.isascii() and b"\n" not in raw.replace(b"\r\n", b"")  # still 7-bit clean, SMTP line ends
    back = parse(msg)
    assert back.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    cal = calendar_part(back)
    assert cal.get_param("method") == "REQUEST" and cal.get_content_charset() == "utf-8"
    assert cal.get_content_disposition() is None and cal.get_filename() is None  # a body part, not a file
    assert list(back.iter_attachments()) == []  # no invite.ics besides (Outlook would list it as a file)
    assert read_meeting(cal.get_payload(decode=True)).request == read_meeting(meeting_ics(request())).request
    assert back["Message-ID"] == f"<{mail.message_id}>" and back["X-IRO-Mailbot-Key"] == "ESC-0042.l2.meeting.0"
    assert back.get_body(("plain",)).get_content().startswith("The Problem Resolution Meeting")  # type: ignore[union-attr]


def test_with_a_file_too_the_alternative_stays_the_first_part(store: Store, config: Config) -> None:
    """Outlook reads iMIP only in the first part of a multipart/mixed mail ([MS-STANOICAL] V0343)."""
    pdf = Attachment("Agenda.pdf", "application/pdf", b"%PDF\x00\xff")
    back = parse(build_message(queue_meeting(store, config, "with-file", attachments=(pdf,))))
    assert back.get_content_type() == "multipart/mixed"
    first, *rest = back.iter_parts()
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    assert [(p.get_filename(), p.get_content_type()) for p in back.iter_attachments()] == [
        ("Agenda.pdf", "application/pdf")]
    assert len(rest) == 1


def test_a_text_only_mail_is_text_then_calendar(store: Store, config: Config) -> None:
    back = parse(build_message(queue_meeting(store, config, "text-only", html=None)))
    assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/calendar"]


def test_a_cancellation_mail_says_method_cancel(store: Store, config: Config) -> None:
    back = parse(build_message(queue_meeting(store, config, "cancel", req=request(sequence=1), method="CANCEL")))
    cal = calendar_part(back)
    assert cal.get_param("method") == "CANCEL"
    assert read_meeting(cal.get_payload(decode=True)).status == "CANCELLED"


def test_the_calendar_survives_what_graph_and_ews_are_given(store: Store, config: Config) -> None:
    """Graph's sendMail is given the MIME (base64 of ``mime_for_graph``), EWS the bytes under the SMTP policy."""
    msg = build_message(queue_meeting(store, config, "transports"))
    for raw in (mime_for_graph(msg, [SM, TM, IRO, QA]), msg.as_bytes(policy=email.policy.SMTP)):
        back = parse(msg, raw)
        assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
        assert read_meeting(calendar_part(back).get_payload(decode=True)).request.uid == request().uid


def test_the_deliverer_sends_the_meeting_request(store: Store, config: Config, clock: Clock) -> None:
    clock.now = STAMP
    mail = queue_meeting(store, config, "delivered")
    sender = FakeSender()
    report = deliverer(store, sender, clock, config).deliver_pending()
    assert report.sent == ["delivered"]
    (sent, recipients), = sender.sent
    assert recipients == [SM, TM, IRO, QA]
    back = parse(sent)
    assert back["Message-ID"] == f"<{mail.message_id}>"
    assert read_meeting(calendar_part(back).get_payload(decode=True)).method == "REQUEST"
