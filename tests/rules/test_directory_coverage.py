"""Directory coverage: every team's line followed up the policy's levels; levels nobody holds named, with the
directory's closest role as the suggestion."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.coverage import Coverage, coverage
from rules.directory import Directory, Person
from rules.presets import DORSET, HULL, SOUTH_WEST

D = "dorsetcouncil.gov.uk"

TOM = Person(f"tom@{D}", "Tom Manager", "Team Manager", f"sara@{D}", "Children in Care East")
SARA = Person(f"sara@{D}", "Sara Service", "Service Manager", f"hal@{D}")
HAL = Person(f"hal@{D}", "Hal Locality", "Head of Locality", f"cd@{D}")
CLEO = Person(f"cd@{D}", "Cleo Director", "Corporate Director for Care and Protection", f"ed@{D}")
EDEN = Person(f"ed@{D}", "Eden Exec", "Executive Director People - Children")


def dorset(*people: Person, qa: tuple[str, ...] = (f"qa@{D}",)) -> Directory:
    return Directory(people or (TOM, SARA, HAL, CLEO, EDEN), qa_managers=qa)


def test_a_whole_directory_covers_every_level_of_every_team() -> None:
    tia = Person(f"tia@{D}", "Tia West", "TM", f"sky@{D}", "Children in Care West")
    sky = Person(f"sky@{D}", "Sky West", "SM", f"hal@{D}")
    cover = coverage(dorset(TOM, SARA, HAL, CLEO, EDEN, tia, sky), DORSET)
    assert cover.ok and cover.errors() == [] and cover.warnings() == []
    assert cover.first_level is not None and cover.first_level.label == "Level 1"
    assert [t.name for t in cover.teams] == ["Team Tom Manager (Children in Care East)", "Team Tia West (Children in "
                                                                                         "Care West)"]
    tom, tia_line = cover.teams
    assert [(s.level.label, s.person.name if s.person else None) for s in tom.steps] == [
        ("Level 2", "Sara Service"), ("Level 3", "Hal Locality"), ("Level 4", "Cleo Director"), ("Level 5", None)]
    assert tom.steps[-1].level.terminal and "never writes to Cafcass" in tom.steps[-1].why
    first = tia_line.first_escalation
    assert first is not None and first.person == sky  # each team's own line, not the only Service Manager
    assert tia_line.steps[1].person == HAL


def test_a_level_whose_role_nobody_holds_is_an_error_with_the_closest_role() -> None:
    cleo = Person(f"cd@{D}", "Cleo Director", "Corporate Director", f"ed@{D}")
    cover = coverage(dorset(TOM, SARA, HAL, cleo, EDEN), DORSET)
    assert not cover.ok
    [line] = cover.errors()
    assert line.startswith("Level 4 'Corporate Director for Care and Protection': nobody in the directory has this "
                           "role; did you mean 'Corporate Director'? — ")
    assert 'role = "Corporate Director for Care and Protection"' in line
    [tom] = cover.teams
    step = tom.steps[2]
    assert (step.level.number, step.person, step.role_held) == (4, None, False)
    assert tom.breaks == ()  # the gap is said once, as the error, not again for each team


def test_the_suggestion_is_never_a_role_the_policy_uses_elsewhere() -> None:
    # Head of Service is no Dorset role, but Service Manager is Level 2's: never offered for Level 3
    cover = coverage(dorset(TOM, SARA, CLEO, EDEN), DORSET)
    [line] = cover.errors()
    assert line.startswith("Level 3 'Head of Locality': nobody in the directory has this role — add the Head of "
                           "Locality to the directory")
    assert "did you mean" not in line
    spelt = coverage(dorset(TOM, SARA, Person(f"hal@{D}", "Hal", "Head of Locallity", f"cd@{D}"), CLEO, EDEN), DORSET)
    assert "did you mean 'Head of Locallity'?" in spelt.errors()[0]


def test_every_gap_is_named_and_the_first_escalation_says_nobody() -> None:
    tom = Person(f"tom@{D}", "Tom Manager", "Team Manager", f"sara@{D}")
    sara = Person(f"sara@{D}", "Sara Service", "Service Lead")
    cover = coverage(dorset(tom, sara), DORSET)
    assert [e.split(":")[0] for e in cover.errors()] == [
        "Level 2 'Service Manager'", "Level 3 'Head of Locality'", "Level 4 'Corporate Director for Care and "
                                                                   "Protection'"]
    assert "did you mean 'Service Lead'?" in cover.errors()[0]
    first = cover.teams[0].first_escalation
    assert first is not None and first.person is None and first.why == "nobody in the directory has this role"


def test_a_line_that_breaks_is_a_warning_once_a_team() -> None:
    tia = Person(f"tia@{D}", "Tia West", "Team Manager", None, "CiC West")
    cover = coverage(dorset(TOM, SARA, HAL, CLEO, EDEN, tia), DORSET)
    assert cover.ok
    assert cover.warnings() == [
        "Team Tia West (CiC West): Level 2 'Service Manager' (and Level 3, Level 4): Tia West has no reports_to (the "
        "directory lists Sara Service as Service Manager) — the bot will ask the IRO who it is; set reports_to so the "
        "line reaches them"]
    ends = coverage(dorset(TOM, Person(f"sara@{D}", "Sara Service", "Service Manager"), HAL, CLEO, EDEN), DORSET)
    [warning] = ends.warnings()
    assert warning.startswith("Team Tom Manager (Children in Care East): Level 3 'Head of Locality' (and Level 4): "
                              "Sara Service has no reports_to (the directory lists Hal Locality as Head of Locality)")
    hal = Person(f"hal@{D}", "Hal Locality", "Head of Locality")
    above = coverage(dorset(TOM, Person(f"sara@{D}", "Sara Service", "Service Manager", f"ed@{D}"), hal, CLEO, EDEN),
                     DORSET)
    [warning] = above.warnings()
    assert ("Level 3 'Head of Locality' (and Level 4): the reports_to line from Sara Service ends at Eden Exec "
            "without reaching a Head of Locality") in warning


def test_copied_roles_nobody_holds_are_warnings() -> None:
    cover = coverage(dorset(TOM, SARA, HAL, CLEO, qa=()), DORSET)
    assert cover.ok
    assert cover.warnings() == [
        "Every level copies 'QA Manager': nobody is set up as QA Manager — list them in directory.qa_managers",
        "Level 4 copies 'Executive Director People - Children': nobody in the directory has this role — add the "
        "Executive Director People - Children to the directory with role = \"Executive Director People - Children\""]
    hull = Directory((Person("tm@hull.gov.uk", "Toni", "Team Manager", "gm@hull.gov.uk"),
                      Person("gm@hull.gov.uk", "Gene", "Group Manager", "hos@hull.gov.uk"),
                      Person("hos@hull.gov.uk", "Hana", "Head of Service", "ad@hull.gov.uk"),
                      Person("ad@hull.gov.uk", "Adi", "Assistant Director")), qa_managers=("qa@hull.gov.uk",))
    hull_cover = coverage(hull, HULL)
    assert hull_cover.ok
    assert hull_cover.warnings() == ["Every level copies 'IRO Team Manager': nobody is set up as IRO Team Manager — "
                                     "list them in directory.iro_team_managers"]
    first = hull_cover.teams[0].first_escalation
    assert first is not None and first.person is not None and first.person.name == "Gene"


def test_no_managers_listed_is_a_warning_not_an_error() -> None:
    for directory in (Directory(), Directory((Person(f"jane@{D}", "Jane", "IRO"),), qa_managers=(f"qa@{D}",))):
        cover = coverage(directory, DORSET)
        assert cover.ok and cover.errors() == [] and cover.teams == ()
        assert cover.warnings()[0].startswith("the directory lists none of the ladder's managers (Team Manager, "
                                              "Service Manager, Head of Locality, Corporate Director for Care and "
                                              "Protection): the bot cannot tell who is next at any level")
    # but a directory of managers whose roles all miss the policy's names is wrong, not empty
    wrong = coverage(Directory((Person(f"tl@{D}", "Tam", "Team Leader"),)), DORSET)
    assert not wrong.ok and "did you mean 'Team Leader'?" in wrong.errors()[0]


def test_the_first_formal_level_starts_the_lines() -> None:
    sw = Directory((Person("ssm@sw.gov.uk", "Sol", "Safeguarding Service Manager", "sm@sw.gov.uk"),
                    Person("sm@sw.gov.uk", "Sam", "Service Manager", "hos@sw.gov.uk"),
                    Person("hos@sw.gov.uk", "Hol", "Head of Service", "ad@sw.gov.uk"),
                    Person("ad@sw.gov.uk", "Ada", "Assistant Director")), qa_managers=("qa@sw.gov.uk",))
    cover = coverage(sw, SOUTH_WEST)
    assert cover.ok and cover.warnings() == []
    assert cover.first_level is not None and cover.first_level.label == "Stage 2"  # Stage 1 is informal
    first = cover.teams[0].first_escalation
    assert first is not None and (first.level.label, first.person and first.person.name) == ("Stage 3", "Sam")


_roles = st.sampled_from(["Team Manager", "TM", "Service Manager", "Head of Locality", "Corporate Director",
                          "Corporate Director for Care and Protection", "IRO", "Service Lead", ""])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_roles, st.integers(0, 7) | st.none()), max_size=8))
def test_coverage_never_fails_and_errors_only_name_levels_nobody_holds(people: list[tuple[str, int | None]]) -> None:
    directory = Directory(tuple(Person(f"p{i}@{D}", f"P{i}", role, f"p{boss}@{D}" if boss is not None else None)
                                for i, (role, boss) in enumerate(people)))
    cover: Coverage = coverage(directory, DORSET)  # loops, unknown managers and empty roles included
    for gap in cover.gaps:
        assert gap.level is not None and not directory.by_role(gap.role)
    assert len(cover.teams) == len(directory.by_role("Team Manager"))
    if not cover.managers_listed:
        assert cover.errors() == []
