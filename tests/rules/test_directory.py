"""The directory: role matching, who is next up the ladder, who is copied, and configuration problems."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.directory import Copies, Directory, Person, Resolution, normalise_role, roles_match
from rules.presets import BIRMINGHAM, DORSET, HULL, SOUTH_WEST

D = "dorsetcouncil.gov.uk"
H = "hull.gov.uk"


def dorset() -> Directory:
    return Directory(
        people=(
            Person(f"tm.east@{D}", "Taylor East", "Team Manager", f"sm.east@{D}", "Children in Care East"),
            Person(f"sm.east@{D}", "Sam East", "Service Manager", f"hol.east@{D}", "Children in Care East"),
            Person(f"hol.east@{D}", "Harper Locality", "Head of Locality", f"cd@{D}"),
            Person(f"cd@{D}", "Casey Director", "Corporate Director for Care and Protection", f"ed@{D}"),
            Person(f"ed@{D}", "Eden Exec", "Executive Director People - Children"),
            # a second locality, so that roles are not unique in the directory
            Person(f"tm.west@{D}", "Tyler West", "Team Manager", f"sm.west@{D}", "Children in Care West"),
            Person(f"sm.west@{D}", "Sky West", "Service Manager", f"hol.west@{D}", "Children in Care West"),
            Person(f"hol.west@{D}", "Hollis West", "Head of Locality", f"cd@{D}"),
        ),
        qa_managers=(f"QA.Manager@{D}",),
    )


def hull() -> Directory:
    return Directory(
        people=(
            Person(f"tm@{H}", "Toni Manager", "Team Manager", f"gm@{H}", "Looked After 1"),
            Person(f"gm@{H}", "Gene Group", "Group Manager", f"hos@{H}"),
            Person(f"hos@{H}", "Hana Service", "Head of Service", f"ad@{H}"),
            Person(f"ad@{H}", "Adi Assistant", "Assistant Director"),
        ),
        iro_team_managers=(f"iro.tm@{H}",),
    )


# ------------------------------------------------------------------------------------------ role names


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Team Manager", "  team   MANAGER "),
        ("Team Manager", "TM"),
        ("Service Manager", "sm"),
        ("Head of Service", "HoS"),
        ("Head of Service", "H.o.S."),
        ("Assistant Director", "AD"),
        ("Head of Locality", "HoL"),
        ("Director of Children's Services", "DCS"),
        ("Director of Children’s Services", "director of childrens services"),
        ("QA Manager", "Quality Assurance Manager"),
        ("IRO Team Manager", "Independent Reviewing Officer Team Manager"),
        ("IRO Team Manager", "iro tm"),
        ("IRO Service HoS", "IRO Service Head of Service"),
        ("Executive Director People - Children", "Executive Director People – Children"),
        ("Executive Director People - Children", "executive director people-children"),
        ("Care & Protection Manager", "Care and Protection Manager"),
    ],
)
def test_roles_that_are_the_same_match(a: str, b: str) -> None:
    assert roles_match(a, b)
    assert normalise_role(a) == normalise_role(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Head of Service", "Head of Locality"),  # different councils' distinct roles: never guessed
        ("Group Manager", "Service Manager"),
        ("Service Manager", "Safeguarding Service Manager"),
        ("Team Manager", "IRO Team Manager"),
        ("Head of Service", "Assistant Head of Service"),
        ("Director", "Assistant Director"),
        ("", ""),
        ("   ", "   "),
    ],
)
def test_different_roles_do_not_match(a: str, b: str) -> None:
    assert not roles_match(a, b)


def test_abbreviations_are_whole_words_only() -> None:
    assert normalise_role("Admin Officer") == "admin officer"  # "ad" inside a word is left alone
    assert normalise_role("TMs") == "tms"


# ------------------------------------------------------------------------------------------ look-ups


def test_person_lookup_ignores_case_and_spaces() -> None:
    d = dorset()
    assert d.person(f"  TM.East@{D.upper()} ") == d.people[0]
    assert d.person("nobody@example.org") is None
    assert d.person(None) is None
    assert d.person("") is None


def test_by_role_in_directory_order_and_normalised() -> None:
    d = dorset()
    assert [p.email for p in d.by_role("team manager")] == [f"tm.east@{D}", f"tm.west@{D}"]
    assert [p.email for p in d.by_role(" SM ")] == [f"sm.east@{D}", f"sm.west@{D}"]
    assert d.by_role("Head of Service") == ()
    assert d.by_role("") == ()


def test_lists_are_normalised_and_deduplicated() -> None:
    d = Directory(people=[Person("a@x.gov.uk", "A", "TM")], qa_managers=["QA@x.gov.uk ", "qa@x.gov.uk", ""])
    assert d.people == (Person("a@x.gov.uk", "A", "TM"),)
    assert d.qa_managers == ("qa@x.gov.uk",)


# ------------------------------------------------------------------------------------------ next addressee


def test_dorset_chain_up_the_ladder() -> None:
    d = dorset()
    steps = [
        (f"tm.east@{D}", "Service Manager", f"sm.east@{D}"),
        (f"sm.east@{D}", "Head of Locality", f"hol.east@{D}"),
        (f"hol.east@{D}", "Corporate Director for Care and Protection", f"cd@{D}"),
        (f"tm.west@{D}", "Service Manager", f"sm.west@{D}"),
        (f"sm.west@{D}", "Head of Locality", f"hol.west@{D}"),
    ]
    for current, role, expected in steps:
        r = d.next_addressee(current, role)
        assert r.person is not None and r.person.email == expected, r.reason
        assert r.found and r.candidates == (r.person,)
        assert role in r.reason


def test_dorset_levels_of_the_preset_walk_the_chain() -> None:
    d = dorset()
    current = f"tm.east@{D}"
    reached = []
    for level in DORSET.levels[2:5]:  # Levels 2..4 after the Team Manager
        r = d.next_addressee(current, level.role)
        assert r.person is not None, r.reason
        reached.append(r.person.name)
        current = r.person.email
    assert reached == ["Sam East", "Harper Locality", "Casey Director"]


def test_bypass_skips_levels_up_the_chain() -> None:
    r = dorset().next_addressee(f"tm.east@{D}", "Corporate Director for Care and Protection")
    assert r.person is not None and r.person.email == f"cd@{D}"


def test_role_matching_is_case_and_space_insensitive_when_walking() -> None:
    d = dorset()
    assert d.next_addressee(f"TM.EAST@{D}", "  head OF   locality ").person == d.person(f"hol.east@{D}")
    assert d.next_addressee(f"tm.east@{D}", "SM").person == d.person(f"sm.east@{D}")


def test_hull_chain() -> None:
    d = hull()
    current = f"tm@{H}"
    for level, expected in zip([lvl for lvl in HULL.levels if lvl.timed][1:], ("gm", "hos", "ad"), strict=True):
        r = d.next_addressee(current, level.role)
        assert r.person is not None and r.person.email == f"{expected}@{H}", r.reason
        current = r.person.email


def test_gap_in_the_chain_asks_even_with_a_single_candidate() -> None:
    people = (
        Person("tm@x.gov.uk", "Toni", "Team Manager", "sm@x.gov.uk"),
        Person("sm@x.gov.uk", "Sam", "Service Manager"),  # no reports_to
        Person("hos@x.gov.uk", "Hana", "Head of Service"),
    )
    r = Directory(people).next_addressee("tm@x.gov.uk", "Head of Service")
    assert r.person is None and not r.found
    assert r.candidates == (people[2],)
    assert "Sam (sm@x.gov.uk)" in r.reason and "no line manager" not in r.reason
    assert "ends at Sam (sm@x.gov.uk)" in r.reason
    assert "Hana (hos@x.gov.uk)" in r.reason
    assert "forward the escalation to them if they are the right person" in r.reason

    r2 = Directory(people).next_addressee("sm@x.gov.uk", "Head of Service")
    assert r2.person is None and r2.candidates == (people[2],)
    assert "has no line manager (reports_to)" in r2.reason


def test_reports_to_someone_unknown_asks() -> None:
    people = (Person("tm@x.gov.uk", "Toni", "Team Manager", "gone@x.gov.uk"),
              Person("sm@x.gov.uk", "Sam", "Service Manager"))
    r = Directory(people).next_addressee("tm@x.gov.uk", "Service Manager")
    assert r.person is None and r.candidates == (people[1],)
    assert "gone@x.gov.uk, who is not in the directory" in r.reason


def test_loop_terminates_and_asks() -> None:
    people = (
        Person("tm@x.gov.uk", "Toni", "Team Manager", "sm@x.gov.uk"),
        Person("sm@x.gov.uk", "Sam", "Service Manager", "gm@x.gov.uk"),
        Person("gm@x.gov.uk", "Gene", "Group Manager", "sm@x.gov.uk"),
        Person("ad@x.gov.uk", "Adi", "Assistant Director"),
    )
    d = Directory(people)
    r = d.next_addressee("tm@x.gov.uk", "Assistant Director")
    assert r.person is None and r.candidates == (people[3],)
    assert "loops back to Sam (sm@x.gov.uk)" in r.reason
    # a person found before the loop is still found
    assert d.next_addressee("tm@x.gov.uk", "Group Manager").person == people[2]


def test_self_report_terminates() -> None:
    d = Directory((Person("a@x.gov.uk", "A", "Team Manager", "A@x.gov.uk"),))
    r = d.next_addressee("a@x.gov.uk", "Service Manager")
    assert r.person is None and "loops" in r.reason


def test_two_candidates_when_the_chain_breaks() -> None:
    d = dorset()
    lonely = Directory((*d.people, Person(f"tm.new@{D}", "Tam New", "Team Manager")), d.qa_managers)
    r = lonely.next_addressee(f"tm.new@{D}", "Service Manager")
    assert r.person is None
    assert [p.email for p in r.candidates] == [f"sm.east@{D}", f"sm.west@{D}"]
    assert "2 people as Service Manager" in r.reason
    assert "Forward the escalation to the one who should receive it" in r.reason


def test_unknown_current_addressee_asks_even_with_exactly_one_candidate() -> None:
    d = hull()
    r = d.next_addressee("stranger@hull.gov.uk", "Group Manager")
    assert r.person is None
    assert r.candidates == (d.person(f"gm@{H}"),)
    assert "stranger@hull.gov.uk is not in the directory" in r.reason
    assert "Gene Group (gm@hull.gov.uk)" in r.reason


def test_no_current_addressee_asks() -> None:
    r = hull().next_addressee(None, "Group Manager")
    assert r.person is None and "does not know who the escalation was last sent to" in r.reason


def test_nobody_has_the_role() -> None:
    r = dorset().next_addressee(f"tm.east@{D}", "Director of Practice")
    assert r.person is None and r.candidates == ()
    assert "Nobody in the directory has the role Director of Practice" in r.reason


def test_empty_role_asks() -> None:
    r = dorset().next_addressee(f"tm.east@{D}", "  ")
    assert r == Resolution(None, r.reason, ()) and "names no role" in r.reason


def test_current_addressee_is_not_their_own_successor() -> None:
    d = dorset()
    r = d.next_addressee(f"sm.east@{D}", "Service Manager")
    assert r.person is None  # escalation goes up, never back to the same person


# ------------------------------------------------------------------------------------------ copies


def test_dorset_copies_qa_manager_and_the_next_manager_up() -> None:
    d = dorset()
    tm = d.person(f"tm.east@{D}")
    c = d.copies_for(DORSET.level(1), DORSET, tm)
    assert c == Copies((f"qa.manager@{D}", f"sm.east@{D}"), (), ())
    c2 = d.copies_for(DORSET.level(2), DORSET, d.person(f"sm.west@{D}"))
    assert c2.emails == (f"qa.manager@{D}", f"hol.west@{D}")
    c4 = d.copies_for(DORSET.level(4), DORSET, d.person(f"cd@{D}"))
    assert c4.emails == (f"qa.manager@{D}", f"ed@{D}") and not c4.unresolved


def test_hull_always_copies_the_iro_team_manager() -> None:
    d = hull()
    c = d.copies_for(HULL.level(1), HULL, d.person(f"tm@{H}"))
    assert c.emails == (f"iro.tm@{H}",)
    assert c.unresolved == ("QA Manager",)  # Hull's directory names no QA manager: said, not hidden
    assert "directory.qa_managers" in c.reasons[0]
    with_qa = Directory(d.people, qa_managers=(f"qa@{H}",), iro_team_managers=d.iro_team_managers)
    assert with_qa.copies_for(HULL.level(3), HULL, d.person(f"hos@{H}")) == Copies((f"qa@{H}", f"iro.tm@{H}"))


def test_missing_iro_team_manager_is_unresolved() -> None:
    d = Directory(hull().people, qa_managers=(f"qa@{H}",))
    c = d.copies_for(HULL.level(1), HULL, d.person(f"tm@{H}"))
    assert c.emails == (f"qa@{H}",)
    assert c.unresolved == ("IRO Team Manager",) and "directory.iro_team_managers" in c.reasons[0]


def test_people_with_the_special_roles_count_too() -> None:
    d = Directory((Person("tm@x.gov.uk", "T", "TM"), Person("q@x.gov.uk", "Q", "Quality Assurance Manager")),
                  qa_managers=("lead.qa@x.gov.uk",))
    c = d.copies_for(HULL.level(1), HULL, None)
    assert c.emails == ("lead.qa@x.gov.uk", "q@x.gov.uk")


def test_copy_by_team_then_unique_in_directory() -> None:
    people = (
        Person("tm@x.gov.uk", "Toni", "Team Manager", team="CiC North"),
        Person("ahos.n@x.gov.uk", "Ash North", "IRO Service AHoS", team="CiC North"),
        Person("ahos.s@x.gov.uk", "Ash South", "IRO Service AHoS", team="CiC South"),
        Person("hos.iro@x.gov.uk", "Hollis", "IRO Service Head of Service", team="IRO Service"),
        Person("hos@x.gov.uk", "Hana", "Head of Service"),
    )
    d = Directory(people, qa_managers=("qa@x.gov.uk",))
    c1 = d.copies_for(BIRMINGHAM.level(1), BIRMINGHAM, people[0])
    assert c1 == Copies(("qa@x.gov.uk", "ahos.n@x.gov.uk"))  # same team wins
    c2 = d.copies_for(BIRMINGHAM.level(2), BIRMINGHAM, people[4])
    assert c2 == Copies(("qa@x.gov.uk", "hos.iro@x.gov.uk"))  # the only one in the directory ("HoS" spelt out)


def test_ambiguous_copy_is_unresolved_not_guessed() -> None:
    people = (
        Person("tm@x.gov.uk", "Toni", "Team Manager", team="CiC"),
        Person("a1@x.gov.uk", "Ash One", "IRO Service AHoS", team="IROs"),
        Person("a2@x.gov.uk", "Ash Two", "IRO Service AHoS", team="IROs"),
    )
    d = Directory(people, qa_managers=("qa@x.gov.uk",))
    c = d.copies_for(BIRMINGHAM.level(1), BIRMINGHAM, people[0])
    assert c.emails == ("qa@x.gov.uk",)
    assert c.unresolved == ("IRO Service AHoS",)
    assert "2 people have the role IRO Service AHoS" in c.reasons[0] and "Ash One (a1@x.gov.uk)" in c.reasons[0]
    # two in the addressee's own team is ambiguous too
    same_team = Directory((Person("tm@x.gov.uk", "Toni", "Team Manager", team="IROs"), *people[1:]))
    c2 = same_team.copies_for(BIRMINGHAM.level(1), BIRMINGHAM, same_team.people[0])
    assert c2.unresolved == ("QA Manager", "IRO Service AHoS") and "2 people in IROs" in c2.reasons[1]


def test_chain_beats_team_and_uniqueness() -> None:
    people = (
        Person("hos@x.gov.uk", "Hana", "Head of Service", "ad1@x.gov.uk", team="South"),
        Person("ad1@x.gov.uk", "Adi One", "Assistant Director"),
        Person("ad2@x.gov.uk", "Adi Two", "Assistant Director", team="South"),
    )
    d = Directory(people, qa_managers=("qa@x.gov.uk",))
    c = d.copies_for(SOUTH_WEST.level(4), SOUTH_WEST, people[0])
    assert c == Copies(("qa@x.gov.uk", "ad1@x.gov.uk"))


def test_nobody_with_the_copy_role() -> None:
    d = dorset()
    c = d.copies_for(BIRMINGHAM.level(4), BIRMINGHAM, d.person(f"cd@{D}"))
    assert c.unresolved == ("Trust CEO",) and "Nobody in the directory has the role Trust CEO" in c.reasons[0]


def test_addressee_is_never_copied_and_emails_are_unique() -> None:
    d = Directory((Person("qa@x.gov.uk", "Q", "Team Manager"),), qa_managers=("qa@x.gov.uk", "qa2@x.gov.uk"))
    c = d.copies_for(DORSET.level(1), DORSET, d.person("qa@x.gov.uk"))
    assert c.emails == ("qa2@x.gov.uk",)
    assert len(set(c.emails)) == len(c.emails)


# ------------------------------------------------------------------------------------------ problems


def test_a_good_directory_has_no_problems() -> None:
    assert dorset().problems() == []
    assert hull().problems() == []


def test_problems_are_one_line_each_in_config_style() -> None:
    d = Directory(
        (
            Person("a@x.gov.uk", "A", "Team Manager", "b@x.gov.uk"),
            Person("b@x.gov.uk", "B", "Service Manager", "c@x.gov.uk"),
            Person("c@x.gov.uk", "C", "Head of Service", "a@x.gov.uk"),
            Person("d@x.gov.uk", "D", "  ", "ghost@x.gov.uk"),
            Person("A@x.gov.uk", "A again", "Team Manager"),
            Person("e@x.gov.uk", "E", "TM", "e@x.gov.uk"),
            Person("", "Nobody", "TM"),
            Person("not-an-email", "F", "TM"),
        ),
        qa_managers=("qa.x.gov.uk",),
    )
    problems = d.problems()
    assert problems == [
        "directory.people: d@x.gov.uk has no role — write e.g. role = \"Team Manager\"",
        "directory.people: d@x.gov.uk reports_to ghost@x.gov.uk, who is not in the directory — add ghost@x.gov.uk "
        "as a person or correct reports_to",
        "directory.people: a@x.gov.uk is listed twice — keep one entry per person",
        "directory.people: e@x.gov.uk reports_to themselves — write their line manager's email, or leave "
        "reports_to out at the top of the chain",
        "directory.people: 'Nobody' has no email address — write e.g. email = \"a.b@council.gov.uk\"",
        "directory.people: 'not-an-email' is not an email address — write e.g. email = \"a.b@council.gov.uk\"",
        "directory.people: the reports_to line loops (a@x.gov.uk → b@x.gov.uk → c@x.gov.uk → a@x.gov.uk) — break "
        "the loop by correcting one reports_to",
        "directory.qa_managers: 'qa.x.gov.uk' is not an email address — write e.g. qa_managers = "
        "[\"name@council.gov.uk\"]",
    ]
    for line in problems:
        assert "\n" not in line and " — " in line


def test_each_loop_is_reported_once() -> None:
    ring = [Person(f"{n}@x.gov.uk", str(n), "TM", f"{(n + 1) % 3}@x.gov.uk") for n in range(3)]
    d = Directory((*ring, Person("tail@x.gov.uk", "T", "TM", "0@x.gov.uk")))
    loops = [p for p in d.problems() if "loops" in p]
    assert len(loops) == 1 and "(0@x.gov.uk → 1@x.gov.uk → 2@x.gov.uk → 0@x.gov.uk)" in loops[0]


# ------------------------------------------------------------------------------------------ properties

ROLES = ("Team Manager", "Service Manager", "Head of Service", "Assistant Director")


@st.composite
def directories(draw: st.DrawFn) -> Directory:
    n = draw(st.integers(0, 8))
    emails = [f"p{i}@x.gov.uk" for i in range(n)]
    targets = st.one_of(st.none(), st.sampled_from([*emails, "ghost@x.gov.uk"]))
    people = tuple(
        Person(e, f"P{i}", draw(st.sampled_from(ROLES)), draw(targets)) for i, e in enumerate(emails)
    )
    return Directory(people)


@settings(max_examples=300, deadline=None)
@given(directories(), st.sampled_from([None, "p0@x.gov.uk", "p3@x.gov.uk", "ghost@x.gov.uk"]),
       st.sampled_from(ROLES))
def test_random_graphs_never_hang_nor_return_the_wrong_role(d: Directory, current: str | None, role: str) -> None:
    r = d.next_addressee(current, role)
    assert r.reason
    if r.person is not None:
        assert roles_match(r.person.role, role)
        start = d.person(current)
        assert start is not None
        chain, _ = d.chain_above(start)
        assert r.person in chain and r.person != start
        assert r.candidates == (r.person,)
    else:
        assert all(roles_match(p.role, role) for p in r.candidates)
        assert set(r.candidates) == set(d.by_role(role))
    # problems() and copies_for() terminate on the same graphs too
    assert isinstance(d.problems(), list)
    copies = d.copies_for(HULL.level(1), HULL, d.person(current))
    assert len(set(copies.emails)) == len(copies.emails)
    assert len(copies.unresolved) == len(copies.reasons)


@settings(max_examples=200, deadline=None)
@given(directories())
def test_loops_are_reported_exactly_when_a_walk_cannot_reach_a_top(d: Directory) -> None:
    has_loop = any(d.chain_above(p)[1] and "loops" in (d.chain_above(p)[1] or "") for p in d.people)
    reported = any("loops" in line or "themselves" in line for line in d.problems())
    assert has_loop == reported
