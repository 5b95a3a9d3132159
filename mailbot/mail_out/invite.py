"""Outlook meeting requests for a step that is a meeting (South West's Problem Resolution Meeting, Birmingham's
Dispute Resolution Meeting): the iCalendar object of an RFC 6047 iMIP mail.

A caller builds a :class:`MeetingRequest`, and queues it with the mail that tells people about the meeting::

    request = MeetingRequest(uid=meeting_uid("ESC-0042", 2, bot_domain(config)), sequence=0, ...)
    queue_mail(uow, config, key=..., kind="meeting", to=[...], subject=..., text=..., html=...,
               attachments=[meeting_attachment(request)], escalation=esc, now=now)

``mailbot.mail_out.delivery.build_message`` makes an outbox attachment whose content type is ``text/calendar`` the
last part of the mail's ``multipart/alternative`` (text/plain, text/html, text/calendar; method=REQUEST), where
Outlook and OWA read it as a meeting request and show Accept / Decline ([MS-OXCMAIL] 2.1.3.3.8). No separate
``invite.ics`` is attached: Outlook reads iMIP only from the first part of a ``multipart/mixed`` mail and takes any
other iCalendar part for a plain .ics attachment ([MS-STANOICAL] V0343).

A change of time is the same ``uid`` with ``sequence + 1`` and the new times; a cancellation is
``meeting_attachment(request, "CANCEL")`` with the sequence raised again. Replies (Accepted / Declined, METHOD:REPLY)
go to the organizer, the bot's mailbox.

Calendars are widely visible (delegates, room lists, free/busy): the summary, description and location must never
hold a child's name or case detail — the reference and the procedure's words only. Times are written as London wall
time (``DTSTART;TZID=Europe/London``) with a VTIMEZONE of the UK rule in the RRULE form Outlook itself writes.
Nothing here reads the clock: the DTSTAMP is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur

from mailbot.mail_out.outbox import Attachment
from rules.calendar import LONDON

PRODID = "-//iro-mailbot//IRO escalations//EN"
TZID = "Europe/London"
METHODS = ("REQUEST", "CANCEL")
ROLES = ("REQ-PARTICIPANT", "CHAIR", "OPT-PARTICIPANT")
FILENAME = "meeting.ics"  # kept in the outbox row only: the calendar part of the mail carries no file name


def calendar_content_type(method: str = "REQUEST") -> str:
    """The Content-Type of the calendar part: its ``method`` must be the calendar's METHOD (RFC 6047 2.4)."""
    return f"text/calendar; method={_method(method)}; charset=UTF-8"


CALENDAR_CONTENT_TYPE = "text/calendar; method=REQUEST; charset=UTF-8"


@dataclass(frozen=True)
class MeetingRequest:
    """One meeting as the bot's mailbox (the organizer) invites people to it.

    ``uid`` is stable for the meeting (:func:`meeting_uid`): an update or a cancellation carries the same one with a
    higher ``sequence``. ``start``, ``end`` and ``stamp`` are aware datetimes, written to the second.
    """

    uid: str
    sequence: int
    summary: str
    description: str
    start: datetime
    end: datetime
    location: str
    organizer: tuple[str, str | None]  # (email, name): the bot's mailbox
    attendees: tuple[tuple[str, str | None, str], ...]  # (email, name, role), role one of ROLES
    stamp: datetime  # DTSTAMP: when the request is built


@dataclass(frozen=True)
class MeetingRead:
    """What a calendar object says, read back by :func:`read_meeting`: the method, the status, the TZIDs of
    DTSTART and DTEND, and the meeting as a :class:`MeetingRequest` (times aware, in London when written so)."""

    method: str
    status: str | None
    tzids: tuple[str | None, str | None]
    request: MeetingRequest


def meeting_uid(reference: str, level: int, domain: str) -> str:
    """The meeting's UID: ``ESC-0042.L2.meeting@council.gov.uk``, the same for every update of it."""
    return f"{reference}.L{level}.meeting@{domain}"


def meeting_ics(req: MeetingRequest, method: str = "REQUEST") -> bytes:
    """The iCalendar object (RFC 5545/5546) of ``req``: VCALENDAR with PRODID, VERSION 2.0 and METHOD, a VTIMEZONE
    for Europe/London and one VEVENT. ``method`` is ``REQUEST`` (invite, or change: raise the sequence) or
    ``CANCEL`` (STATUS:CANCELLED, the same UID, a higher sequence). Raises ValueError for a request Outlook
    could not take (naive or reversed times, no attendee, an unknown role)."""
    method = _method(method)
    _check(req)
    start, end = _second(req.start).astimezone(LONDON), _second(req.end).astimezone(LONDON)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add_component(_london_vtimezone(start, end))
    event = Event()
    event.add("uid", req.uid)
    event.add("sequence", req.sequence)
    event.add("dtstamp", _second(req.stamp).astimezone(UTC))
    event.add("dtstart", start)  # a zoneinfo datetime: DTSTART;TZID=Europe/London:local time
    event.add("dtend", end)
    event.add("summary", _one_line(req.summary))
    if req.description:
        event.add("description", req.description)
    if req.location:
        event.add("location", _one_line(req.location))
    event.add("organizer", _address(req.organizer[0], req.organizer[1]))
    for email, name, role in req.attendees:
        params = {"ROLE": role, "CUTYPE": "INDIVIDUAL"}
        if method == "REQUEST":
            params |= {"PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
        event.add("attendee", _address(email, name, params))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")  # busy in free/busy
    event.add("class", "PUBLIC")
    event.add("priority", 5)
    if method == "CANCEL":
        event.add("x-microsoft-cdo-busystatus", "FREE")
    else:
        event.add("x-microsoft-cdo-busystatus", "TENTATIVE")  # what Outlook shows until the attendee answers
        event.add("x-microsoft-cdo-intendedstatus", "BUSY")
    cal.add_component(event)
    return cal.to_ical()


def meeting_attachment(req: MeetingRequest, method: str = "REQUEST") -> Attachment:
    """The outbox attachment that becomes the mail's calendar part (see the module docstring)."""
    return Attachment(FILENAME, calendar_content_type(method), meeting_ics(req, method))


def read_meeting(ics: bytes | str) -> MeetingRead:
    """The meeting in an iCalendar object with one VEVENT (as :func:`meeting_ics` writes it). Raises ValueError
    when it is not one."""
    try:
        cal = Calendar.from_ical(ics)
    except Exception as exc:  # icalendar raises ValueError and its own errors for a broken object
        raise ValueError(f"not an iCalendar object: {type(exc).__name__}") from None
    events = cal.walk("VEVENT")
    if len(events) != 1:
        raise ValueError(f"expected one VEVENT, found {len(events)}")
    ev = events[0]
    start_prop, end_prop = ev.get("dtstart"), ev.get("dtend")
    if start_prop is None or end_prop is None:
        raise ValueError("the VEVENT has no DTSTART or DTEND")
    organizer = ev.get("organizer")
    attendees = ev.get("attendee") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    stamp = ev.get("dtstamp")
    request = MeetingRequest(
        uid=str(ev.get("uid", "")),
        sequence=int(ev.get("sequence", 0)),
        summary=str(ev.get("summary", "")),
        description=str(ev.get("description", "")),
        start=start_prop.dt,
        end=end_prop.dt,
        location=str(ev.get("location", "")),
        organizer=(_mailbox(organizer), _cn(organizer)) if organizer is not None else ("", None),
        attendees=tuple((_mailbox(a), _cn(a), str(a.params.get("ROLE", "REQ-PARTICIPANT"))) for a in attendees),
        stamp=stamp.dt if stamp is not None else datetime.min.replace(tzinfo=UTC),
    )
    status = ev.get("status")
    return MeetingRead(
        method=str(cal.get("method", "")).upper(),
        status=str(status).upper() if status is not None else None,
        tzids=(start_prop.params.get("TZID"), end_prop.params.get("TZID")),
        request=request,
    )


# ---- helpers -------------------------------------------------------------------------------------------------


def _method(method: str) -> str:
    method = (method or "").strip().upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def _check(req: MeetingRequest) -> None:
    for name in ("start", "end", "stamp"):
        value = getattr(req, name)
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the meeting's {name} must be an aware datetime")
    if req.end <= req.start:
        raise ValueError("the meeting must end after it starts")
    if not req.uid or any(c in req.uid for c in "\r\n"):
        raise ValueError("the meeting needs a one-line UID")
    if req.sequence < 0:
        raise ValueError("the sequence cannot be negative")
    if not req.organizer[0] or "@" not in req.organizer[0]:
        raise ValueError("the organizer needs an email address")
    if not req.attendees:
        raise ValueError("a meeting request needs at least one attendee")
    for email, _name, role in req.attendees:
        if not email or "@" not in email:
            raise ValueError("every attendee needs an email address")
        if role not in ROLES:
            raise ValueError(f"an attendee's role must be one of {', '.join(ROLES)}, not {role!r}")


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _address(email: str, name: str | None, params: dict[str, str] | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email.strip()}")
    # one line, and no double quote: Outlook does not read RFC 6868's ^' escape
    cn = _one_line(name or "").replace('"', "'")
    if cn:
        address.params["CN"] = cn
    for key, value in (params or {}).items():
        address.params[key] = value
    return address


def _mailbox(address: object) -> str:
    text = str(address).strip()
    return text[7:] if text[:7].lower() == "mailto:" else text


def _cn(address: object) -> str | None:
    params = getattr(address, "params", {})
    cn = params.get("CN")
    return str(cn) if cn else None


# ---- the time zone ------------------------------------------------------------------------------------------
# The UK rule since 1996 (Summer Time Order 2002): BST from 01:00 GMT on the last Sunday of March to 01:00 GMT
# (02:00 BST) on the last Sunday of October, written as Outlook writes "GMT Standard Time": one STANDARD and one
# DAYLIGHT, each a yearly RRULE, which is what Exchange imports into its time zone rule ([MS-OXCICAL]
# 2.1.3.1.1.19). Should the law (and so zoneinfo) ever differ around a meeting, icalendar's VTIMEZONE built from
# zoneinfo is written instead, so the times stay right.


def _last_sunday(year: int, month: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _uk_rule_offset(moment: datetime) -> timedelta:
    """The UTC offset the RRULE VTIMEZONE gives for an aware ``moment``."""
    utc = moment.astimezone(UTC)
    begins = datetime.combine(_last_sunday(utc.year, 3), datetime.min.time(), UTC) + timedelta(hours=1)
    ends = datetime.combine(_last_sunday(utc.year, 10), datetime.min.time(), UTC) + timedelta(hours=1)
    return timedelta(hours=1) if begins <= utc < ends else timedelta(0)


def _london_vtimezone(*moments: datetime) -> Timezone:
    if any(_uk_rule_offset(m) != m.astimezone(LONDON).utcoffset() for m in moments):
        years = [m.astimezone(LONDON).year for m in moments]
        return Timezone.from_tzinfo(LONDON, TZID, date(min(years) - 1, 1, 1), date(max(years) + 2, 1, 1))
    tz = Timezone()
    tz.add("tzid", TZID)
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1996, 10, 27, 2, 0))
    standard.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    standard.add("tzoffsetfrom", timedelta(hours=1))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("tzname", "GMT")
    daylight = TimezoneDaylight()
    daylight.add("dtstart", datetime(1981, 3, 29, 1, 0))
    daylight.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    daylight.add("tzoffsetfrom", timedelta(0))
    daylight.add("tzoffsetto", timedelta(hours=1))
    daylight.add("tzname", "BST")
    tz.add_component(standard)
    tz.add_component(daylight)
    return tz


__all__ = [
    "CALENDAR_CONTENT_TYPE",
    "FILENAME",
    "ROLES",
    "MeetingRead",
    "MeetingRequest",
    "calendar_content_type",
    "meeting_attachment",
    "meeting_ics",
    "meeting_uid",
    "read_meeting",
]
