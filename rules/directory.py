"""The directory: who is who, and who is next up the ladder.

Pure data and decisions, no I/O. The shell builds a :class:`Directory` from the ``[directory]`` configuration
(``[[directory.people]]`` tables and/or a CSV file read by :mod:`mailbot.directory_csv`) and asks it:

* :meth:`Directory.next_addressee` — who receives the escalation at the next level. The bot follows the
  current addressee's ``reports_to`` line upwards until it reaches someone with the next level's role. If the
  line breaks (unknown addressee, missing or unknown ``reports_to``, a loop, nobody with that role above) it
  does **not** guess — not even when only one person in the whole directory has that role: the product rule
  is "when the bot can't tell, it asks the IRO and QA manager instead of guessing", so the
  :class:`Resolution` carries no person, the possible candidates and a plain-English reason for that mail.
* :meth:`Directory.copies_for` — who is copied at a level (QA managers always, then the policy's
  ``always_copy_roles`` and the level's ``copy_roles``), with what could not be resolved.
* :meth:`Directory.problems` — configuration mistakes, one line each in the configuration-error style
  (``path: problem — fix``).

Role names
----------
Roles are compared with :func:`normalise_role`, which is deliberately conservative: it never equates two
*different* roles (Dorset's "Head of Locality" is not Hull's "Head of Service", and "Group Manager" is not
"Service Manager"). It only removes differences of spelling:

* case, accents' Unicode forms (NFKC) and runs of white space;
* ``&`` is ``and``; apostrophes and full stops are dropped (``Children's`` = ``Childrens``, ``H.o.S.`` =
  ``HoS``); the dashes ``-``, ``–`` and ``—`` are the same;
* the common abbreviations in :data:`ROLE_ABBREVIATIONS`, as whole words only (``TM`` = ``Team Manager``,
  ``IRO Service HoS`` = ``IRO Service Head of Service``), and ``Independent Reviewing Officer`` = ``IRO``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rules.policy import Level, Policy

#: What an email address must look like (the same test the configuration uses).
EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

#: Whole-word abbreviations expanded before roles are compared. Only abbreviations with one meaning in English
#: children's services are listed; anything else must be written out in the policy and the directory alike.
ROLE_ABBREVIATIONS: dict[str, str] = {
    "tm": "team manager",
    "sm": "service manager",
    "gm": "group manager",
    "hos": "head of service",
    "ahos": "assistant head of service",
    "hol": "head of locality",
    "ad": "assistant director",
    "dcs": "director of childrens services",
    "qa": "quality assurance",
}

#: The two copy roles that come from ``[directory]`` lists rather than from people's roles.
QA_MANAGER = "QA Manager"
IRO_TEAM_MANAGER = "IRO Team Manager"
#: The roles whose people open escalations (the IROs, and the chairs of child-protection conferences).
IRO_ROLES = ("IRO", "Conference Chair", "Child Protection Chair", "Child Protection Conference Chair")

_DASHES = re.compile(r"\s*[-‐‑‒–—]\s*")
_APOSTROPHES = re.compile(r"['’‘`]")
_IRO_LONG = re.compile(r"\bindependent reviewing officer\b")


def normalise_role(role: str) -> str:
    """The comparison key of a role name (see the module notes); ``""`` for an empty or blank role.

    >>> normalise_role("  IRO  TM ") == normalise_role("Independent Reviewing Officer Team Manager")
    True
    """
    text = unicodedata.normalize("NFKC", role).casefold()
    text = _APOSTROPHES.sub("", text).replace(".", "").replace("&", " and ")
    text = _DASHES.sub(" - ", text)
    words = [ROLE_ABBREVIATIONS.get(w, w) for w in text.split()]
    return _IRO_LONG.sub("iro", " ".join(words))


def roles_match(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same role (never for an empty role)."""
    key = normalise_role(a)
    return bool(key) and key == normalise_role(b)


def _email_key(email: str | None) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True)
class Person:
    """Someone in the directory: a manager, an IRO, a QA manager. ``reports_to`` is their line manager's email
    (``None`` at the top of a chain); ``team`` is free text used to pick between people with the same role."""

    email: str
    name: str
    role: str
    reports_to: str | None = None
    team: str = ""

    def describe(self) -> str:
        """How the bot names the person in a mail: ``Sam East (sm.east@council.gov.uk)``."""
        return f"{self.name} ({self.email})" if self.name.strip() else self.email


@dataclass(frozen=True)
class Resolution:
    """The answer to "who is next?". ``person`` is ``None`` when the bot cannot tell: then ``candidates`` are
    the people in the directory with the wanted role (possibly none) and ``reason`` says, in plain English
    fit for the mail to the IRO and QA manager, why the bot is asking. When found, ``candidates`` is
    ``(person,)`` and ``reason`` says how they were found."""

    person: Person | None
    reason: str
    candidates: tuple[Person, ...] = ()

    @property
    def found(self) -> bool:
        return self.person is not None


@dataclass(frozen=True)
class Copies:
    """Who to copy at a level. ``emails`` are unique, in order (QA managers first) and never the addressee;
    ``unresolved`` are the roles (as the policy spells them) nobody could be found for, and ``reasons`` one
    plain-English sentence per unresolved role, in the same order."""

    emails: tuple[str, ...]
    unresolved: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    """People plus the QA managers and IRO team managers (emails). Look-ups are case-insensitive on emails;
    when an email is listed twice the first entry is used (and :meth:`problems` reports it)."""

    people: tuple[Person, ...] = ()
    qa_managers: tuple[str, ...] = ()
    iro_team_managers: tuple[str, ...] = ()
    _index: dict[str, Person] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("people", "qa_managers", "iro_team_managers"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        for name in ("qa_managers", "iro_team_managers"):
            object.__setattr__(self, name, _unique(_email_key(e) for e in getattr(self, name) if _email_key(e)))
        index: dict[str, Person] = {}
        for p in self.people:
            index.setdefault(_email_key(p.email), p)
        object.__setattr__(self, "_index", index)

    # ------------------------------------------------------------------------------------------ look-ups

    def person(self, email: str | None) -> Person | None:
        """The person with this email (any case, surrounding spaces ignored), or ``None``."""
        return self._index.get(_email_key(email))

    def by_role(self, role: str) -> tuple[Person, ...]:
        """Everyone whose role matches ``role`` (see :func:`normalise_role`), in directory order, once each."""
        key = normalise_role(role)
        if not key:
            return ()
        return tuple(p for e, p in self._index.items() if normalise_role(p.role) == key)

    def iros(self) -> tuple[str, ...]:
        """The emails of the people whose role is one of :data:`IRO_ROLES`, in directory order."""
        keys = {normalise_role(role) for role in IRO_ROLES}
        return tuple(e for e, p in self._index.items() if normalise_role(p.role) in keys)

    def line_above(self, email: str | None) -> tuple[str, ...]:
        """``email`` and the emails of the people above them (``reports_to``), nearest first; ``()`` for nobody.
        A person the directory does not know stands alone."""
        key = _email_key(email)
        if not key:
            return ()
        person = self.person(key)
        if person is None:
            return (key,)
        above, _ = self.chain_above(person)
        return (key, *(_email_key(p.email) for p in above))

    def chain_above(self, person: Person) -> tuple[tuple[Person, ...], str | None]:
        """The people above ``person`` following ``reports_to``, nearest first, and why the walk stopped:
        ``None`` at a normal top (no ``reports_to``), else a plain-English sentence (unknown manager, loop)."""
        seen = {_email_key(person.email)}
        chain: list[Person] = []
        current = person
        while True:
            boss_email = _email_key(current.reports_to)
            if not boss_email:
                return tuple(chain), None
            boss = self.person(boss_email)
            if boss is None:
                return tuple(chain), (f"{current.describe()} reports to {boss_email}, who is not in the directory")
            if boss_email in seen:
                return tuple(chain), (f"the reporting line from {person.describe()} loops back to "
                                      f"{boss.describe()}")
            seen.add(boss_email)
            chain.append(boss)
            current = boss

    # ------------------------------------------------------------------------------------------ decisions

    def next_addressee(self, current: str | None, role: str) -> Resolution:
        """Who receives the escalation at the level whose role is ``role``, the current addressee's email
        being ``current``: the nearest person above them (following ``reports_to``) with that role.

        Never guesses: when the line cannot be followed to someone with that role, ``person`` is ``None``
        (even if exactly one person in the directory has the role) and the reason asks the IRO to choose.
        Always terminates, whatever loops the ``reports_to`` graph has."""
        candidates = self.by_role(role)
        if not normalise_role(role):
            return Resolution(None, "The next level names no role, so the bot cannot tell who should receive "
                                    "the escalation. Please reply with the name and email address of the right "
                                    "manager.", candidates)
        if not _email_key(current):
            return Resolution(None, f"The bot does not know who the escalation was last sent to, so it cannot "
                                    f"follow the reporting line to the {role}. {_ask(role, candidates)}",
                              candidates)
        start = self.person(current)
        if start is None:
            return Resolution(None, f"{_email_key(current)} is not in the directory, so the bot cannot follow "
                                    f"their reporting line to the {role}. {_ask(role, candidates)}", candidates)
        chain, broken = self.chain_above(start)
        for boss in chain:
            if roles_match(boss.role, role):
                return Resolution(boss, f"{boss.describe()} is the {role} above {start.describe()} in the "
                                        "directory.", (boss,))
        if broken is not None:
            why = f"{broken[0].upper()}{broken[1:]}, so the bot cannot tell who the {role} is."
        elif chain:
            why = (f"The reporting line from {start.describe()} ends at {chain[-1].describe()} without reaching a "
                   f"{role}.")
        else:
            why = (f"{start.describe()} has no line manager (reports_to) in the directory, so the bot cannot "
                   f"tell who the {role} is.")
        return Resolution(None, f"{why} {_ask(role, candidates)}", candidates)

    def copies_for(self, level: Level, policy: Policy, addressee: Person | None) -> Copies:
        """Who to copy when writing to ``addressee`` at ``level``: the QA managers always, then the roles in
        ``policy.always_copy_roles`` and ``level.copy_roles``.

        ``QA Manager`` means the ``qa_managers`` list and everyone whose role is QA Manager; ``IRO Team
        Manager`` likewise with ``iro_team_managers``. Any other role is the nearest person with that role
        above the addressee; else the only one with it in the addressee's team; else the only one with it in
        the directory. Several people and no way to choose (or nobody) leave the role unresolved, with a
        reason — the bot never copies a guess. The addressee is never in ``emails``."""
        skip = _email_key(addressee.email) if addressee else ""
        emails: list[str] = []
        unresolved: list[str] = []
        reasons: list[str] = []
        roles = _unique((QA_MANAGER, *policy.always_copy_roles, *level.copy_roles), key=normalise_role)
        for role in roles:
            found, reason = self._copy_role(role, addressee)
            if reason is not None:
                unresolved.append(role)
                reasons.append(reason)
            emails.extend(e for e in found if e != skip)
        return Copies(_unique(emails), tuple(unresolved), tuple(reasons))

    def holders(self, role: str, near: Person | None = None) -> tuple[tuple[str, ...], str | None]:
        """Who holds ``role`` for a record whose current manager is ``near``: the addresses, or none and the
        reason (as :meth:`copies_for` resolves a copied role — the bot never picks one of several)."""
        return self._copy_role(role, near)

    def _copy_role(self, role: str, addressee: Person | None) -> tuple[tuple[str, ...], str | None]:
        for special, listed, key in ((QA_MANAGER, self.qa_managers, "qa_managers"),
                                     (IRO_TEAM_MANAGER, self.iro_team_managers, "iro_team_managers")):
            if roles_match(role, special):
                found = _unique((*listed, *(_email_key(p.email) for p in self.by_role(special))))
                if found:
                    return found, None
                return (), (f"Nobody is set up as {role}: add them to directory.{key} so they are copied.")
        if addressee is not None:
            chain, _ = self.chain_above(addressee)
            for boss in chain:
                if roles_match(boss.role, role):
                    return (_email_key(boss.email),), None
        others = tuple(p for p in self.by_role(role)
                       if addressee is None or _email_key(p.email) != _email_key(addressee.email))
        team = _team_key(addressee.team) if addressee else ""
        in_team = tuple(p for p in others if team and _team_key(p.team) == team)
        if len(in_team) == 1:
            return (_email_key(in_team[0].email),), None
        if len(in_team) > 1:
            return (), (f"{len(in_team)} people in {addressee.team if addressee else ''} have the role {role} "
                        f"({_names(in_team)}), so the bot did not copy any of them.")
        if len(others) == 1:
            return (_email_key(others[0].email),), None
        if others:
            return (), (f"{len(others)} people have the role {role} ({_names(others)}) and none is in "
                        f"{_whose_line(addressee)}, so the bot did not copy any of them.")
        return (), f"Nobody in the directory has the role {role}, so nobody was copied for that role."

    # ------------------------------------------------------------------------------------------ checking

    def problems(self, where: str = "directory") -> list[str]:
        """Every configuration mistake, one line each (``directory.people: … — fix``): bad or duplicate
        emails, empty roles, ``reports_to`` naming someone not in the directory or the person themselves,
        ``reports_to`` loops (each reported once), and bad ``qa_managers``/``iro_team_managers`` entries."""
        out: list[str] = []
        path = f"{where}.people"
        seen: set[str] = set()
        for p in self.people:
            email = _email_key(p.email)
            if not email:
                out.append(f"{path}: {p.name or 'a person'!r} has no email address — write e.g. "
                           f'email = "a.b@council.gov.uk"')
                continue
            if not EMAIL_RE.match(email):
                out.append(f"{path}: {p.email!r} is not an email address — write e.g. "
                           f'email = "a.b@council.gov.uk"')
            if email in seen:
                out.append(f"{path}: {email} is listed twice — keep one entry per person")
                continue
            seen.add(email)
            if not normalise_role(p.role):
                out.append(f'{path}: {email} has no role — write e.g. role = "Team Manager"')
            boss = _email_key(p.reports_to)
            if boss == email:
                out.append(f"{path}: {email} reports_to themselves — write their line manager's email, or leave "
                           "reports_to out at the top of the chain")
            elif boss and boss not in self._index:
                out.append(f"{path}: {email} reports_to {boss}, who is not in the directory — add {boss} as a "
                           "person or correct reports_to")
        out.extend(f"{path}: the reports_to line loops ({' → '.join((*cycle, cycle[0]))}) — break the loop by "
                   "correcting one reports_to" for cycle in self._cycles())
        for key in ("qa_managers", "iro_team_managers"):
            for email in getattr(self, key):
                if not EMAIL_RE.match(email):
                    out.append(f'{where}.{key}: {email!r} is not an email address — write e.g. {key} = '
                               '["name@council.gov.uk"]')
        return out

    def _cycles(self) -> list[tuple[str, ...]]:
        """Each ``reports_to`` loop of two or more people once, as emails starting from the smallest."""
        state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
        cycles: list[tuple[str, ...]] = []
        for start in self._index:
            walk: list[str] = []
            node: str | None = start
            while node is not None and node in self._index and state.get(node) is None:
                state[node] = 1
                walk.append(node)
                node = _email_key(self._index[node].reports_to) or None
            if node is not None and state.get(node) == 1:
                cycle = walk[walk.index(node):]
                if len(cycle) > 1:  # a self-report is reported on its own line
                    i = cycle.index(min(cycle))
                    cycles.append(tuple(cycle[i:] + cycle[:i]))
            for n in walk:
                state[n] = 2
        return sorted(cycles)


# ------------------------------------------------------------------------------------------ wording helpers


def _unique(items: Iterable[str], key: Callable[[str], str] | None = None) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        k = key(item) if key is not None else item
        if k not in seen:
            seen.add(k)
            out.append(item)
    return tuple(out)


def _team_key(team: str) -> str:
    return " ".join(team.casefold().split())


def _names(people: tuple[Person, ...]) -> str:
    return ", ".join(p.describe() for p in people)


def _whose_line(addressee: Person | None) -> str:
    if addressee is None:
        return "the addressee's reporting line"
    return f"{addressee.describe()}'s reporting line or team"


def _ask(role: str, candidates: tuple[Person, ...]) -> str:
    # What the IRO can do about it is the same in every case (the mail says how): forward the escalation to the
    # right person, copying the bot's mailbox; the bot then records them as the level's manager.
    if not candidates:
        return (f"Nobody in the directory has the role {role}: forward the escalation to the {role} who should "
                "receive it (and ask for the directory to be updated).")
    if len(candidates) == 1:
        return (f"The directory lists one {role}, {candidates[0].describe()}, but not in this manager's line: "
                "forward the escalation to them if they are the right person, or to whoever is.")
    return (f"The directory lists {len(candidates)} people as {role}: {_names(candidates)}. Forward the "
            "escalation to the one who should receive it.")
