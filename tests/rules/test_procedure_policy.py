"""What the five procedures say around the arithmetic, as policy data: level kinds, per-level reminders, notification
rules, Cafcass, reports, the case record — each preset against its seed, TOML round trips and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from rules.errors import PolicyError
from rules.policy import policy_from_mapping, policy_to_mapping
from rules.presets import PRESETS, policy_from_config
from rules.procedure import CafcassRule, Notify


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_round_trips_through_toml_shape(key: str) -> None:
    policy = PRESETS[key]
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_starts_informal_and_ends_at_cafcass_and_says_where(key: str) -> None:
    policy = PRESETS[key]
    assert policy.levels[0].kind == "informal"  # every seed: resolve at the lowest, informal level first
    assert policy.levels[-1].kind == "terminal"
    assert all(lvl.section for lvl in policy.levels)
    assert all(n.section for n in policy.notifications)
    assert policy.case_record is not None and policy.case_record.fields
    assert any(r.kind == "annual" for r in policy.reports)  # the IRO annual report


def test_the_seeds_parties_are_rules() -> None:
    hull, dorset, bham = PRESETS["hull"], PRESETS["dorset"], PRESETS["birmingham"]
    rotherham, sw = PRESETS["rotherham"], PRESETS["south-west"]
    # Hull 6: "advise the court appointed Guardian and Hull City Council Legal ... if the child ... is subject of
    # court proceedings"
    assert {("opened", "in_proceedings"), ("closed", "in_proceedings")} <= {
        (n.event, n.when) for n in hull.notifications if "Legal" in n.roles and "Guardian" in n.roles}
    # Dorset Stage 4 / Stage 5: the Head of Quality Assurance and Partnerships at Level 4, on a bypass, on Cafcass
    hoqap = "Head of Quality Assurance and Partnerships"
    assert {n.event for n in dorset.notifications if hoqap in n.roles} == {
        "level", "bypass", "cafcass_considered", "cafcass"}
    # Birmingham 3.8: day 10, the IRO Service AHoS; 3.9, 3.11: Legal and the Court Leads Group at Stage 2
    assert Notify("day", ("IRO Service AHoS",), day=10, section="3.8", says=bham.notify_rules(
        "day", day=10)[0].says) in bham.notifications
    assert {r for n in bham.notify_rules("level", level=2) for r in n.roles} == {"Legal", "Court Leads Group"}
    # Rotherham 2.6: the DCS and Deputy DCS before any referral; the staged process goes on
    [before] = rotherham.notify_rules("cafcass_considered")
    assert set(before.roles) == {"Director of Children's Services", "Deputy Director of Children's Services"}
    assert rotherham.cafcass.early == "continue" and rotherham.raisers == ("IRO", "Conference Chair")
    assert not rotherham.cafcass.offered({"case_type": "child-protection"})
    # Birmingham 4.1 / 4.4
    assert (bham.cafcass.at_end, bham.cafcass.early) == ("close", "continue")
    # South West: meetings at Stages 2 and 3, the IRO may extend the 20 days, the AD told first
    assert [lvl.kind for lvl in sw.levels] == ["informal", "meeting", "meeting", "formal", "terminal"]
    assert sw.levels[1].meeting is not None and sw.levels[1].meeting.chair == "Safeguarding Service Manager"
    assert sw.levels[1].meeting.minutes_by == "IRO" and sw.iro_may_extend_budget
    assert sw.notify_rules("cafcass_considered")[0].roles == ("Assistant Director",)


def test_short_levels_have_the_reminders_their_policy_sets() -> None:
    hull = PRESETS["hull"]
    assert hull.chaser_offsets(hull.level(4)) == (-1, 0) and hull.chaser_offsets(hull.level(1)) == (-2, 0)


@pytest.mark.parametrize(("words", "preset", "number"), [
    ("Head of Service", "hull", 3), ("the AD", "hull", 4), ("Assistant Director", "birmingham", 3),
    ("HoS", "birmingham", 2), ("Group Manager", "hull", 2), ("Team Manager", "rotherham", 1),
    ("the Head of Locality", "dorset", 3), ("Level 3", "dorset", 3),
])
def test_a_level_by_the_role_the_iro_names(words: str, preset: str, number: int) -> None:
    found = PRESETS[preset].level_for_role(words)
    assert found is not None and found.number == number


@pytest.mark.parametrize("words", ["the Director", "", "someone", "Manager"])
def test_an_unclear_role_names_no_level(words: str) -> None:
    assert PRESETS["dorset"].level_for_role(words) is None


def _custom(**extra: Any) -> dict[str, Any]:
    return {"key": "c", "council": "C", "levels": [{"number": 1, "role": "TM", "working_days": 5}], **extra}


@pytest.mark.parametrize(("extra", "message"), [
    ({"notify": [{"event": "levle", "roles": ["X"]}]}, "policy.notify[0].event: 'levle' is not allowed (did you mean "
                                                        "'level'?)"),
    ({"notify": [{"event": "level", "level": 7, "roles": ["X"]}]}, "policy.notify[0].level: 7 is not a level"),
    ({"notify": [{"event": "day", "roles": ["X"]}]}, "policy.notify[0].day: must be a whole number from 1 to 120"),
    ({"notify": [{"event": "opened"}]}, "policy.notify[0].roles: is missing"),
    ({"notify": [{"event": "opened", "roles": ["X"], "when": "always"}]}, "policy.notify[0].when: 'always' is not"),
    ({"cafcass": {"early": "contine"}}, "policy.cafcass.early: 'contine' is not allowed (did you mean 'continue'?)"),
    ({"cafcass": {"case_types": ["CP"]}}, "policy.cafcass.case_types[0]: 'CP' is not allowed"),
    ({"reports": [{"cadence": "montly", "audience": ["SMT"]}]}, "policy.reports[0].cadence: 'montly' is not"),
    ({"case_record": {"system": "Mosaic", "fields": [["Outcome", "result"]]}},
     "policy.case_record.fields[0][1]: 'result' is not allowed"),
    ({"raisers": ["Social Worker"]}, "policy.raisers[0]: 'Social Worker' is not allowed"),
    ({"levels": [{"number": 1, "role": "TM", "working_days": 5, "meeting": {"name": "M"}}]},
     "policy.levels[0].meeting.chair: is missing"),
    ({"levels": [{"number": 1, "role": "TM", "working_days": 5, "chaser_offsets": [0, -1]}]},
     "policy.levels[0].chaser_offsets: must increase without repeats"),
])
def test_a_custom_policy_error_names_the_key_and_the_fix(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        policy_from_config(_custom(**extra))
    assert str(raised.value).startswith(message) and " — " in str(raised.value)


def test_a_custom_policy_can_say_all_of_it() -> None:
    policy = policy_from_config(_custom(
        iro_may_extend_budget=True, case_types=["looked-after", "child-protection"],
        raisers=["IRO", "Conference Chair"],
        notify=[{"event": "day", "day": 10, "roles": ["AHoS"], "section": "3.8"}],
        cafcass={"early": "continue"}, reports=[{"cadence": "weekly", "audience": ["Ops"], "kind": "tracker"}],
        case_record={"system": "Eclipse", "form": "Resolution and Escalation", "fields": [["Outcome", "outcome"]]}))
    assert policy.notify_rules("day", day=10)[0].roles == ("AHoS",)
    assert policy.cafcass == CafcassRule(early="continue") and policy.reporting == ("weekly",)
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


def test_replacing_a_presets_ladder_drops_its_rules_for_levels_that_are_gone() -> None:
    policy = policy_from_config({"base": "dorset", "levels": [{"number": 1, "role": "TM", "working_days": 5}]})
    assert all(n.level is None for n in policy.notifications)  # Dorset's Level 4 rule had nowhere to go
