"""rules.authority: who a sender is to a record (standing_of) and what that standing may do (ruling, may)."""

from __future__ import annotations

import ast
import inspect
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.commands import ACTIONS, read_command
from rules import authority
from rules.authority import ALLOWED, COMMANDS, Act, Parties, Ruling, Standing, may, ruling, standing_of

INSIDE, OUTSIDE = "council.gov.uk", "elsewhere.org"


def inside(address: str) -> bool:
    return address.endswith("@" + INSIDE)


BOT = f"iro-escalations@{INSIDE}"
IRO, QA, ITM = f"iro@{INSIDE}", f"qa@{INSIDE}", f"itm@{INSIDE}"
TM, SM, HOS, OTHER = f"tm@{INSIDE}", f"sm@{INSIDE}", f"hos@{INSIDE}", f"someone@{INSIDE}"
CHAIR = f"chair@{INSIDE}"
PARTIES = Parties(inside=inside, bot=BOT, iro=IRO, responders=frozenset({SM, HOS}), earlier_managers=frozenset({TM}),
                  qa_managers=frozenset({QA}), iro_team_managers=frozenset({ITM}), iros=frozenset({IRO, CHAIR}))


# -- standing_of ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [None, ""])
def test_no_sender_is_an_outsider(sender: str | None) -> None:
    assert standing_of(sender, PARTIES) is Standing.OUTSIDER
    assert standing_of(sender, Parties(inside=lambda _: True, bot="", iro="")) is Standing.OUTSIDER


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (BOT, Standing.BOT),
        (IRO, Standing.OWNING_IRO),
        (QA, Standing.QA_MANAGER),
        (ITM, Standing.IRO_TEAM_MANAGER),
        (SM, Standing.CURRENT_MANAGER),
        (HOS, Standing.CURRENT_MANAGER),  # above the addressee in the same line: may answer for the level
        (TM, Standing.EARLIER_MANAGER),
        (CHAIR, Standing.IRO),
        (OTHER, Standing.STAFF),
        (f"parent@{OUTSIDE}", Standing.OUTSIDER),
    ],
)
def test_standing_of_each_role(sender: str, expected: Standing) -> None:
    assert standing_of(sender, PARTIES) is expected


@pytest.mark.parametrize("sender", [IRO, QA, SM, OTHER, f"iro@{OUTSIDE}"])
def test_a_mail_that_proves_nothing_is_unproven_whatever_its_from_line(sender: str) -> None:
    assert standing_of(sender, PARTIES, proven=False) is Standing.UNPROVEN
    assert standing_of(BOT, PARTIES, proven=False) is Standing.BOT  # the bot's own mail never acts either way


def test_the_bot_is_the_bot_inside_or_outside_the_domains() -> None:
    assert inside(BOT) and standing_of(BOT, PARTIES) is Standing.BOT
    outside_bot = f"bot@{OUTSIDE}"
    assert standing_of(outside_bot, Parties(inside=inside, bot=outside_bot)) is Standing.BOT


@pytest.mark.parametrize("field", ["iro", "responders", "earlier_managers", "qa_managers", "iro_team_managers",
                                   "iros"])
def test_domain_check_comes_before_every_role(field: str) -> None:
    stranger = f"iro@{OUTSIDE}"
    value = stranger if field == "iro" else frozenset({stranger})
    parties = Parties(inside=inside, bot=BOT, **{field: value})
    assert standing_of(stranger, parties) is Standing.OUTSIDER


def test_a_record_with_no_people_knows_the_directorys_roles() -> None:
    """What the shell asks for a new mail (no record yet): the bot, the directory's roles, staff."""
    bare = Parties(inside=inside, bot=BOT, qa_managers=(QA,), iro_team_managers=[ITM], iros={IRO})
    assert standing_of(IRO, bare) is Standing.IRO
    assert standing_of(OTHER, bare) is Standing.STAFF
    assert standing_of(QA, bare) is Standing.QA_MANAGER
    assert standing_of(ITM, bare) is Standing.IRO_TEAM_MANAGER
    assert standing_of(BOT, bare) is Standing.BOT


def test_empty_bot_address_never_matches() -> None:
    assert standing_of(OTHER, Parties(inside=inside, bot="")) is Standing.STAFF


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ({"iro": OTHER, "qa_managers": {OTHER}}, Standing.OWNING_IRO),
        ({"iro": OTHER, "responders": {OTHER}}, Standing.OWNING_IRO),
        ({"qa_managers": {OTHER}, "iro_team_managers": {OTHER}}, Standing.QA_MANAGER),
        ({"qa_managers": {OTHER}, "responders": {OTHER}}, Standing.QA_MANAGER),
        ({"iro_team_managers": {OTHER}, "responders": {OTHER}}, Standing.CURRENT_MANAGER),
        ({"responders": {OTHER}, "earlier_managers": {OTHER}}, Standing.CURRENT_MANAGER),
        ({"iro_team_managers": {OTHER}, "earlier_managers": {OTHER}}, Standing.IRO_TEAM_MANAGER),
        ({"earlier_managers": {OTHER}, "iros": {OTHER}}, Standing.EARLIER_MANAGER),
        ({"bot": OTHER, "iro": OTHER, "qa_managers": {OTHER}}, Standing.BOT),
    ],
)
def test_precedence_when_one_address_has_two_roles(roles: dict[str, Any], expected: Standing) -> None:
    assert standing_of(OTHER, Parties(inside=inside, **roles)) is expected


# -- ruling: the whole table ------------------------------------------------------------------------------

OWNERS = {Standing.OWNING_IRO, Standing.QA_MANAGER}
ONLY_OWNERS = "only the owning IRO or a QA manager may do this"
OUTSIDE_REASON = "sender outside the council's domains"
UNPROVEN_REASON = "the mail does not prove who sent it"
OWNERS_ACTS = set(COMMANDS) | {Act.MOVE, Act.TAG_THEMES, Act.NAME_MANAGER, Act.SET_FACTS, Act.MEETING}
EXPECTED_ALLOWED: dict[Standing, set[Act]] = {  # with a directory that lists its IROs
    Standing.BOT: set(),
    Standing.UNPROVEN: set(),
    Standing.OWNING_IRO: OWNERS_ACTS,
    Standing.QA_MANAGER: OWNERS_ACTS,
    Standing.IRO_TEAM_MANAGER: set(),
    Standing.CURRENT_MANAGER: {Act.RESPOND, Act.MEETING},  # a meeting step's chair gives its time and minutes
    Standing.EARLIER_MANAGER: set(),
    Standing.IRO: {Act.OPEN},
    Standing.STAFF: set(),
    Standing.OUTSIDER: set(),
}


def expected_refusal(standing: Standing, act: Act) -> tuple[str, bool]:
    """(reason, refused) for a pair the table does not allow."""
    if standing is Standing.BOT:
        return "the bot's own mail never acts", False
    special = {Standing.UNPROVEN: UNPROVEN_REASON, Standing.OUTSIDER: OUTSIDE_REASON}
    if act is Act.OPEN:
        return special.get(standing, "only the council's IROs open an escalation"), True
    if act is Act.RESPOND:
        if standing in OWNERS:
            return "the IRO's side of the record, not the manager's response", False
        if standing is Standing.EARLIER_MANAGER:
            return "the manager of a level already passed", False
        return special.get(standing, "only the current level's manager, or their line above, answers"), False
    if act in (Act.TAG_THEMES, Act.NAME_MANAGER, Act.SET_FACTS):
        return special.get(standing, ONLY_OWNERS), False
    if act is Act.MEETING:
        return special.get(standing, "only the meeting's chair, the owning IRO or a QA manager may"), False
    if standing is Standing.CURRENT_MANAGER and act in COMMANDS:
        return "the manager's own words count as their response, not as a command", False
    return special.get(standing, ONLY_OWNERS), True


def test_the_table_names_every_standing_and_the_commands_are_the_six() -> None:
    assert set(EXPECTED_ALLOWED) == set(Standing)
    assert {a.value for a in COMMANDS} == {"resolved", "escalate", "extend", "cafcass", "withdraw", "note"}


@pytest.mark.parametrize("act", list(Act))
@pytest.mark.parametrize("standing", list(Standing))
def test_ruling_matrix(standing: Standing, act: Act) -> None:
    verdict = ruling(standing, act, iros_listed=True)
    if act in EXPECTED_ALLOWED[standing]:
        assert verdict == ALLOWED == Ruling(True, "", False) and verdict
    else:
        reason, refused = expected_refusal(standing, act)
        assert verdict == Ruling(False, reason, refused) and not verdict


@pytest.mark.parametrize("standing", list(Standing))
def test_without_a_list_of_iros_the_councils_proven_staff_open(standing: Standing) -> None:
    allowed = standing in {Standing.IRO, Standing.QA_MANAGER, Standing.IRO_TEAM_MANAGER, Standing.STAFF}
    verdict = ruling(standing, Act.OPEN, iros_listed=False)
    assert bool(verdict) is allowed
    if not allowed and standing is not Standing.BOT:
        assert verdict.refused


@pytest.mark.parametrize("act", sorted(COMMANDS))
def test_commands_from_anyone_but_the_owners_are_refused_and_reported(act: Act) -> None:
    for standing in (Standing.STAFF, Standing.EARLIER_MANAGER, Standing.IRO_TEAM_MANAGER, Standing.IRO,
                     Standing.OUTSIDER, Standing.UNPROVEN):
        verdict = ruling(standing, act)
        assert not verdict and verdict.refused
    manager = ruling(Standing.CURRENT_MANAGER, act)  # "Resolved from my side": the manager's answer
    assert not manager and not manager.refused


# -- the parser's command words are Acts ------------------------------------------------------------------


def test_every_parser_action_is_a_command_act() -> None:
    assert {Act(action) for action in ACTIONS} == COMMANDS


@pytest.mark.parametrize(
    ("line", "act"),
    [
        ("Resolved – plan signed off", Act.RESOLVE),
        ("Escalate", Act.ESCALATE),
        ("Hi all,\nPlease escalate to level 3", Act.ESCALATE),
        ("Extend to 18/12/2026", Act.EXTEND),
        ("Cafcass referral", Act.REFER),
        ("Withdraw", Act.WITHDRAW),
        ("Note: x", Act.NOTE),
    ],
)
def test_read_command_actions_map_to_acts_by_value(line: str, act: Act) -> None:
    command = read_command(line, date(2026, 12, 1))
    assert command is not None
    assert Act(command.action) is act and act in COMMANDS
    assert ruling(Standing.OWNING_IRO, Act(command.action))
    assert not ruling(Standing.CURRENT_MANAGER, Act(command.action))


# -- properties -------------------------------------------------------------------------------------------

addresses = st.builds(lambda local, domain: f"{local}@{domain}", st.text("ab", min_size=1, max_size=2),
                      st.sampled_from([INSIDE, OUTSIDE]))
senders = st.one_of(st.none(), st.just(""), addresses)
groups = st.one_of(st.frozensets(addresses, max_size=3), st.lists(addresses, max_size=3).map(tuple))
parties_st = st.builds(Parties, inside=st.just(inside), bot=st.one_of(st.just(""), addresses),
                       iro=st.one_of(st.none(), addresses), responders=groups, earlier_managers=groups,
                       qa_managers=groups, iro_team_managers=groups, iros=groups)


@given(senders, parties_st, st.sampled_from(list(Act)), st.booleans())
def test_may_is_ruling_of_standing(sender: str | None, parties: Parties, act: Act, proven: bool) -> None:
    assert may(sender, parties, act, proven=proven) == ruling(standing_of(sender, parties, proven=proven), act,
                                                              iros_listed=bool(parties.iros))


@given(senders, parties_st, st.booleans())
def test_standing_matches_the_record(sender: str | None, parties: Parties, proven: bool) -> None:
    standing = standing_of(sender, parties, proven=proven)
    if not sender:
        assert standing is Standing.OUTSIDER
    elif parties.bot and sender == parties.bot:
        assert standing is Standing.BOT
    elif not proven:
        assert standing is Standing.UNPROVEN
    elif not inside(sender):
        assert standing is Standing.OUTSIDER
    else:
        members = {
            Standing.OWNING_IRO: sender == parties.iro,
            Standing.QA_MANAGER: sender in parties.qa_managers,
            Standing.CURRENT_MANAGER: sender in parties.responders,
            Standing.IRO_TEAM_MANAGER: sender in parties.iro_team_managers,
            Standing.EARLIER_MANAGER: sender in parties.earlier_managers,
            Standing.IRO: sender in parties.iros,
        }
        assert standing is next((s for s, member in members.items() if member), Standing.STAFF)


@given(st.booleans(), st.text(max_size=20), st.booleans())
def test_ruling_truth_is_allowed(allowed: bool, reason: str, refused: bool) -> None:
    assert bool(Ruling(allowed, reason, refused)) is allowed


@given(st.sampled_from(list(Standing)), st.sampled_from(list(Act)), st.booleans())
def test_ruling_invariants(standing: Standing, act: Act, iros_listed: bool) -> None:
    verdict = ruling(standing, act, iros_listed=iros_listed)
    assert bool(verdict) is verdict.allowed
    assert not ruling(Standing.BOT, act, iros_listed=iros_listed)
    for nobody in (Standing.OUTSIDER, Standing.UNPROVEN):  # outsiders and unproven mail never change anything
        assert not ruling(nobody, act, iros_listed=iros_listed)
    if verdict.refused:
        assert (act in COMMANDS or act in (Act.OPEN, Act.MOVE)) and not verdict.allowed
    assert verdict.allowed != bool(verdict.reason)  # a refusal always says why; an allowance never does


# -- purity -----------------------------------------------------------------------------------------------


def test_the_module_is_pure() -> None:
    tree = ast.parse(inspect.getsource(authority))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    roots = {name.split(".")[0] for name in imported}
    assert roots, "the module's imports were not found"
    assert not roots & {"store", "mailbot", "os", "time", "sys", "subprocess", "socket", "random", "pathlib"}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not attributes & {"now", "today", "utcnow", "time", "monotonic"}
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not calls & {"open", "print", "input", "eval", "exec", "__import__"}
