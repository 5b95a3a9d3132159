"""The working-day calendar: weekends, the bank holidays of a UK nation and a council's own closure days.

Bank holidays come from the ``holidays`` package (``holidays.country_holidays("GB", subdiv=...)``), which
knows every nation's days including substitute ("observed") days, e.g. Boxing Day 2026 falls on a Saturday
and is observed on Monday 28 December. Nothing here reads the clock or the network.

Counting rules (used for every due date the bot computes):

* A *working day* is Monday to Friday, not a bank holiday of the region, and not a local closure day.
* A start date that is not a working day counts from the next working day:
  ``start' = next_working_day(start)``.
  A mail received on a Saturday is treated as received on Monday morning.
* ``add_working_days(start, n)`` for ``n >= 0`` is the n-th working day after ``start'`` (``n = 0`` gives
  ``start'``); for ``n < 0`` it is the working day ``|n|`` working days *before* ``start'``.
* ``working_days_between(start, end)`` counts the working days ``d`` with ``start' < d <= end`` (0 if
  ``end <= start'``), so ``working_days_between(s, add_working_days(s, n)) == n`` for every ``n >= 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
"""Working days, due dates and working hours are English wall-clock ones."""


def london_date(moment: datetime) -> date:
    """The calendar day in England of an aware instant; ``ValueError`` for a naive one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got the naive {moment!r}")
    return moment.astimezone(LONDON).date()

#: The regions the calendar knows, as written in the configuration, mapped to the ``holidays`` subdivision.
REGIONS: dict[str, str] = {"england": "ENG", "wales": "WLS", "scotland": "SCT", "northern-ireland": "NIR"}

#: What :meth:`WorkingCalendar.holiday_name` says for a local closure day that is not also a bank holiday.
CLOSURE_NAME = "Council closure"

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=1024)
def _bank_holidays(subdiv: str, year: int) -> Mapping[date, str]:
    """The bank holidays (with substitute days) of one nation in one year, as a read-only mapping.

    Cached per (nation, year) and shared by every calendar; the mapping is immutable, so sharing is safe
    across threads (the ``holidays`` objects themselves grow lazily on lookup, which we avoid).
    """
    days = holidays.country_holidays("GB", subdiv=subdiv, years=year)
    return MappingProxyType(dict(days.items()))


def _as_date(value: Any, what: str) -> date:
    # datetime is a subclass of date but compares unequal to it, so a datetime would silently miss every
    # holiday: make the caller convert (in Europe/London) first.
    if isinstance(value, datetime):
        raise TypeError(f"{what} must be a date, got a datetime ({value!r}); "
                        "take .date() in Europe/London first")
    if not isinstance(value, date):
        raise TypeError(f"{what} must be a date, got {type(value).__name__} {value!r}")
    return value


def _closure_day(value: Any) -> date:
    if isinstance(value, datetime):  # a closure written with a time still means that whole day
        return value.date()
    return _as_date(value, "a closure day")


def _region_key(region: Any) -> str:
    if not isinstance(region, str):
        raise ValueError(f"region must be one of {', '.join(REGIONS)}; got {region!r}")
    key = region.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in REGIONS:
        raise ValueError(f"unknown region {region!r}: choose one of {', '.join(REGIONS)}")
    return key


class WorkingCalendar:
    """Working days for one UK nation plus local closure days. Immutable after construction; cheap to share.

    >>> cal = WorkingCalendar("england")
    >>> cal.add_working_days(date(2026, 11, 23), 5)   # Monday + 5 working days
    datetime.date(2026, 11, 30)
    """

    __slots__ = ("_closures", "_region", "_subdiv")

    _region: str
    _subdiv: str
    _closures: frozenset[date]

    def __init__(self, region: str = "england", closures: Iterable[date] = ()) -> None:
        """``region`` is one of :data:`REGIONS` (case-insensitive); ``closures`` are extra non-working days.

        Raises ``ValueError`` for an unknown region (naming the allowed ones) and ``TypeError`` for a closure
        that is not a date.
        """
        key = _region_key(region)
        object.__setattr__(self, "_region", key)
        object.__setattr__(self, "_subdiv", REGIONS[key])
        object.__setattr__(self, "_closures", frozenset(_closure_day(d) for d in closures))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"WorkingCalendar is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"WorkingCalendar is immutable: cannot delete {name!r}")

    @property
    def region(self) -> str:
        """The region key, e.g. ``"england"``."""
        return self._region

    @property
    def closures(self) -> frozenset[date]:
        """The local closure days (not working days even when they are ordinary weekdays)."""
        return self._closures

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return (self._region, self._closures) == (other._region, other._closures)

    def __hash__(self) -> int:
        return hash((self._region, self._closures))

    def __repr__(self) -> str:
        return f"WorkingCalendar(region={self._region!r}, closures={len(self._closures)} day(s))"

    # ----------------------------------------------------------------------------------------- single days

    def _is_working(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self._closures and d not in _bank_holidays(self._subdiv, d.year)

    def is_working_day(self, d: date) -> bool:
        """True for Monday to Friday that is neither a bank holiday of the region (including substitute
        days) nor a local closure day."""
        return self._is_working(_as_date(d, "the day"))

    def holiday_name(self, d: date) -> str | None:
        """The name of the bank holiday on ``d`` (e.g. ``"Christmas Day"``, ``"Boxing Day (observed)"``), or
        ``"Council closure"`` for a local closure day, else ``None`` (ordinary weekdays and weekends).

        A bank holiday that falls on a weekend still has its name (Boxing Day, Saturday 26 December 2026);
        when a closure day is also a bank holiday, the bank holiday's name is given.
        """
        d = _as_date(d, "the day")
        name = _bank_holidays(self._subdiv, d.year).get(d)
        if name is not None:
            return name
        return CLOSURE_NAME if d in self._closures else None

    def next_working_day(self, d: date) -> date:
        """``d`` itself if it is a working day, otherwise the first working day after it."""
        d = _as_date(d, "the day")
        while not self._is_working(d):
            d += _ONE_DAY
        return d

    # ----------------------------------------------------------------------------------------- arithmetic

    def add_working_days(self, start: date, days: int) -> date:
        """The working day ``days`` working days from ``start'`` = ``next_working_day(start)``.

        ``days = 0`` gives ``start'``; ``days > 0`` the ``days``-th working day after ``start'``; ``days < 0``
        the working day ``-days`` working days before ``start'`` (e.g. ``-2`` for "chase two working days
        before the due date"). The result is always a working day, strictly increasing in ``days``, and
        ``add_working_days(add_working_days(s, a), b) == add_working_days(s, a + b)``.

        Examples (England): Mon 2026-11-23 + 5 = Mon 2026-11-30; Sat 2026-11-28 + 5 = Mon 2026-12-07.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be a whole number, got {type(days).__name__} {days!r}")
        current = self.next_working_day(start)
        step = _ONE_DAY if days > 0 else -_ONE_DAY
        remaining = abs(days)
        while remaining:
            current += step
            if self._is_working(current):
                remaining -= 1
        return current

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """The working days ``d`` with ``start' < d <= end``, in order (none if ``end <= start'``).

        ``start'`` itself is not included: it is "day 0" of the count, as in :meth:`add_working_days`.
        """
        first = self.next_working_day(start) + _ONE_DAY
        last = _as_date(end, "the end day")
        return self._iter_working(first, last)

    def _iter_working(self, first: date, last: date) -> Iterator[date]:
        d = first
        while d <= last:
            if self._is_working(d):
                yield d
            d += _ONE_DAY

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days ``d`` satisfy ``start' < d <= end`` (0 if ``end <= start'``).

        The inverse of :meth:`add_working_days`: ``working_days_between(s, add_working_days(s, n)) == n``
        for ``n >= 0``. For example, a matter raised on Monday 23 November 2026 and still open on Monday
        30 November has run for 5 working days.
        """
        return sum(1 for _ in self.working_days(start, end))


# ----------------------------------------------------------------------------------------- dates people read

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


@dataclass(frozen=True)
class WorkingDate:
    """A date as a person should read it: ``given`` (e.g. the date the IRO wrote in the subject), ``day`` the
    working day it means (``given`` itself, or the next working day after it), and ``reason`` why they differ,
    worded for a mail: ``"the date given, 25 December, is a bank holiday"`` (``""`` when ``given`` is a working
    day). Built by :func:`working_date`."""

    given: date
    day: date
    reason: str = ""

    @property
    def moved(self) -> bool:
        """True when ``given`` is not a working day (so ``day`` is later)."""
        return self.day != self.given

    def past(self, today: date) -> bool:
        """True when the working day meant is before ``today``: the date has already gone by."""
        return self.day < _as_date(today, "today")


def day_month(d: date, *, year: bool = False) -> str:
    """``25 December`` (``25 December 2026`` with ``year``)."""
    d = _as_date(d, "the day")
    return f"{d.day} {_MONTHS[d.month - 1]}" + (f" {d.year}" if year else "")


def why_not_working(calendar: WorkingCalendar, d: date) -> str | None:
    """Why ``d`` is not a working day, as a person says it: ``"a Saturday"``, ``"a Sunday"``, ``"a bank
    holiday"`` or ``"a council closure day"``; ``None`` for a working day. A bank holiday on a weekend is
    named by its weekday (that is the plainer reason)."""
    d = _as_date(d, "the day")
    if calendar.is_working_day(d):
        return None
    if d.weekday() >= 5:
        return f"a {_WEEKDAYS[d.weekday()]}"
    if d in _bank_holidays(REGIONS[calendar.region], d.year):
        return "a bank holiday"
    return "a council closure day"


def working_date(calendar: WorkingCalendar, given: date) -> WorkingDate:
    """The working day a date means, and why it is not the date itself when it is not: a due date written as
    Friday 25 December 2026 means Tuesday 29 December ("the date given, 25 December, is a bank holiday"), as
    :mod:`rules.decide` counts it (``next_working_day``). The year is named in the reason only when the working
    day falls in another year."""
    given = _as_date(given, "the date given")
    day = calendar.next_working_day(given)
    if day == given:
        return WorkingDate(given, day)
    why = why_not_working(calendar, given)
    return WorkingDate(given, day, f"the date given, {day_month(given, year=given.year != day.year)}, is {why}")
