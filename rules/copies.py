"""Who is copied on each kind of mail the bot sends about a record: :func:`copied_on`, one decision for every mail.

Every seed procedure names people to copy, and not only on the mail that escalates: Hull's mails are "always copied
to the IRO Team Manager" (seed 000), Dorset's Level 1 mail copies "the QA Manager and responsible Service Manager"
(seed 001), Rotherham copies the Operations Manager (Safeguarding), Birmingham the IRO Service AHoS/HoS at each stage
and South West the Assistant Director at Stage 4 and the referral. So a mail *about a level* — the escalation, its
chasers, the budget warnings, the referral notice and the notices (closure, extension agreed, bypass, a manager away
past the due date) — copies:

* the QA managers (``directory.qa_managers`` and everyone with the role QA Manager);
* the policy's roles: ``policy.always_copy_roles`` and the level's ``copy_roles``, each found the way
  :meth:`rules.directory.Directory.copies_for` finds them (the nearest above the level's manager, else the only one
  in their team, else the only one in the directory; never a guess);
* the owning IRO (when not already an addressee);
* for the escalation only, the managers the caller names as earlier (the previous level's manager).

The questions that only the IRO can answer — a gap in the directory, a manager nobody knows, a mail not obeyed —
copy the QA managers alone (such gaps go to the IRO and QA only); the IRO's private prompts (resolved or escalate?,
an extension asked, the acknowledgement, a reply that does not count) copy nobody. Nobody is ever copied on a mail
they are an addressee of, and every address is given once, lower-case, in that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from rules.directory import Copies, Directory
from rules.policy import Level, Policy


class MailKind(StrEnum):
    """The mails the bot sends about a record (a ``str``: the outbox ``kind`` where they share a name)."""

    ESCALATION = "escalation"  # to the new level's manager
    CHASER = "chaser"  # to the level's manager: a reminder, due today, overdue
    EXTENSION_AGREED = "extension_agreed"  # to the level's manager: the IRO agreed a new date
    BYPASS = "bypass"  # to a skipped level's manager: it went past them, and to whom
    CLOSURE = "closure"  # to the managers who took part: the outcome, who closed it, when
    BUDGET = "budget"  # to the IRO: N working days of the process have run
    REFERRAL = "referral"  # to the IRO: consider a Cafcass referral
    AWAY = "away"  # to the IRO: the manager is away until after the due date
    CHASE_NOBODY = "chase_nobody"  # to the IRO: nobody known to chase
    DIRECTORY_GAP = "directory_gap"  # to the IRO: who is the next manager?
    REFUSED = "refused"  # to the IRO: a mail asked for something and was not obeyed
    ASK_IRO = "ask_iro"  # to the IRO: resolved or escalate?
    EXTENSION = "extension"  # to the IRO: a manager asked for more time
    ACKNOWLEDGEMENT = "acknowledgement"  # to the IRO: what the bot worked out
    NOT_COUNTED = "not_counted"  # to the IRO: a reply that does not stop the clock


@dataclass(frozen=True)
class CopyRule:
    """Who a kind of mail copies, besides its addressees."""

    qa: bool = True  # the QA managers
    roles: bool = False  # the policy's always_copy_roles and the level's copy_roles (always with the QA managers)
    iro: bool = False  # the owning IRO
    earlier: bool = False  # the earlier managers the caller names (the escalation's previous manager)


_LEVEL_MAIL = CopyRule(roles=True, iro=True)

#: The rule for each kind of mail (see the module notes).
COPY_RULES: Mapping[MailKind, CopyRule] = {
    MailKind.ESCALATION: CopyRule(roles=True, iro=True, earlier=True),
    MailKind.CHASER: _LEVEL_MAIL,
    MailKind.EXTENSION_AGREED: _LEVEL_MAIL,
    MailKind.BYPASS: _LEVEL_MAIL,
    MailKind.CLOSURE: _LEVEL_MAIL,
    MailKind.BUDGET: _LEVEL_MAIL,
    MailKind.REFERRAL: _LEVEL_MAIL,
    MailKind.AWAY: _LEVEL_MAIL,
    MailKind.CHASE_NOBODY: CopyRule(),
    MailKind.DIRECTORY_GAP: CopyRule(),
    MailKind.REFUSED: CopyRule(),
    MailKind.ASK_IRO: CopyRule(qa=False),
    MailKind.EXTENSION: CopyRule(qa=False),
    MailKind.ACKNOWLEDGEMENT: CopyRule(qa=False),
    MailKind.NOT_COUNTED: CopyRule(qa=False),
}


def copied_on(kind: MailKind | str, level: Level, policy: Policy, directory: Directory, *, to: Iterable[str],
              manager: str | None = None, iro: str | None = None, earlier: Iterable[str] = ()) -> Copies:
    """Who is copied on a mail of ``kind`` about ``level`` of a record, addressed ``to`` those people.

    ``manager`` is the level's manager (the roles are looked for above them in the directory; for the referral
    notice, the last manager the record had), ``iro`` the owning IRO, ``earlier`` the managers an escalation also
    copies (the previous level's). ``emails``: unique, lower-case, QA managers first, then the policy's roles, the
    IRO and the earlier managers, never an addressee; ``unresolved``/``reasons``: the roles nobody could be found
    for (for the IRO and QA, never a manager). ``ValueError`` for a kind that is not a :class:`MailKind`."""
    rule = COPY_RULES[MailKind(kind)]
    found = Copies(())
    if rule.roles:
        found = directory.copies_for(level, policy, directory.person(manager))
    elif rule.qa:  # the QA managers alone: the same look-up with no roles of the policy's
        found = directory.copies_for(replace(level, copy_roles=()), replace(policy, always_copy_roles=()),
                                     directory.person(manager))
    emails = list(found.emails)
    if rule.iro and iro:
        emails.append(iro)
    if rule.earlier:
        emails.extend(earlier)
    skip = {_key(a) for a in to}
    out: list[str] = []
    for email in emails:
        key = _key(email)
        if key and key not in skip and key not in out:
            out.append(key)
    return Copies(tuple(out), found.unresolved, found.reasons)


def _key(email: str | None) -> str:
    return (email or "").strip().lower()


__all__ = ["COPY_RULES", "CopyRule", "MailKind", "copied_on"]
