"""Who is copied on each kind of mail, at each level, for the five councils' presets (rules.copies.copied_on)."""

from __future__ import annotations

import pytest

from rules.copies import COPY_RULES, MailKind, copied_on
from rules.directory import Directory, Person
from rules.policy import Policy
from rules.presets import BIRMINGHAM, DORSET, HULL, ROTHERHAM, SOUTH_WEST

C = "council.gov.uk"
IRO, QA = f"iro@{C}", f"qa@{C}"


def p(local: str, name: str, role: str, reports_to: str | None = None) -> Person:
    return Person(f"{local}@{C}", name, role, f"{reports_to}@{C}" if reports_to else None)


def e(local: str) -> str:
    return f"{local}@{C}"


#: One directory per preset: the line of managers up the ladder, and the people its copied roles name.
DIRECTORIES: dict[str, Directory] = {
    "dorset": Directory(people=(
        p("tm", "Taylor East", "Team Manager", "sm"),
        p("sm", "Sam East", "Service Manager", "hol"),
        p("hol", "Harper Locality", "Head of Locality", "cd"),
        p("cd", "Casey Director", "Corporate Director for Care and Protection", "ed"),
        p("ed", "Eden Exec", "Executive Director People - Children"),
    ), qa_managers=(QA,)),
    "hull": Directory(people=(
        p("tm", "Toni Manager", "Team Manager", "gm"),
        p("gm", "Gene Group", "Group Manager", "hos"),
        p("hos", "Hana Service", "Head of Service", "ad"),
        p("ad", "Adi Assistant", "Assistant Director"),
    ), qa_managers=(QA,), iro_team_managers=(e("irotm"),)),
    "birmingham": Directory(people=(
        p("tm", "Tam Manager", "Team Manager", "hos"),
        p("hos", "Hal Service", "Head of Service", "ad"),
        p("ad", "Ada Assistant", "Assistant Director", "dop"),
        p("dop", "Dee Practice", "Director of Practice", "ceo"),
        p("ceo", "Cee Trust", "Trust CEO"),
        p("ahos", "Ash IRO", "IRO Service AHoS", "irohos"),
        p("irohos", "Ira Head", "IRO Service HoS"),
    ), qa_managers=(QA,)),
    "rotherham": Directory(people=(
        p("tm", "Rae Manager", "Team Manager", "sm"),
        p("sm", "Ros Service", "Service Manager", "hos"),
        p("hos", "Rob Head", "Head of Service", "dd"),
        p("dd", "Dot Deputy", "Deputy Director", "dcs"),
        p("dcs", "Dan Director", "Director of Children's Services"),
        p("ddcs", "Del Deputy", "Deputy Director of Children's Services", "dcs"),
        p("ops", "Oli Ops", "Operations Manager (Safeguarding)"),
    ), qa_managers=(QA,)),
    "south-west": Directory(people=(
        p("ssm", "Sol Safe", "Safeguarding Service Manager", "sm"),
        p("sm", "Sid Service", "Service Manager", "hos"),
        p("hos", "Sue Head", "Head of Service", "ad"),
        p("ad", "Abe Assistant", "Assistant Director"),
    ), qa_managers=(QA,)),
}

PRESETS: dict[str, Policy] = {p.key: p for p in (DORSET, HULL, BIRMINGHAM, ROTHERHAM, SOUTH_WEST)}

#: (preset, level, the level's manager, who a mail *to that manager* about the level copies): the chaser, the
#: extension agreed, the bypass and closure notices — the QA managers, the policy's roles (always and the level's),
#: the IRO.
LEVEL_MAIL = [
    # Dorset (seed 001): "copy in the QA Manager and responsible Service Manager", then the Head of Locality …
    ("dorset", 1, "tm", [QA, e("sm"), IRO]),
    ("dorset", 2, "sm", [QA, e("hol"), IRO]),
    ("dorset", 3, "hol", [QA, e("cd"), IRO]),
    ("dorset", 4, "cd", [QA, e("ed"), IRO]),
    # Hull (seed 000): "The e-mail should always be copied to the IRO Team Manager", at every level
    ("hull", 1, "tm", [QA, e("irotm"), IRO]),
    ("hull", 2, "gm", [QA, e("irotm"), IRO]),
    ("hull", 3, "hos", [QA, e("irotm"), IRO]),
    ("hull", 4, "ad", [QA, e("irotm"), IRO]),
    # Birmingham (seed 004): the IRO Service AHoS at Stage 1, the IRO Service HoS at 2 and 3, the Trust CEO at 4
    ("birmingham", 1, "tm", [QA, e("ahos"), IRO]),
    ("birmingham", 2, "hos", [QA, e("irohos"), IRO]),
    ("birmingham", 3, "ad", [QA, e("irohos"), IRO]),
    ("birmingham", 4, "dop", [QA, e("ceo"), IRO]),
    # Rotherham (seed 003): challenges agreed with the Operations Manager (Safeguarding), copied throughout
    ("rotherham", 1, "tm", [QA, e("ops"), IRO]),
    ("rotherham", 2, "sm", [QA, e("ops"), IRO]),
    ("rotherham", 3, "hos", [QA, e("ops"), IRO]),
    ("rotherham", 4, "dd", [QA, e("ops"), IRO]),
    # South West (seed 002): the Assistant Director with the Head of Service at Stage 4
    ("south-west", 2, "ssm", [QA, IRO]),
    ("south-west", 3, "sm", [QA, IRO]),
    ("south-west", 4, "hos", [QA, e("ad"), IRO]),
]


def copies(kind: MailKind, preset: str, level: int, *, to: list[str], manager: str | None,
           earlier: tuple[str, ...] = ()) -> list[str]:
    policy = PRESETS[preset]
    found = copied_on(kind, policy.level(level), policy, DIRECTORIES[preset], to=to, manager=manager, iro=IRO,
                      earlier=earlier)
    return list(found.emails)


@pytest.mark.parametrize("kind", [MailKind.CHASER, MailKind.EXTENSION_AGREED, MailKind.BYPASS, MailKind.CLOSURE])
@pytest.mark.parametrize(("preset", "level", "manager", "expected"), LEVEL_MAIL)
def test_a_mail_to_the_levels_manager_copies_qa_the_policys_roles_and_the_iro(
        kind: MailKind, preset: str, level: int, manager: str, expected: list[str]) -> None:
    assert copies(kind, preset, level, to=[e(manager)], manager=e(manager)) == expected


@pytest.mark.parametrize(("preset", "level", "manager", "expected"), LEVEL_MAIL)
def test_the_escalation_copies_the_same_and_the_previous_manager(preset: str, level: int, manager: str,
                                                                  expected: list[str]) -> None:
    previous = "earlier.manager@" + C
    assert copies(MailKind.ESCALATION, preset, level, to=[e(manager)], manager=e(manager),
                  earlier=(previous,)) == [*expected, previous]
    # a chaser never copies the earlier managers: only the escalation does
    assert previous not in copies(MailKind.CHASER, preset, level, to=[e(manager)], manager=e(manager),
                                  earlier=(previous,))


@pytest.mark.parametrize("kind", [MailKind.BUDGET, MailKind.AWAY])
@pytest.mark.parametrize(("preset", "level", "manager", "expected"), LEVEL_MAIL)
def test_a_notice_to_the_iro_about_the_level_copies_qa_and_the_policys_roles(
        kind: MailKind, preset: str, level: int, manager: str, expected: list[str]) -> None:
    assert copies(kind, preset, level, to=[IRO], manager=e(manager)) == [a for a in expected if a != IRO]


@pytest.mark.parametrize(("preset", "manager", "expected"), [
    ("dorset", "cd", [QA]),  # Level 5 copies nobody more than the QA Manager, always copied
    ("hull", "ad", [QA, e("irotm")]),  # the IRO Team Manager informs the Director of CSC and the Head of Service
    ("birmingham", "dop", [QA]),
    # "The DCS and Deputy DCS would always be informed" and "The IRO is to inform the Assistant Director" are the
    # policies' notification rules (event cafcass_considered): a notice of their own, not a copy of this one
    ("rotherham", "dd", [QA, e("ops")]),
    ("south-west", "hos", [QA]),
])
def test_the_referral_notice_copies_the_terminal_levels_roles(preset: str, manager: str,
                                                              expected: list[str]) -> None:
    terminal = PRESETS[preset].levels[-1]
    assert terminal.terminal
    assert copies(MailKind.REFERRAL, preset, terminal.number, to=[IRO], manager=e(manager)) == expected


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("kind", [MailKind.CHASE_NOBODY, MailKind.DIRECTORY_GAP, MailKind.REFUSED])
def test_questions_for_the_iro_copy_the_qa_managers_only(preset: str, kind: MailKind) -> None:
    level = PRESETS[preset].first_formal_level()
    assert copies(kind, preset, level.number, to=[IRO], manager=None) == [QA]


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("kind", [MailKind.ASK_IRO, MailKind.EXTENSION, MailKind.ACKNOWLEDGEMENT,
                                  MailKind.NOT_COUNTED])
def test_the_iros_private_prompts_copy_nobody(preset: str, kind: MailKind) -> None:
    level = PRESETS[preset].first_formal_level()
    assert copies(kind, preset, level.number, to=[IRO], manager=e("tm")) == []


def test_every_kind_has_a_rule_and_an_unknown_kind_is_an_error() -> None:
    assert set(COPY_RULES) == set(MailKind)
    with pytest.raises(ValueError):
        copied_on("postcard", DORSET.level(1), DORSET, DIRECTORIES["dorset"], to=[])


def test_nobody_is_copied_twice_or_on_a_mail_they_are_addressed() -> None:
    # the IRO is also the QA manager and the earlier manager, in other cases: once, lower-case, never in To
    directory = Directory(people=DIRECTORIES["dorset"].people, qa_managers=(IRO.upper(),))
    found = copied_on(MailKind.ESCALATION, DORSET.level(2), DORSET, directory, to=[e("sm").upper()],
                      manager=e("sm"), iro=IRO, earlier=[IRO, e("SM")])
    assert found.emails == (IRO, e("hol"))


def test_a_role_nobody_has_is_unresolved_not_guessed() -> None:
    hull = Directory(people=DIRECTORIES["hull"].people, qa_managers=(QA,))  # no IRO Team Manager set up
    found = copied_on(MailKind.CHASER, HULL.level(1), HULL, hull, to=[e("tm")], manager=e("tm"), iro=IRO)
    assert found.emails == (QA, IRO)
    assert found.unresolved == ("IRO Team Manager",)
    assert "iro_team_managers" in found.reasons[0]


def test_a_manager_the_directory_does_not_know_still_gets_the_roles_it_can_find() -> None:
    # Dorset's Level 1 Service Manager, with two in the directory and an unknown Team Manager: not guessed
    two = Directory(people=(*DIRECTORIES["dorset"].people, p("sm2", "Sky West", "Service Manager")),
                    qa_managers=(QA,))
    found = copied_on(MailKind.CHASER, DORSET.level(1), DORSET, two, to=[e("stranger")], manager=e("stranger"),
                      iro=IRO)
    assert found.emails == (QA, IRO) and found.unresolved == ("Service Manager",)
    # with one Service Manager in the directory, that one is copied
    one = DIRECTORIES["dorset"]
    assert copied_on(MailKind.CHASER, DORSET.level(1), DORSET, one, to=[e("stranger")], manager=e("stranger"),
                     iro=IRO).emails == (QA, e("sm"), IRO)
