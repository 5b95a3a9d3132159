"""Who may do what to an escalation: one pure answer the shell asks for every mail, as it asks ``decide()``.

Two steps, both pure:

1. :func:`standing_of` says who the sender of a mail is *to this record*, from a plain :class:`Parties`
   snapshot (the owning IRO, the managers of its stages, the directory's QA and IRO team managers, the bot's
   own address and which addresses are inside the council's domains).
2. :func:`ruling` says what that standing may do: an :class:`Act` (open a record, move it up by a new
   "Level N" mail, count as the manager's response, tag themes, name the missing manager, or one of the IRO's
   commands). The answer is a :class:`Ruling`: allowed or not, why not in words for the audit trail, and
   whether a refusal is recorded as such (a command from outside the council) or the mail simply counts as
   words in the thread.

The table, in words:

- The **owning IRO**, a **QA manager** and an **IRO team manager** give commands (resolved, escalate, extend,
  Cafcass, withdraw, note), tag themes and name the manager the bot could not find. Their other words are part
  of the record, not the manager's response.
- The **current manager** and other **staff** inside the council's domains respond; a command from them is
  not obeyed but counts as their words (a manager writing "Resolved from my side" has answered).
- A **manager of a level already passed** is heard (their mail is on the record) but does not stop the current
  level's clock.
- An **outsider** (outside the council's domains, or no address at all) gives no command: a command is refused
  and recorded as refused. Their other words still count as a response today (the trust issue tightens this).
- The **bot itself** does nothing: its own mail coming back never acts (so it can never loop).

Opening a record and moving one up by a new "Level N" mail are allowed for every sender inside the council and,
for now, for outsiders too: the shell relies on the council's mail gateway for those. The shell obeys what
this module says and nothing else decides who may do what.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum


class Standing(StrEnum):
    """Who a sender is to one record."""

    BOT = "bot"
    OWNING_IRO = "owning_iro"
    QA_MANAGER = "qa_manager"
    IRO_TEAM_MANAGER = "iro_team_manager"
    CURRENT_MANAGER = "current_manager"
    EARLIER_MANAGER = "earlier_manager"
    STAFF = "staff"
    OUTSIDER = "outsider"


class Act(StrEnum):
    """What a mail may try to do to a record."""

    OPEN = "open"  # a new escalation mail opens a record
    MOVE = "move"  # a new "Level N" mail moves an open record up
    RESPOND = "respond"  # the mail counts as the current manager's response (it stops the clock)
    TAG_THEMES = "tag_themes"  # "Theme: …" lines
    NAME_MANAGER = "name_manager"  # a forward naming the manager the directory could not find
    RESOLVE = "resolved"
    ESCALATE = "escalate"
    EXTEND = "extend"
    REFER = "cafcass"
    WITHDRAW = "withdraw"
    NOTE = "note"


COMMANDS: frozenset[Act] = frozenset({Act.RESOLVE, Act.ESCALATE, Act.EXTEND, Act.REFER, Act.WITHDRAW, Act.NOTE})
"""The IRO's one-line commands (``parsers.commands.Command.action`` names them by the same words)."""

_OVERSIGHT = frozenset({Standing.OWNING_IRO, Standing.QA_MANAGER, Standing.IRO_TEAM_MANAGER})
_MANAGERS = frozenset({Standing.CURRENT_MANAGER, Standing.STAFF})


@dataclass(frozen=True)
class Parties:
    """The people of one record, as plain addresses (lower-case), and the council's domain rule."""

    inside: Callable[[str], bool]  # is this address inside the council's domains?
    bot: str = ""
    iro: str | None = None
    current_manager: str | None = None
    earlier_managers: Collection[str] = ()
    qa_managers: Collection[str] = ()
    iro_team_managers: Collection[str] = ()


@dataclass(frozen=True)
class Ruling:
    """The answer for one act: ``allowed``; when not, ``reason`` (for the audit trail) and whether the refusal is
    recorded as such (``refused``) or the mail just counts as words in the thread."""

    allowed: bool
    reason: str = ""
    refused: bool = False

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Ruling(True)


def standing_of(sender: str | None, parties: Parties) -> Standing:
    """Who ``sender`` (the address the mail proves, lower-case) is to the record whose people are ``parties``."""
    if not sender:
        return Standing.OUTSIDER
    if parties.bot and sender == parties.bot:
        return Standing.BOT
    if not parties.inside(sender):
        return Standing.OUTSIDER
    if parties.iro and sender == parties.iro:
        return Standing.OWNING_IRO
    if sender in parties.qa_managers:
        return Standing.QA_MANAGER
    if sender in parties.iro_team_managers:
        return Standing.IRO_TEAM_MANAGER
    if parties.current_manager and sender == parties.current_manager:
        return Standing.CURRENT_MANAGER
    if sender in parties.earlier_managers:
        return Standing.EARLIER_MANAGER
    return Standing.STAFF


def ruling(standing: Standing, act: Act) -> Ruling:
    """May someone of ``standing`` do ``act``? See the module docstring for the table."""
    if standing is Standing.BOT:
        return Ruling(False, "the bot's own mail never acts")
    if act in (Act.OPEN, Act.MOVE):
        return ALLOWED
    if act in COMMANDS or act in (Act.TAG_THEMES, Act.NAME_MANAGER):
        if standing in _OVERSIGHT:
            return ALLOWED
        if standing is Standing.OUTSIDER:
            return Ruling(False, "sender outside the council's domains", refused=act in COMMANDS)
        return Ruling(False, "only the owning IRO, a QA manager or an IRO team manager may do this")
    if act is Act.RESPOND:
        if standing in _OVERSIGHT:
            return Ruling(False, "the IRO's side of the record, not the manager's response")
        if standing is Standing.EARLIER_MANAGER:
            return Ruling(False, "the manager of a level already passed")
        if standing in _MANAGERS or standing is Standing.OUTSIDER:
            return ALLOWED
    return Ruling(False, f"{standing} may not {act}")  # pragma: no cover - every act is handled above


def may(sender: str | None, parties: Parties, act: Act) -> Ruling:
    """:func:`ruling` for the sender's :func:`standing_of` — the one question the shell asks."""
    return ruling(standing_of(sender, parties), act)


__all__ = ["ALLOWED", "COMMANDS", "Act", "Parties", "Ruling", "Standing", "may", "ruling", "standing_of"]
