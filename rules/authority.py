"""Who may do what to an escalation: one pure answer the shell asks for every mail, as it asks ``decide()``.

Two steps, both pure:

1. :func:`standing_of` says who the sender of a mail is *to this record*, from a plain :class:`Parties` snapshot
   (the owning IRO, who may answer for the current level, the managers of earlier levels, the directory's IROs,
   QA and IRO team managers, the bot's own address, which addresses are inside the council's domains) and
   whether the mail *proves* its sender (``parsers.authenticity``: one From mailbox, no Sender or display-name
   tricks, the council's gateway vouching for it). A mail that proves nothing is :attr:`Standing.UNPROVEN`,
   whatever its From line says.
2. :func:`ruling` says what that standing may do: an :class:`Act`. The answer is a :class:`Ruling`: allowed or
   not, why not in words for the audit trail, and whether the refusal is recorded and reported as such
   (``refused``: a command or a level change from someone else, a record an outsider tried to open) or the mail
   simply counts as words in the thread.

The table, in words (the trust issue of the project sets it):

- **Opening** a record: the IROs (and conference chairs) the directory lists; where it lists none, any proven
  sender inside the council's domains.
- **Moving** an open record to another level by a new "Level N" mail, **every command** (resolved, escalate,
  extend, Cafcass, withdraw, note), tagging themes and naming the manager the bot could not find: the owning IRO
  or a QA manager.
- **Facts** the procedure's rules depend on ("Proceedings: yes", "Guardian: …"): the owning IRO or a QA manager.
- **A meeting step's time and minutes**: the meeting's chair (the step's addressee, or their line above), the owning
  IRO or a QA manager.
- **The response** that stops a level's clock: the current addressee, or someone the directory places at that
  level or above in the same line. Anyone else's reply is recorded in the timeline; the shell tells the IRO when
  it looks like an answer.
- The **bot itself** does nothing: its own mail coming back never acts (so it can never loop).

Everything refused is recorded; a refused command or level change is reported to the IRO and QA managers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum


class Standing(StrEnum):
    """Who a sender is to one record."""

    BOT = "bot"
    UNPROVEN = "unproven"  # the mail does not prove who sent it
    OWNING_IRO = "owning_iro"
    QA_MANAGER = "qa_manager"
    IRO_TEAM_MANAGER = "iro_team_manager"
    CURRENT_MANAGER = "current_manager"  # the level's addressee, or above them in the same line
    EARLIER_MANAGER = "earlier_manager"
    IRO = "iro"  # an IRO or conference chair of the directory (not this record's)
    STAFF = "staff"
    OUTSIDER = "outsider"


class Act(StrEnum):
    """What a mail may try to do to a record."""

    OPEN = "open"  # a new escalation mail opens a record
    MOVE = "move"  # a new "Level N" mail moves an open record to that level
    RESPOND = "respond"  # the mail counts as the current level's response (it stops the clock)
    TAG_THEMES = "tag_themes"  # "Theme: …" lines
    SET_FACTS = "set_facts"  # "Proceedings: yes", "Case type: CP", "Guardian: …" lines
    MEETING = "meeting"  # at a meeting step: "Meeting: <time>" or the minutes ("Outcome: …")
    NAME_MANAGER = "name_manager"  # a forward naming the manager the directory could not find
    RESOLVE = "resolved"
    ESCALATE = "escalate"
    EXTEND = "extend"
    REFER = "cafcass"
    WITHDRAW = "withdraw"
    NOTE = "note"


COMMANDS: frozenset[Act] = frozenset({Act.RESOLVE, Act.ESCALATE, Act.EXTEND, Act.REFER, Act.WITHDRAW, Act.NOTE})
"""The IRO's one-line commands (``parsers.commands.Command.action`` names them by the same words)."""

_OWNERS = frozenset({Standing.OWNING_IRO, Standing.QA_MANAGER})
_OPENERS_WITHOUT_A_LIST = frozenset({Standing.IRO, Standing.QA_MANAGER, Standing.IRO_TEAM_MANAGER, Standing.STAFF})


@dataclass(frozen=True)
class Parties:
    """The people of one record, as plain lower-case addresses, and the council's domain rule. For a mail that
    belongs to no record yet, only ``inside``, ``bot``, ``iros`` and the directory's lists matter."""

    inside: Callable[[str], bool]  # is this address inside the council's domains?
    bot: str = ""
    iro: str | None = None
    responders: Collection[str] = ()  # who may answer for the current level: its addressee and their line above
    earlier_managers: Collection[str] = ()
    qa_managers: Collection[str] = ()
    iro_team_managers: Collection[str] = ()
    iros: Collection[str] = ()  # the directory's IROs and conference chairs


@dataclass(frozen=True)
class Ruling:
    """The answer for one act: ``allowed``; when not, ``reason`` (for the audit trail) and whether the refusal is
    recorded and reported as such (``refused``) or the mail just counts as words in the thread."""

    allowed: bool
    reason: str = ""
    refused: bool = False

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Ruling(True)


def standing_of(sender: str | None, parties: Parties, *, proven: bool = True) -> Standing:
    """Who ``sender`` (the address the mail shows, lower-case) is to the record whose people are ``parties``;
    ``proven`` is whether the mail proves that address (:func:`parsers.authenticity.assess`)."""
    if not sender:
        return Standing.OUTSIDER
    if parties.bot and sender == parties.bot:
        return Standing.BOT
    if not parties.inside(sender):
        return Standing.UNPROVEN if not proven else Standing.OUTSIDER
    if not proven:
        return Standing.UNPROVEN
    if parties.iro and sender == parties.iro:
        return Standing.OWNING_IRO
    if sender in parties.qa_managers:
        return Standing.QA_MANAGER
    if sender in parties.responders:
        return Standing.CURRENT_MANAGER
    if sender in parties.iro_team_managers:
        return Standing.IRO_TEAM_MANAGER
    if sender in parties.earlier_managers:
        return Standing.EARLIER_MANAGER
    if sender in parties.iros:
        return Standing.IRO
    return Standing.STAFF


def ruling(standing: Standing, act: Act, *, iros_listed: bool = False) -> Ruling:
    """May someone of ``standing`` do ``act``? ``iros_listed``: the directory lists the council's IROs (then only
    they open records). See the module docstring for the table."""
    if standing is Standing.BOT:
        return Ruling(False, "the bot's own mail never acts")
    if act is Act.OPEN:
        if standing is Standing.IRO or (not iros_listed and standing in _OPENERS_WITHOUT_A_LIST):
            return ALLOWED
        return Ruling(False, _why_not(standing, "only the council's IROs open an escalation" if iros_listed
                                      else "only the council's staff open an escalation"), refused=True)
    if act is Act.MEETING:  # the chair (the step's addressee or their line above), or the IRO's side
        if standing in _OWNERS or standing is Standing.CURRENT_MANAGER:
            return ALLOWED
        return Ruling(False, _why_not(standing, "only the meeting's chair, the owning IRO or a QA manager may"))
    if act is Act.MOVE or act in COMMANDS or act in (Act.TAG_THEMES, Act.NAME_MANAGER, Act.SET_FACTS):
        if standing in _OWNERS:
            return ALLOWED
        if act in (Act.TAG_THEMES, Act.NAME_MANAGER, Act.SET_FACTS):
            return Ruling(False, _why_not(standing, "only the owning IRO or a QA manager may do this"))
        if standing is Standing.CURRENT_MANAGER and act in COMMANDS:  # "Resolved from my side" is an answer
            return Ruling(False, "the manager's own words count as their response, not as a command")
        return Ruling(False, _why_not(standing, "only the owning IRO or a QA manager may do this"), refused=True)
    if act is Act.RESPOND:
        if standing is Standing.CURRENT_MANAGER:
            return ALLOWED
        if standing in _OWNERS:
            return Ruling(False, "the IRO's side of the record, not the manager's response")
        if standing is Standing.EARLIER_MANAGER:
            return Ruling(False, "the manager of a level already passed")
        return Ruling(False, _why_not(standing, "only the current level's manager, or their line above, answers"))
    return Ruling(False, f"{standing} may not {act}")  # pragma: no cover - every act is handled above


def _why_not(standing: Standing, rule: str) -> str:
    if standing is Standing.UNPROVEN:
        return "the mail does not prove who sent it"
    if standing is Standing.OUTSIDER:
        return "sender outside the council's domains"
    return rule


def may(sender: str | None, parties: Parties, act: Act, *, proven: bool = True) -> Ruling:
    """:func:`ruling` for the sender's :func:`standing_of` — the one question the shell asks."""
    return ruling(standing_of(sender, parties, proven=proven), act, iros_listed=bool(parties.iros))


__all__ = ["ALLOWED", "COMMANDS", "Act", "Parties", "Ruling", "Standing", "may", "ruling", "standing_of"]
